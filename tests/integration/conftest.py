"""One local stack (moto server + the template's resources) and vendor sandboxes per module; emptied per test."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from devkit.koppelingen.ccvshop_snelstart.seed import seed_demo_shop
from devkit.local import LocalStack
from devkit.sandboxes.ccvshop.sandbox import CcvShopSandbox
from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox

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


@pytest.fixture
def demo_shop(clean_stack: LocalStack, snelstart: SnelstartSandbox) -> str:
    """The connection the recorded events name: demo-shop, CCV Shop → SnelStart, SnelStart activated."""
    return seed_demo_shop(clean_stack, snelstart, subscription_key=SUBSCRIPTION_KEY)
