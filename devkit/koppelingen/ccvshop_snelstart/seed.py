"""The connection the recorded events name, ``demo-shop`` (CCV Shop → SnelStart, SnelStart activated), seeded
through the sandboxes' and Koppel's public methods. `make invoke` and the integration tests' ``demo_shop``
fixture both use it, so an event file and a test cannot drift to two different worlds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from devkit.koppelingen.ccvshop_snelstart.scenarios import JAN
from devkit.sandboxes.ccvshop.sandbox import RowSpec
from devkit.sandboxes.snelstart.chart import land_id

if TYPE_CHECKING:
    from devkit.local import LocalStack
    from devkit.sandboxes.ccvshop.sandbox import CcvShopSandbox
    from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox

CONNECTION = "demo-shop"
WEBHOOK_KEY = "demo-ccv-webhook-key"
WEBHOOK_ORDER = 339493812
"""The order the recorded CCV Shop webhook names (tests/fixtures/ccvshop/webhook.orders.status_changed.json)."""
LEDGERS = (8000, 8010, 8020, 8050, 8060)
CCV_URL = "https://bonapp1.ccvshop.nl"
"""The shop's address when no CCV Shop sandbox is given: tests that never read the shop."""


def seed_demo_shop(
    stack: LocalStack,
    snelstart: SnelstartSandbox,
    *,
    subscription_key: str,
    ccv: CcvShopSandbox | None = None,
) -> str:
    """Put ``demo-shop`` in the connection store with its secrets, and SnelStart's partner secret in the stack;
    returns the administratie's koppelsleutel. With ``ccv``, the shop is that sandbox, holding the completed and
    paid order the recorded webhook names."""
    from koppel import bootstrap
    from koppel.model import Connection
    from koppel.settings import StoreSettings

    if ccv is not None:
        ccv.add_shop("p", "s")
        rows = [RowSpec("OnePlus Blauw", 1, "585.00")]
        ccv.add_order(JAN, rows, shipping="5.00", status=7, paid=True, order_id=WEBHOOK_ORDER)
    key = snelstart.add_administratie("Demo B.V.")
    store = bootstrap.connection_store(StoreSettings.load())
    store.put(
        Connection(
            connection_id=CONNECTION,
            tenant_id="tenant-demo",
            source="ccvshop",
            targets=("snelstart",),
            source_settings={"base_url": ccv.base_url if ccv is not None else CCV_URL},
            target_settings={
                "snelstart": {
                    "api_base": f"{snelstart.base_url}/v2",
                    "auth_url": f"{snelstart.base_url}/b2b/token",
                    "activation_base": snelstart.base_url,
                    "ledger_ids": {str(n): snelstart.grootboek_id(key, n) for n in LEDGERS},
                    "country_ids": {"NL": land_id("NL")},
                }
            },
            created_at=datetime.now(UTC) - timedelta(days=1),
        )
    )
    store.put_secrets(CONNECTION, "ccvshop", {"public_key": "p", "secret_key": "s", "webhook_key": WEBHOOK_KEY})
    store.put_secrets(CONNECTION, "snelstart", {"koppelsleutel": key})
    partner = f"{stack._outputs().partner_secret_prefix}snelstart"
    stack.client("secretsmanager").put_secret_value(
        SecretId=partner, SecretString=json.dumps({"subscription_key": subscription_key, "app_short_name": "koppel"})
    )
    return key
