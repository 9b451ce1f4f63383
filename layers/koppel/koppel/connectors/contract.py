"""The connector contract: what a vendor package declares (``CONNECTOR``) and what its parts can do.

Every package ``koppel.connectors.<vendor>`` declares one ``Connector``: its name, its settings model, how to build
its source and/or target from a ``ConnectorContext``, and the capabilities it claims. What a built source or target
can do beyond the four methods of ``ports.Target`` is a capability Protocol below; services check it with
``isinstance`` (never by looking for an attribute), and ``tests/unit/test_descriptors.py`` checks that every claim
in a descriptor is really implemented.

Capabilities, and who uses them:

============================  ===========================================================================
``polled_source``             ``PolledSource``: the scheduled poll (``poll``).
``webhook_source``            ``WebhookSource``: the webhook door (``verify_webhook``, ``parse_webhook``) and
                              re-reading the record it names (``hydrate``, also used by the poll).
``target``                    ``ports.Target``: deliver books documents and customers.
``purchase_booking``          ``PurchaseTarget``: deliver books purchase documents (a supplier's invoice, a receipt)
                              as the package's purchase booking, with the supplier found or created.
``attachments``               ``AttachmentTarget``: deliver attaches the original file (PDF, UBL) to what it booked.
``purchase_status_reader``    ``PurchaseStatusReader``: target sync reads what is still to be paid of booked purchases.
``party_updates``             ``PartyUpdater``: a customer changed in the source is updated in the target.
``payment_status_reader``     ``PaymentStatusReader``: target sync reads what is still open of booked invoices.
``payment_changes``           ``PaymentChangeFeed``: target sync reads only what changed since its last read
                              (QuickBooks' change data capture) instead of every open invoice.
``payment_status_writer``     ``PaymentStatusWriter``: the source takes payment status back (write-back queue).
``invoice_actions``           ``InvoiceActions``: a person acts on a booked invoice from the source's screen (void,
                              delete, send, its PDF, a link that opens it in the target).
``chart_sync``                ``ChartSync``: after connecting (and on every target sync) the target's chart of
                              accounts is read into the connection's settings.
``product_groups``            ``ProductGroups``: the source lists the groups revenue can be mapped by.
``record_sync``               ``RecordSide``: organizations, contacts and products kept alike on both sides of a
                              two-way koppeling (``services/record_sync.py``), on a source or a target.
``mapping_check``             ``MappingCheck``: a source checks the connection's field mapping against the vendor's
                              own fields (custom fields included) when its credentials are saved.
``webhook_registration``      ``WebhookRegistration``: the source subscribes Koppel's address to its webhooks.
``activation``                ``ActivationFlow`` (on the descriptor): the vendor activates by calling back.
``app_extension``             ``AppExtension`` (on the descriptor): the vendor's screens call Koppel (a button, a
                              panel), signing each request with Koppel's app secret.
``change_notices``            ``ChangeNotices`` (on the descriptor): a target tells Koppel which accounts changed
                              (QuickBooks' webhooks), so their status is read back now instead of at the next sync.
``oauth``                     ``OAuthFlow`` (on the descriptor): the owner grants access on the vendor's page
                              (OAuth 2.0 authorization code); the vendor sends them back with a code.
``preview_source``            ``Connector.preview_events``: ``koppel preview`` reads one record from a file.
``preview_target``            ``Connector.preview_account``: ``koppel preview`` plays an empty account.
``console_mapping``           ``Connector.mapping_form``: the console's mapping editor shows and checks the target's
                              ledgers per VAT rate, per product group and its tax codes against the synced chart.
``document_links``            ``Connector.document_link``: the console's history links a booked document to the
                              page that opens it in the vendor's own web app.
============================  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, get_args, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    import requests
    from pydantic import BaseModel, JsonValue

    from koppel.booking import Booking
    from koppel.model import Connection, ExternalRef, HubEvent, Party, PaymentStatus
    from koppel.ports import Activation, ConnectionStore, FileStore, PolledRecord, Source, WebhookNotice
    from koppel.records import RecordChanges, RecordKind, SyncRecord

Capability = Literal[
    "polled_source",
    "webhook_source",
    "target",
    "purchase_booking",
    "attachments",
    "purchase_status_reader",
    "party_updates",
    "payment_status_reader",
    "payment_changes",
    "payment_status_writer",
    "chart_sync",
    "invoice_actions",
    "product_groups",
    "record_sync",
    "mapping_check",
    "webhook_registration",
    "activation",
    "oauth",
    "app_extension",
    "change_notices",
    "preview_source",
    "preview_target",
    "console_mapping",
    "document_links",
]
CAPABILITIES: tuple[Capability, ...] = get_args(Capability)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _no_partner_secret() -> Mapping[str, str]:
    return {}


@dataclass(frozen=True)
class ConnectorContext:
    """Everything a connector may use: its connection, settings, credentials and an HTTP session."""

    connection: Connection
    settings: Mapping[str, JsonValue]
    """This connector's own settings for this connection (validated by the connector's settings model)."""
    secrets: Mapping[str, str] = field(repr=False)
    """This connector's decrypted credentials for this connection."""
    session: requests.Session
    store: ConnectionStore | None = None
    """Token cache (get_token/put_token); None in previews, where nothing is stored."""
    partner_secret: Callable[[], Mapping[str, str]] = field(default=_no_partner_secret)
    """Koppel's own application credentials for this vendor (subscription keys, OAuth client)."""
    clock: Callable[[], datetime] = field(default=_utcnow)
    workers: int = 1
    """How many workers of this connector run at once (the queue's MaximumConcurrency): limits are shared out."""
    files: FileStore | None = None
    """Where a source keeps the original files it reads (claim checks on the document); None: it keeps none."""


