"""One local stack (moto server + the template's resources) and vendor sandboxes per module; emptied per test."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from devkit.local import LocalStack
from devkit.sandboxes.ccvshop.sandbox import CcvShopSandbox
from devkit.sandboxes.snelstart.chart import land_id
from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox
from koppel import bootstrap
from koppel.model import Connection
from koppel.settings import StoreSettings

if TYPE_CHECKING:
    from collections.abc import Iterator

SUBSCRIPTION_KEY = "test-subscription-key"
WEBHOOK_KEY = "demo-ccv-webhook-key"


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
    store = bootstrap.connection_store(StoreSettings.load())
    key = snelstart.add_administratie("Demo B.V.")
    store.put(
        Connection(
            connection_id="demo-shop",
            tenant_id="tenant-demo",
            source="ccvshop",
            targets=("snelstart",),
            source_settings={"base_url": "https://bonapp1.ccvshop.nl"},
            target_settings={
                "snelstart": {
                    "api_base": f"{snelstart.base_url}/v2",
                    "auth_url": f"{snelstart.base_url}/b2b/token",
                    "ledger_ids": {str(n): snelstart.grootboek_id(key, n) for n in (8000, 8010, 8020, 8050, 8060)},
                    "country_ids": {"NL": land_id("NL")},
                }
            },
            created_at=datetime.now(UTC) - timedelta(days=1),
        )
    )
    store.put_secrets("demo-shop", "ccvshop", {"public_key": "p", "secret_key": "s", "webhook_key": WEBHOOK_KEY})
    store.put_secrets("demo-shop", "snelstart", {"koppelsleutel": key})
    partner = f"{clean_stack._outputs().partner_secret_prefix}snelstart"
    clean_stack.client("secretsmanager").put_secret_value(
        SecretId=partner, SecretString=json.dumps({"subscription_key": SUBSCRIPTION_KEY, "app_short_name": "koppel"})
    )
    return key
