"""Bizzcloud → e-Boekhouden connected as a user connects it (``connect``: the demo's and `make invoke`'s), and the
connection the recorded events name, ``demo-kassa``, seeded through the sandboxes' public methods."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devkit.koppelingen.bizzcloud_eboekhouden.scenarios import HIGH, LOW

if TYPE_CHECKING:
    from devkit.sandboxes.bizzcloud.sandbox import BizzcloudSandbox
    from devkit.sandboxes.eboekhouden.sandbox import EboekhoudenSandbox

CONNECTION = "demo-kassa"
LOGIN, API_KEY = "koppel@demo-kassa.nl", "demo-bizzcloud-api-key"


def seed_demo_kassa(bizzcloud: BizzcloudSandbox, eboekhouden: EboekhoudenSandbox) -> str:
    """Connect ``demo-kassa`` with the invoice the deliver and write-back events name; returns e-Boekhouden's API
    token."""
    # The invoice the deliver and write-back events name: move 1, INV/2026/00001 (its booking is the e-Boekhouden
    # event's document), for the write-back to register its payment on.
    countries = {row["code"]: row["id"] for row in bizzcloud.records("res.country")}
    jansen = bizzcloud.add_partner(
        name="Bakkerij Jansen", email="info@jansen.nl", ref="D1001", is_company=True, street="Dorpsstraat 1",
        zip="1234 AB", city="Utrecht", country_id=countries["NL"], vat="NL123456789B01",
    )  # fmt: skip
    lines = [
        {"product_id": 1, "quantity": 3, "price_unit": "19.99", "tax_names": [HIGH]},
        {"product_id": 2, "quantity": 1, "price_unit": "24.95", "tax_names": [LOW], "discount": 10},
    ]
    bizzcloud.create_invoice(jansen, lines, invoice_date="2026-11-20")
    return connect(
        bizzcloud, eboekhouden, CONNECTION, tenant="tenant-demo", name="Demo kassa",
        administration="Demo Kassa B.V.", login=LOGIN, api_key=API_KEY,
    )  # fmt: skip


def connect(
    bizzcloud: BizzcloudSandbox,
    eboekhouden: EboekhoudenSandbox,
    connection: str,
    *,
    tenant: str,
    name: str,
    administration: str,
    login: str,
    api_key: str,
) -> str:
    """Connect as a user does: an API user in Bizzcloud, an e-Boekhouden administration's API token, then
    `koppel connections add` (which reads e-Boekhouden's chart of accounts at once); returns the token."""
    from koppel.cli import app

    bizzcloud.add_user(login, api_key)
    api_token = eboekhouden.add_administration(administration)
    app(
        [
            "connections", "add", connection, "--tenant", tenant, "--name", name,
            "--source", "bizzcloud", "--target", "eboekhouden",
            "--setting", f"bizzcloud.url={bizzcloud.base_url}", "--setting", "bizzcloud.database=bizzcloud",
            "--setting", f"eboekhouden.api_base={eboekhouden.base_url}",
            "--secret", f"bizzcloud.login={login}", "--secret", f"bizzcloud.api_key={api_key}",
            "--secret", f"eboekhouden.api_token={api_token}",
        ],
        standalone_mode=False,
    )  # fmt: skip
    return api_token