# -- what a built source can do ---------------------------------------------------------------------------------------
@runtime_checkable
class PolledSource(Protocol):
    name: ClassVar[str]

    def poll(self, since: datetime, until: datetime) -> Iterator[PolledRecord]:
        """Records created or changed in [since, until), oldest first."""


@runtime_checkable
class RecordReader(Protocol):
    def hydrate(self, notice: WebhookNotice) -> list[HubEvent]:
        """Re-read the record a notice names and normalize it; [] when it is not (yet) something to book."""


@runtime_checkable
class WebhookSource(RecordReader, Protocol):
    def verify_webhook(self, headers: Mapping[str, str], body: bytes, url: str) -> None:
        """Raise SignatureError unless the sender proved who it is."""

    def parse_webhook(self, body: bytes) -> WebhookNotice:
        """Raise InputError with a reason for a body that is not a webhook of this source."""


@runtime_checkable
class ProductGroups(Protocol):
    def product_groups(self) -> list[str]:
        """The groups (product categories) revenue can be mapped to a ledger by."""


@runtime_checkable
class RecordSide(Protocol):
    """One side of a two-way record sync, in canonical fields (``koppel.records``): the connector translates."""

    def record_fields(self, kind: RecordKind) -> frozenset[str]:
        """The canonical fields this side holds for ``kind`` with the connection's mapping (empty: not synced)."""

    def changed_records(self, kind: RecordKind, since: datetime | None) -> RecordChanges:
        """What changed since ``since`` (None: everything), deletions included where the side says so. A side
        without a change feed lists every record (``complete``); Koppel compares them with what it saw last."""

    def read_record(self, kind: RecordKind, ident: str) -> SyncRecord | None:
        """One record by its id here; None when it is gone."""

    def find_record(self, kind: RecordKind, record: SyncRecord) -> SyncRecord | None:
        """The record here that is ``record`` of the other side, by its natural keys (``records.lookup_keys``)."""

    def create_record(self, kind: RecordKind, fields: Mapping[str, str]) -> SyncRecord:
        """Create it; the record as this side now holds it."""

    def update_record(self, kind: RecordKind, ident: str, fields: Mapping[str, str]) -> SyncRecord:
        """Change only ``fields`` (a field given as '' is emptied); the whole record as this side now holds it."""


@runtime_checkable
class MappingCheck(Protocol):
    def mapping_problems(self) -> list[str]:
        """What is wrong with the connection's field mapping, each with what to do ([] when it fits); it reads the
        vendor's fields, so it also proves the credentials (AuthError when they are refused)."""


@runtime_checkable
class WebhookRegistration(Protocol):
    def subscribe_webhooks(self, address: str) -> dict[str, str]:
        """Subscribe ``address`` to the source's webhooks; the secrets to store that sign what arrives there."""


