"""The canonical model: what every source normalizes into and every target translates out of.

Money is ``Decimal`` and never a float: a float handed to any amount field is refused, so a JSON
body parsed without ``parse_float=Decimal`` fails loudly instead of booking 0.1 + 0.2.
A document carries one ISO-4217 currency for all of its amounts (see docs/design.md: a mixed-currency
document cannot exist by construction, which is simpler than a Money pair on every field).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, JsonValue


def _decimal_not_binary(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError("money must be Decimal or a decimal string, never a float")
    return value


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("amount must be a finite number")
    return value


Amount = Annotated[Decimal, BeforeValidator(_decimal_not_binary), AfterValidator(_finite)]
"""A money amount or quantity: exact decimal, any precision; rounding to cents happens in koppel.money."""

Percentage = Annotated[Decimal, BeforeValidator(_decimal_not_binary), Field(ge=0, le=100)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamps must carry a time zone")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class Canonical(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(Canonical):
    street: str = ""
    """Street and house number as one line, the way Dutch packages print it."""
    postcode: str = ""
    city: str = ""
    country_code: CountryCode | None = None


class Party(Canonical):
    """A customer (debtor) or supplier (creditor) as the source knows it."""

    source_id: str | None = None
    code: str = ""
    """The customer number the business uses (Odoo's reference, a debtor code): looked up in the target first."""
    name: str
    """What appears on the invoice: the company name for a business, else the person's full name."""
    contact_name: str = ""
    email: str | None = None
    phone: str = ""
    mobile: str = ""
    is_business: bool = False
    vat_number: str = ""
    coc_number: str = ""
    """Chamber of commerce number (KvK in the Netherlands)."""
    iban: str = ""
    billing_address: Address = Address()
    delivery_address: Address | None = None
    payment_term_days: int | None = Field(default=None, ge=0)
    """The term this party's documents give (a supplier's invoice: due date − issue date): a target that derives a
    purchase's due date from the supplier's own term (SnelStart) gives it to a supplier it creates."""


LineKind = Literal["goods", "shipping", "payment_fee", "extra_cost", "discount", "rounding"]

VatCategory = Literal["standard", "zero_rated", "exempt", "outside_scope", "reverse_charge", "intra_eu", "export"]
"""What kind of VAT a line carries, as the EN 16931 categories (UNCL 5305) name it: ``standard`` S (at the rate on
the line), ``zero_rated`` Z, ``exempt`` E, ``outside_scope`` O (not subject to VAT), ``reverse_charge`` AE (the buyer
accounts for the VAT: domestic "btw verlegd"), ``intra_eu`` K (an intra-community supply; for the buyer an intra-EU
acquisition it self-assesses) and ``export`` G (outside the EU). Only ``standard`` has VAT on the document itself."""


class Line(Canonical):
    """One line of a document, in the document's own price basis (incl. or excl. VAT)."""

    kind: LineKind = "goods"
    description: str
    sku: str = ""
    quantity: Amount = Decimal(1)
    unit_price: Amount
    """Price per unit before the row discount."""
    discount: Amount = Decimal(0)
    """Discount per unit on this row."""
    amount: Amount
    """Line total after the row discount, as the source states it."""
    vat_rate: Percentage | None = None
    """VAT percentage; None means 'follow the main rate of the goods' (shipping and costs, Dutch practice)."""
    product_group: str = ""
    """Revenue group for ledger mapping (product category, article group); on a purchase the cost group."""
    vat_category: VatCategory | None = None
    """None: the line follows the document's ``vat_treatment`` (a shop's order says it once for all lines). A UBL
    invoice says it per line, and one document may mix them (S and E, or S and AE)."""


class Discount(Canonical):
    """A document-level discount (coupon, cart discount, credit points), positive, in the price basis."""

    description: str
    code: str = ""
    amount: Amount = Field(gt=0)


VatTreatment = Literal["domestic", "intra_eu", "export", "reverse_charge", "oss"]
DocumentType = Literal["invoice", "credit_note"]


class DocumentRef(Canonical):
    """A claim check for a file (PDF, UBL) kept in S3 instead of on the queue."""

    bucket: str
    key: str
    filename: str
    content_type: str
    sha256: str
    size: int


PaymentMethod = Literal["cash", "card", "bank", "voucher", "other"]


class Payment(Canonical):
    """Money received for a document at the moment of sale (a till's cash or PIN), to be booked with it so the
    invoice does not stay open. Negative for money handed back on a refund."""

    method: PaymentMethod
    amount: Amount
    paid_on: date
    description: str = ""
    """How the source names the method ("Cash", "PIN"), for the booking's text."""


Direction = Literal["sales", "purchase"]


class SalesDocument(Canonical):
    """An order or invoice to book: sales (to a customer) or purchase (from a supplier).

    The administration it is booked in is always "ours": on a sales document ``party`` is the customer, on a purchase
    the supplier (``counterparty_role``). A credit note carries negative amounts, as a negative invoice does; its
    ``doc_type`` says which of the two the source called it."""

    doc_type: DocumentType = "invoice"
    direction: Direction = "sales"
    source_id: str
    number: str
    """The source's document number; targets derive their invoice number from it."""
    issue_date: date
    due_days: int | None = Field(default=None, ge=0)
    currency: Currency
    prices_include_vat: bool
    vat_treatment: VatTreatment = "domestic"
    party: Party
    lines: tuple[Line, ...] = Field(min_length=1)
    discounts: tuple[Discount, ...] = ()
    total: Amount
    """The total incl. VAT as the source states it: the booking must equal it to the cent."""
    total_vat: Amount | None = None
    """The VAT total as the source states it, when it does."""
    vat_rounded_per_line: bool = False
    """The source rounds VAT per line and states the sum (Odoo, most tills): its VAT total is booked as stated, also
    for prices incl. VAT (a cent moves between net and VAT, the total stays)."""
    description: str = ""
    reference: str = ""
    payment_method: str = ""
    is_paid: bool = False
    payments: tuple[Payment, ...] = ()
    """Payments made on the spot; their sum never exceeds the total (a till's change is not a payment)."""
    attachments: tuple[DocumentRef, ...] = ()
    """The original files (the supplier's PDF, the UBL itself), kept in S3: the target that takes files gets them."""
    vat_country: CountryCode | None = None
    """The country whose VAT the document charges, when it is not the administration's own (a German supplier's
    19 %): that VAT is not deductible, and a target places it only where its mapping says how. None: the
    administration's own country (every sales document)."""
    review: tuple[str, ...] = ()
    """What a person should check after booking (a PDF whose extracted fields left the due date out): shown with the
    booked row in the history. Empty for a document read whole from structured data."""

    @property
    def counterparty_role(self) -> Literal["customer", "supplier"]:
        return "supplier" if self.direction == "purchase" else "customer"

    @property
    def due_date(self) -> date | None:
        return self.issue_date + timedelta(days=self.due_days) if self.due_days is not None else None


PaymentState = Literal["open", "paid", "partially_paid", "overdue", "voided", "cancelled", "deleted"]
"""``voided``: the invoice stays in the books at zero (QuickBooks' void); ``deleted``: it is gone."""
PAYMENT_STATE_WORDS: dict[PaymentState, str] = {
    "open": "Open",
    "paid": "Paid",
    "partially_paid": "Partially paid",
    "overdue": "Overdue",
    "voided": "Voided",
    "cancelled": "Cancelled",
    "deleted": "Deleted",
}
"""How a person reads a payment state, wherever Koppel shows it (a deal field, a panel, the console)."""


class PaymentStatus(Canonical):
    """Payment status of a booked document, carried back to the source."""

    document_number: str
    source_id: str | None = None
    status: PaymentState
    amount_open: Amount
    currency: Currency
    updated_at: AwareDatetime
    due_date: date | None = None
    """When it falls due, as the target says (its terms may have set it); None when the target does not say."""


class EventBase(Canonical):
    """The envelope. ``event_id`` is deterministic (source:entity:id:revision) so that a re-sent webhook,
    an overlapping poll and a re-run of history all collapse onto the same key."""

    event_id: str = Field(min_length=3, max_length=200)
    tenant_id: str
    connection_id: str
    source: str
    occurred_at: AwareDatetime
    schema_version: Literal[1] = 1


class DocumentEvent(EventBase):
    kind: Literal["order.completed", "invoice.created", "credit_note.created"]
    payload: SalesDocument


class PaymentStatusEvent(EventBase):
    kind: Literal["payment.status_changed"]
    payload: PaymentStatus


class PartyEvent(EventBase):
    kind: Literal["party.updated"]
    payload: Party


HubEvent = Annotated[DocumentEvent | PaymentStatusEvent | PartyEvent, Field(discriminator="kind")]


class HubEnvelope(Canonical):
    """A queue message: the event, and how many times a person replayed it (part of the idempotency key, so a
    replay after a fix is delivered again while a duplicate of the same attempt is not)."""

    event: HubEvent
    replay: int = Field(default=0, ge=0)


class ExternalRef(Canonical):
    """Where a record landed in another system."""

    system: str
    id: str
    number: str | None = None
    url: str | None = None


ConnectionStatus = Literal["active", "paused", "disconnected", "error"]
SyncDirection = Literal["both", "to_target", "to_source"]


class RecordSyncSettings(Canonical):
    """A two-way koppeling's record sync (organizations, contacts, products): which way, and who wins."""

    direction: SyncDirection = "both"
    """``to_target``: only the source's changes are carried (Simply CRM → Billy); ``to_source`` the other way."""
    priority: Literal["source", "target"] = "source"
    """The side whose value wins when both changed a field since the last sync (both values are recorded)."""
    kinds: tuple[Literal["organization", "contact", "product"], ...] = ("organization", "contact", "product")
    automatic: bool = True
    """False: only when a person asks (``koppel sync``, the record's sync button), never on the schedule."""
    button_digest: str = ""
    """SHA-256 of the token in the source's "Sync" button links (``services/record_button.py``); '' for none."""


class Connection(Canonical):
    """One koppeling of one business: a source, its targets, and their vendor-owned settings.

    Settings are JSON objects whose schema belongs to the connector (it validates them into its own
    pydantic model); secrets are kept apart, encrypted, and never part of this model."""

    connection_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    tenant_id: str
    client: str = ""
    """The business the connection books for, when the tenant is an accounting firm with many clients: a console
    user of role ``client`` sees the connections of its tenant with its own client."""
    name: str = ""
    source: str
    targets: tuple[str, ...] = Field(min_length=1)
    status: ConnectionStatus = "active"
    source_settings: dict[str, JsonValue] = Field(default_factory=dict)
    target_settings: dict[str, dict[str, JsonValue]] = Field(default_factory=dict)
    poll_interval_minutes: int = Field(default=5, ge=1, le=1440)
    created_at: AwareDatetime
    status_reason: str = ""
    activation_links: dict[str, str] = Field(default_factory=dict)
    """System → SHA-256 of its live activation reference (the reference itself is stored nowhere)."""
    records: RecordSyncSettings | None = None
    """Two-way koppelingen only: how records are kept alike between the source and its (one) target."""
