"""Simply CRM ↔ Billy connected as a user connects it: an API user with an access key in Simply CRM, an access token
in Billy (Settings > Access tokens), then `koppel connections add` (Billy's chart is read, Simply CRM's fields are
checked against the mapping). The demo, the chaos run and `make invoke` (the connection ``demo-crm`` the recorded
events name) all connect this way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devkit.koppelingen import cli

if TYPE_CHECKING:
    from devkit.sandboxes.billy.sandbox import BillySandbox
    from devkit.sandboxes.simplycrm.sandbox import SimplyCrmSandbox

CONNECTION = "demo-crm"
USER, ACCESS_KEY = "koppel", "k0ppelAcce55Key01"
"""The Simply CRM user Koppel logs in as, and its access key (My Preferences > Access Key)."""
BILLY_TOKEN = "demo-billy-access-token-0000000000000001"
BUTTON_TOKEN = "demo-crm-sync-button-token-000000000001"
"""The token in demo-crm's Sync button links (the recorded apps__record_sync.json carries it)."""
VAT = "25"
"""A Danish business: Billy's organization and the CRM's invoices at 25 % VAT."""


def connect(
    crm: SimplyCrmSandbox,
    billy: BillySandbox,
    connection: str,
    *,
    tenant: str,
    name: str,
    token: str = BILLY_TOKEN,
    poll_minutes: int = 5,
    extra: tuple[str, ...] = (),
) -> None:
    """The user's steps: Koppel's user in Simply CRM, an organization's token in Billy, `koppel connections add`
    (both ways, Simply CRM wins a conflict; polled every ``poll_minutes`` instead of Simply CRM's 3 hours)."""
    crm.add_user(USER, ACCESS_KEY)
    billy.add_organization(name, token=token)
    cli(
        "connections", "add", connection, "--tenant", tenant, "--name", name,
        "--source", "simplycrm", "--target", "billy", "--poll-minutes", str(poll_minutes),
        "--setting", f"simplycrm.url={crm.base_url}", "--setting", "simplycrm.currency=DKK",
        "--setting", f"billy.base_url={billy.base_url}/v2",
        "--secret", f"simplycrm.user_name={USER}", "--secret", f"simplycrm.access_key={ACCESS_KEY}",
        "--secret", f"billy.access_token={token}", *extra,
    )  # fmt: skip


def line(product: dict[str, Any], quantity: str, *, discount_percent: str = "") -> dict[str, Any]:
    """One vtiger line item at the product's list price and 25 % VAT."""
    item = {"productid": product["id"], "quantity": quantity, "tax1": VAT}
    return item | ({"discount_percent": discount_percent} if discount_percent else {})


def seed_demo_crm(crm: SimplyCrmSandbox, billy: BillySandbox) -> str:
    """``demo-crm`` for the recorded events: an organization with an approved invoice (booked by the deliver event,
    paid by the write-back event), and a contact the sync button names; returns the contact's id."""
    connect(crm, billy, CONNECTION, tenant="tenant-demo", name="Demo CRM ApS")
    nordlys = crm.add_account(
        "Nordlys Bageri ApS", email1="ordre@nordlys.example", bill_street="Strandvejen 12", bill_code="2100",
        bill_city="København Ø", bill_country="Denmark",
    )  # fmt: skip
    oven = crm.add_product("Stenovn 80", unit_price="12500.00", product_no="OVN-80")
    crm.add_invoice(
        "Stenovn", nordlys["id"], [line(oven, "1")], invoicestatus="Approved", invoicedate="2026-11-20",
        duedate="2026-12-04", hdnTaxType="individual",
    )  # fmt: skip
    contact = crm.add_contact("Holm", firstname="Mette", email="mette@nordlys.example", account_id=nordlys["id"])
    _button(CONNECTION, BUTTON_TOKEN)
    return str(contact["id"])


def _button(connection_id: str, token: str) -> None:
    """The Sync button links with a known token, as `koppel connections button` would have handed them out."""
    import hashlib

    from koppel import bootstrap
    from koppel.settings import StoreSettings

    store = bootstrap.connection_store(StoreSettings.load())
    connection = store.get(connection_id)
    assert connection.records is not None  # connect made a two-way connection
    digest = hashlib.sha256(token.encode()).hexdigest()
    store.put(
        connection.model_copy(update={"records": connection.records.model_copy(update={"button_digest": digest})})
    )