@runtime_checkable
class PaymentStatusWriter(Protocol):
    def apply_payment_status(self, status: PaymentStatus) -> ExternalRef:
        """Carry a payment status back onto the source's document; a repeat finds nothing left to do."""


# -- what a built target can do ---------------------------------------------------------------------------------------
@runtime_checkable
class BookingTarget(Protocol):
    """``ports.Target`` as a runtime check."""

    name: ClassVar[str]

    def find_party(self, party: Party) -> ExternalRef | None: ...

    def create_party(self, party: Party) -> ExternalRef: ...

    def find_booking(self, booking: Booking) -> ExternalRef | None: ...

    def post_booking(self, booking: Booking, party: ExternalRef, request_id: str) -> ExternalRef: ...


@runtime_checkable
class PurchaseTarget(Protocol):
    """Books purchase documents: ``booking.document.direction == "purchase"``, its party the supplier.

    Reverse-charged lines (``reverse_charge``, ``intra_eu``, ``export``) are booked with the package's own codes for
    them, and foreign VAT (``document.vat_country``) only where the mapping says how; anything else is refused with
    a MappingError that says what to set."""

    def find_supplier(self, party: Party) -> ExternalRef | None:
        """The supplier, by VAT number, then registration number (KvK, CVR), then name; None when it is new."""

    def create_supplier(self, party: Party) -> ExternalRef: ...

    def find_purchase(self, booking: Booking, supplier: ExternalRef) -> ExternalRef | None:
        """The purchase booked earlier from this supplier under its invoice number (the natural key): a supplier's
        number is unique only per supplier."""

    def post_purchase(self, booking: Booking, supplier: ExternalRef, request_id: str) -> ExternalRef: ...


@runtime_checkable
class PurchaseStatusReader(Protocol):
    def purchase_status(self, purchases: Sequence[ExternalRef]) -> Iterator[tuple[str, PaymentStatus | None]]:
        """What is still to be paid of each booked purchase, by the target's id (``ExternalRef.id``); None for one
        that is paid in full. A purchase that is gone is reported with status ``deleted``."""


@dataclass(frozen=True)
class AttachedFile:
    """An original document's bytes, read from its claim check for the one call that attaches it."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


@runtime_checkable
class AttachmentTarget(Protocol):
    def attach(self, ref: ExternalRef, file: AttachedFile) -> None:
        """Attach ``file`` to the booked document ``ref``; a file it already holds under that name is not attached
        again (deliver repeats this after a crash)."""


@runtime_checkable
class PartyUpdater(Protocol):
    def update_party(self, ref: ExternalRef, party: Party) -> None:
        """A customer changed in the source: bring the target's relation up to date."""


@runtime_checkable
class PaymentStatusReader(Protocol):
    def payment_status(self, invoice_numbers: list[str]) -> Iterator[tuple[str, PaymentStatus | None]]:
        """What is open of each booked invoice; None for one that is paid."""


@runtime_checkable
class PaymentChangeFeed(Protocol):
    def payment_changes(self, since: datetime) -> dict[str, PaymentStatus] | None:
        """The status of every invoice that changed since ``since`` (deleted ones too), by the target's id; an
        invoice left out is unchanged. None when the feed cannot say (``since`` is older than it reaches, or more
        changed than one answer holds): then every open invoice is read with ``payment_status``."""


@runtime_checkable
class InvoiceActions(Protocol):
    """What a person may do with an invoice Koppel booked, from where they work (Pipedrive's deal panel)."""

    def void_invoice(self, ref: ExternalRef) -> None:
        """Void it in the target: it stays in the books at zero."""

    def delete_invoice(self, ref: ExternalRef) -> None:
        """Delete it in the target."""

    def send_invoice(self, ref: ExternalRef, email: str | None = None) -> None:
        """Have the target e-mail it to the customer (to ``email`` instead, when given)."""

    def invoice_pdf(self, ref: ExternalRef) -> bytes:
        """The invoice as the target renders it."""

    def invoice_link(self, ref: ExternalRef) -> str:
        """An address that opens the invoice in the target's own screens."""


@runtime_checkable
class ChartSync(Protocol):
    def after_connect(self) -> dict[str, Any]:
        """Once credentials are stored (and on every target sync): what the account holds, as settings."""


