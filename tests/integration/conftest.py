"""One local stack (moto server + the template's resources) and vendor sandboxes per module; emptied per test."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from devkit.local import LocalStack
from devkit.sandboxes.ccvshop import CcvShopSandbox
from devkit.sandboxes.snelstart import SnelstartSandbox

if TYPE_CHECKING:
    from collections.abc import Iterator

SUBSCRIPTION_KEY = "test-subscription-key"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack() as started:
        yield started


@pytest.fixture
def clean_stack(stack: LocalStack) -> LocalStack:
    stack.reset()
    return stack


@pytest.fixture(scope="module")
def snelstart() -> Iterator[SnelstartSandbox]:
    sandbox = SnelstartSandbox(subscription_key=SUBSCRIPTION_KEY)
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module")
def ccv() -> Iterator[CcvShopSandbox]:
    sandbox = CcvShopSandbox()
    sandbox.start()
    yield sandbox
    sandbox.stop()
