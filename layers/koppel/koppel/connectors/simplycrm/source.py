"""Simply CRM as a polled source of invoices and credit invoices, and one side of a two-way record sync. README.md in
this folder has the API facts; HTTP is in ``client``, the translations in ``mapping`` and ``records``.

The poll asks vtiger's ``sync`` for the invoices changed since the watermark (every page, until ``more`` is false),
reads the customers they name in one query per page of ids, the product numbers of their lines likewise, and turns
each invoice in a final status into one event. An invoice that should be booked but cannot be read is parked under
the event id it has now (``mapping.event_id``); correcting the customer and saving the invoice books it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from koppel.connectors import load
from koppel.connectors.kit import load_settings
from koppel.connectors.simplycrm.client import PAGE, SimplyCrmClient
from koppel.connectors.simplycrm.fields import VENDOR, moment, text, webservice_id
from koppel.connectors.simplycrm.mapping import SOURCE, customer_id, event_id, invoice_event, skip_reason
from koppel.connectors.simplycrm.records import SimplyCrmRecords, quoted
from koppel.connectors.simplycrm.settings import SimplyCrmSettings
from koppel.connectors.simplycrm.target import SimplyCrmTarget
from koppel.errors import InputError, KoppelError, PermanentError
from koppel.ports import PolledRecord

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from datetime import datetime

    from koppel.connectors.contract import ConnectorContext
    from koppel.model import Connection, HubEvent

POLL_INTERVAL_MINUTES = 180
"""Simply CRM's own Billy module syncs every 3 hours; invoices are not urgent to the books."""
PREVIEW_SHAPE = (
    "one Simply CRM invoice as retrieve answers it, with LineItems (its line records, each with product_name) and "
    'two keys added: "account" (the Accounts record of account_id, or null) and "contact" (the Contacts record of '
    "contact_id, or null)"
)


class SimplyCrmSource(SimplyCrmRecords):
    name: ClassVar[str] = SOURCE

    def __init__(self, ctx: ConnectorContext, settings: SimplyCrmSettings, client: SimplyCrmClient) -> None:
        super().__init__(client, settings)
        self._connection = ctx.connection

    def poll(self, since: datetime, until: datetime) -> Iterator[PolledRecord]:
        """Invoices changed in [since, until), oldest first (vtiger keeps times to the second)."""
        if since.tzinfo is None or until.tzinfo is None:
            raise InputError("a Simply CRM poll window needs time-zone aware timestamps")
        changed: list[tuple[datetime, str, dict[str, Any]]] = []
        for answer in self.client.sync("Invoice", since):
            for row in answer.get("updated") or []:
                at = moment(row.get("modifiedtime")) if isinstance(row, dict) else None
                if at is not None and at < until and webservice_id(row.get("id")):
                    changed.append((at, str(row["id"]), row))
        changed.sort(key=lambda item: (item[0], item[1]))
        bookable = [self._whole(row) for _, _, row in changed if not skip_reason(row, self.settings)]
        customers = self._by_id(self.settings.customer_module, {customer_id(i, self.settings) for i in bookable})
        numbers = self._product_numbers(bookable)
        whole = {text(invoice, "id"): invoice for invoice in bookable}
        for at, ident, row in changed:
            reason = skip_reason(row, self.settings)
            if reason:
                yield PolledRecord(record_id=ident, changed_at=at, skipped_reason=reason)
                continue
            invoice = whole[ident]
            try:
                event = invoice_event(
                    invoice, customers.get(customer_id(invoice, self.settings)), numbers, self._connection,
                    self.settings,
                )  # fmt: skip
            except KoppelError as error:
                problem = f"{error}"
                yield PolledRecord(
                    record_id=ident, changed_at=at, problem=problem, event_ids=(event_id(invoice, self.settings),)
                )
                continue
            yield PolledRecord(record_id=ident, changed_at=at, events=(event,))

    def _whole(self, row: dict[str, Any]) -> dict[str, Any]:
        """The invoice with its LineItems: ``sync`` may answer the invoice's own fields only."""
        if isinstance(row.get("LineItems"), list):
            return row
        return self.client.retrieve(str(row["id"])) or row

    def _by_id(self, module: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Records of one module by id, a query per 100 ids."""
        wanted = sorted(ident for ident in ids if webservice_id(ident))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), PAGE):
            listed = ", ".join(quoted(ident) for ident in wanted[start : start + PAGE])
            # vtiger's query language, not SQL: the module is ours and every id went through ``quoted``
            for row in self.client.query(f"SELECT * FROM {module} WHERE id IN ({listed})"):  # nosec B608
                found[text(row, "id")] = row
        return found

    def _product_numbers(self, invoices: Iterable[Mapping[str, Any]]) -> dict[str, str]:
        """productid → product_no of the products on the invoices' lines (services keep their name only)."""
        prefix = str(self.client.describe("Products").get("idPrefix") or "")
        ids = {
            text(line, "productid")
            for invoice in invoices
            for line in invoice.get("LineItems") or []
            if isinstance(line, dict) and text(line, "productid").partition("x")[0] == prefix
        }
        return {ident: text(row, "product_no") for ident, row in self._by_id("Products", ids).items()}


def _connect(ctx: ConnectorContext) -> tuple[SimplyCrmSettings, SimplyCrmClient]:
    settings = load_settings(SimplyCrmSettings, ctx.settings, VENDOR)
    return settings, SimplyCrmClient(ctx, settings.url, sync_type=settings.sync_type)


def build_source(ctx: ConnectorContext) -> SimplyCrmSource:
    """Credentials (secrets): ``user_name`` and ``access_key`` (My Preferences); the session is opened on first use."""
    settings, client = _connect(ctx)
    return SimplyCrmSource(ctx, settings, client)


def build_target(ctx: ConnectorContext) -> SimplyCrmTarget:
    """Simply CRM as a booking target (the other side's invoices and credit notes) and as the target of payment
    status carried back onto its own invoices (its write-back queue): one object does both."""
    settings, client = _connect(ctx)
    # The documents come from the connection's other system: its target when Simply CRM is the two-way source
    other = ctx.connection.targets[0] if ctx.connection.source == SOURCE else ctx.connection.source
    try:
        title = load(other).title
    except InputError:
        title = other
    return SimplyCrmTarget(client, settings, title)


def preview_events(
    record: Mapping[str, Any], connection: Connection, settings: SimplyCrmSettings | None = None
) -> list[HubEvent]:
    """``koppel preview``: one invoice file (``PREVIEW_SHAPE``) as its event, with the default settings (the
    customer from ``account``). What cannot be booked is refused with the reason."""
    if not isinstance(record, Mapping) or not isinstance(record.get("LineItems"), list):
        raise InputError(f"a Simply CRM preview file is {PREVIEW_SHAPE}")
    for key in ("account", "contact"):
        if record.get(key) is not None and not isinstance(record.get(key), Mapping):
            raise InputError(f"a Simply CRM preview file is {PREVIEW_SHAPE}; its {key} is {str(record[key])[:120]}")
    rules = settings or SimplyCrmSettings(url="https://preview.simply-crm.invalid")
    invoice = {key: value for key, value in record.items() if key not in ("account", "contact")}
    reason = skip_reason(invoice, rules)
    if reason:
        raise PermanentError(f"invoice {text(invoice, 'invoice_no')} is not booked: {reason}")
    customer = record.get("account" if rules.customer_module == "Accounts" else "contact")
    return [invoice_event(invoice, customer, {}, connection, rules)]