# -- what a vendor offers before anything is built --------------------------------------------------------------------
@runtime_checkable
class ActivationFlow(Protocol):
    """A vendor that activates a connection by calling Koppel back (SnelStart's koppelsleutel)."""

    def start_url(
        self, success_url: str, reference_key: str, partner: Mapping[str, str], settings: Mapping[str, Any]
    ) -> str:
        """The vendor's page where the owner activates Koppel; it calls back with ``reference_key``."""

    def parse_callback(self, body: bytes) -> Activation:
        """The vendor's callback body, normalized; InputError with a reason for anything else."""


@dataclass(frozen=True)
class Authorized:
    """What the vendor's token endpoint gave for an authorization code: the grant, and how to reach the account."""

    access_token: str = field(repr=False)
    expires_in: int
    refresh_token: str = field(repr=False)
    refresh_expires_in: int | None = None
    account: Mapping[str, str] = field(default_factory=dict)
    """Where the grant opens (QuickBooks' realm id, Pipedrive's API domain): stored with the credentials."""
    account_id: str = ""
    """The vendor account's own id (the realm id, the company id): webhooks and app-extension clicks that name only
    the account find the connection by it."""


@runtime_checkable
class OAuthFlow(Protocol):
    """A vendor whose owner grants Koppel access on the vendor's own page (OAuth 2.0 authorization code)."""

    def authorize_url(self, *, state: str, redirect_uri: str, partner: Mapping[str, str]) -> str:
        """The vendor's consent page; it sends the owner back to ``redirect_uri`` with a code and ``state``."""

    def exchange(
        self, *, code: str, redirect_uri: str, query: Mapping[str, str], partner: Mapping[str, str]
    ) -> Authorized:
        """The code (and the rest of the return address's query, e.g. ``realmId``) traded for a grant."""


@dataclass(frozen=True)
class ExtensionRequest:
    """A request from the vendor's own screens (Pipedrive's app extensions), its signature checked."""

    account_id: str
    """The vendor account it comes from (the Pipedrive company): how Koppel finds the connection."""
    user_id: str
    record_ids: tuple[str, ...]
    """The records the person selected (deal ids)."""


@dataclass(frozen=True)
class PanelInvoice:
    """One booked invoice as a person sees it in the source's panel."""

    number: str
    status: str
    """In words: Open, Paid, Partially paid, Overdue, Voided, Deleted, Pending, Needs attention."""
    total: str
    """As the ledger keeps it, e.g. "EUR 121.00"."""
    reason: str = ""
    """Why it needs attention (the vendor's message), when it does."""
    amount_open: str = ""
    """What is still to be paid, e.g. "EUR 21.00", once the target said so."""
    due_date: str = ""
    """When it falls due (ISO date), once the target said so."""
    link: str = ""
    actions: tuple[str, ...] = ()
    """What may be done with it from the panel: void, delete, send, pdf."""


@runtime_checkable
class AppExtension(Protocol):
    """How a vendor's screens call Koppel: the request read and verified, the answer in the vendor's shape."""

    def read_request(self, query: Mapping[str, str], partner: Mapping[str, str], now: datetime) -> ExtensionRequest:
        """The request's signed parameters, verified with Koppel's app credentials at the vendor (``partner``);
        SignatureError otherwise."""

    def event_ids(self, record_id: str) -> tuple[str, ...]:
        """The ids of the events a selected record books as (without reading the vendor)."""

    def notice(self, record_id: str) -> WebhookNotice:
        """What the source's ``hydrate`` reads the selected record by."""

    def panel(self, invoices: Sequence[PanelInvoice]) -> dict[str, Any]:
        """The panel's body as the vendor's screen expects it."""


@runtime_checkable
class ChangeNotices(Protocol):
    """A target that sends webhooks when its records change (QuickBooks Online): one address for every account."""

    def changed_accounts(self, headers: Mapping[str, str], body: bytes, partner: Mapping[str, str]) -> tuple[str, ...]:
        """The vendor's signature checked with Koppel's app credentials (SignatureError otherwise), then the ids of
        the accounts (QuickBooks realms) whose invoices or payments changed; () for changes of nothing Koppel
        books."""


PreviewAnswer = Callable[[str, str, Any, int], "tuple[Any, int] | None"]
"""``answer(method, path, body, new_id)``: an empty account's answer to a call, or None for the default."""


@dataclass(frozen=True)
class PreviewAccount:
    """How a target's brand-new, empty account answers in ``koppel preview``."""

    credential_paths: tuple[str, ...] = ()
    """Paths of JSON credential exchanges (a session opened with an API token): answered, not listed."""
    answer: PreviewAnswer | None = None
    settings: Callable[[], dict[str, Any]] = dict
    """The settings a preview runs with (the default mapping, ledger ids shown as their codes)."""
    form_api: bool = False
    """The vendor's own API takes form bodies and names its operation in the query string (vtiger's webservice):
    form bodies are recorded and answered like any request, and the answer sees the whole path with its query."""


MappingKind = Literal["ledger", "ledger_map", "code_map"]
"""``ledger``: one ledger code; ``ledger_map``: key (a VAT rate, a product group) → ledger code; ``code_map``: key →
the target's tax code."""
MappingKeys = Literal["vat_rates", "product_groups", "purchase_categories", "treatments", "none"]
"""Where the editor's suggested keys come from: the usual VAT rates, the source's product groups, the kinds of
purchase without Dutch VAT (zero_rated, exempt, outside_scope, reverse_charge, intra_eu, export), the VAT treatments
of a sale (intra_eu, export, reverse_charge, oss), or nowhere (free keys)."""


ChartList = Literal["ledgers", "tax_codes", "items", "rulesets"]
"""The lists of a target's chart: its ledgers (accounts), its tax codes (or rates), and where a package books a sale
on something else, its Items (QuickBooks Online) or its sales-tax rulesets (Billy)."""
CHART_LISTS: tuple[ChartList, ...] = get_args(ChartList)


@dataclass(frozen=True)
class MappingField:
    """One field of the target's settings model the console lets a person edit."""

    name: str
    """The settings model's field name."""
    label: str
    kind: MappingKind
    help: str = ""
    keys: MappingKeys = "none"
    picks_from: ChartList | None = None
    """The chart list its values come from; by default a code map's from the tax codes, the others' the ledgers."""

    @property
    def chart_list(self) -> ChartList:
        return self.picks_from or ("tax_codes" if self.kind == "code_map" else "ledgers")


@dataclass(frozen=True)
class Chart:
    """The target's chart as synced into the connection's settings: code → name (the code again when no name)."""

    ledgers: Mapping[str, str]
    tax_codes: Mapping[str, str]
    items: Mapping[str, str] = field(default_factory=dict)
    rulesets: Mapping[str, str] = field(default_factory=dict)

    def for_field(self, spec: MappingField) -> Mapping[str, str]:
        """The codes a field may name; empty when that list was not synced (then any code is taken)."""
        codes: Mapping[str, str] = getattr(self, spec.chart_list)  # each ChartList is a field of this class
        return codes


@dataclass(frozen=True)
class MappingForm:
    fields: tuple[MappingField, ...]
    chart: Callable[[Mapping[str, Any]], Chart]
    """The synced chart, read from the connection's target settings (empty when nothing was synced yet)."""


DocumentLink = Callable[["Mapping[str, Any]", str, Literal["sale", "purchase"]], str]
"""``link(settings, external_id, direction)``: the address that opens the booked document in the vendor's web app,
or "" when the vendor has no stable address for it."""


@dataclass(frozen=True)
class Connector:
    """One vendor package, as the rest of Koppel sees it (``koppel.connectors.load(name)``)."""

    name: str
    """The package name, the ``CONNECTOR`` environment value, the secret suffix and the fixtures folder."""
    title: str
    """The vendor's name as people write it."""
    settings: type[BaseModel]
    capabilities: frozenset[Capability]
    build_source: Callable[[ConnectorContext], Source] | None = None
    build_target: Callable[[ConnectorContext], Any] | None = None
    """A booking target (``ports.Target``), or the write-back of a source (``PaymentStatusWriter``)."""
    example_settings: Mapping[str, Any] = field(default_factory=dict)
    """Settings a connection needs at least (the model's required fields), used by the conformance test."""
    poll_interval_minutes: int = 5
    """How often a new connection polls this source by default."""
    activation: ActivationFlow | None = None
    oauth: OAuthFlow | None = None
    app_extension: AppExtension | None = None
    change_notices: ChangeNotices | None = None
    preview_events: Callable[[Mapping[str, Any], Connection], list[HubEvent]] | None = None
    preview_account: PreviewAccount | None = None
    mapping_form: MappingForm | None = None
    document_link: DocumentLink | None = None

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities
