"""Bizzcloud (an Odoo-based till and invoicing system) as a source: posted invoices, credit invoices, paid till
orders and customers, polled on ``write_date`` (Odoo sends no webhooks by default). README.md in this folder has
the API facts; the pure translations are in ``mapping``, the RPC transports in ``client``.

Credentials: the user's login and API key (Odoo ≥ 14 takes an API key where the password goes); the database
name and the address are settings. One poll reads each model's window page by page, oldest change first, and
reads the lines, taxes, customers, products and till payments of a whole page in one call per model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from koppel.connectors.bizzcloud.client import Odoo, transport_for
from koppel.connectors.bizzcloud.fields import (
    LINE_FIELDS,
    MOVE_FIELDS,
    PARTNER_FIELDS,
    POS_FIELDS,
    POS_LINE_FIELDS,
    TAX_FIELDS,
    VENDOR,
    many2one_id,
    odoo_datetime,
    odoo_time,
    product_category,
    with_country,
)
from koppel.connectors.bizzcloud.mapping import (
    SOURCE,
    invoice_event,
    invoice_skip_reason,
    party_event,
    pos_event,
    pos_payments,
    pos_skip_reason,
)
from koppel.connectors.bizzcloud.settings import BizzcloudSettings
from koppel.connectors.bizzcloud.writeback import BizzcloudWriteBack
from koppel.connectors.kit import load_settings
from koppel.errors import AuthError, InputError, KoppelError
from koppel.ports import PolledRecord

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from datetime import datetime

    from koppel.connectors.contract import ConnectorContext
    from koppel.model import Connection, HubEvent

POLL_INTERVAL_MINUTES = 1
"""Odoo sends no webhooks: the poll is how invoices and till sales reach the books, within a minute."""


class BizzcloudSource:
    name: ClassVar[str] = SOURCE

    def __init__(self, ctx: ConnectorContext, settings: BizzcloudSettings, odoo: Odoo) -> None:
        self._ctx = ctx
        self.settings = settings
        self.odoo = odoo
        self._taxes: dict[int, dict[str, Any]] = {}
        self._methods: dict[int, dict[str, Any]] | None = None

    # -- polling -----------------------------------------------------------------------------------------------------
    def poll(self, since: datetime, until: datetime) -> Iterator[PolledRecord]:
        # Odoo compares write_date with its microseconds but writes it to the second: the window ends at the start
        # of the next whole second, so the last second is read whole (a record changed later in that second is
        # read again by the next poll's overlap, and the ledger makes that harmless).
        end = until.replace(microsecond=0) + timedelta(seconds=1)
        window = [("write_date", ">=", odoo_time(since)), ("write_date", "<", odoo_time(end))]
        records: list[PolledRecord] = []
        if self.settings.sync_customers:
            records += self._partners(window)
        records += self._invoices(window)
        if self.settings.book_till_orders:
            records += self._till_orders(window)
        yield from sorted(records, key=lambda r: r.changed_at)

    def _partners(self, window: list[Any]) -> list[PolledRecord]:
        domain = [*window, ("customer_rank", ">", 0)]
        found: list[PolledRecord] = []
        for page in self.odoo.pages("res.partner", domain, PARTNER_FIELDS, self.settings.page_size):
            countries = self._countries(page)
            for row in page:
                partner = with_country(row, countries)
                found.append(self._record("res.partner", partner, partial(party_event, partner, self._conn), ""))
        return found

    def _invoices(self, window: list[Any]) -> list[PolledRecord]:
        domain = [*window, ("move_type", "in", ["out_invoice", "out_refund"])]
        found: list[PolledRecord] = []
        for page in self.odoo.pages("account.move", domain, MOVE_FIELDS, self.settings.page_size):
            bookable = [m for m in page if not invoice_skip_reason(m)]
            refs = _PageRefs(
                lines=self._lines("account.move.line", "move_id", bookable, "invoice_line_ids", LINE_FIELDS),
                partners=self._partners_of(bookable),
                payments=self._till_payments_of(bookable),
            )
            refs.groups.update(self._groups(refs.lines))
            for move in page:
                reason = invoice_skip_reason(move)
                found.append(
                    self._skipped("account.move", move, reason)
                    if reason
                    else self._record("account.move", move, partial(self._invoice_event, move, refs), "posted")
                )
        return found

    def _invoice_event(self, move: dict[str, Any], refs: _PageRefs) -> HubEvent:
        return invoice_event(
            move,
            refs.lines.get(move["id"], []),
            refs.partner_of(move),
            self._conn,
            payments=refs.payments.get(move["id"], ()),
            groups=refs.groups,
        )

    def _till_orders(self, window: list[Any]) -> list[PolledRecord]:
        domain = [*window, ("state", "in", ["paid", "done", "invoiced"])]
        found: list[PolledRecord] = []
        for page in self.odoo.pages("pos.order", domain, POS_FIELDS, self.settings.page_size):
            bookable = [o for o in page if not pos_skip_reason(o)]
            refs = _PageRefs(
                lines=self._lines("pos.order.line", "order_id", bookable, "lines", POS_LINE_FIELDS),
                partners=self._partners_of(bookable),
                payments=self._pos_payments(bookable),
            )
            refs.groups.update(self._groups(refs.lines))
            for order in page:
                reason = pos_skip_reason(order)
                found.append(
                    self._skipped("pos.order", order, reason)
                    if reason
                    else self._record("pos.order", order, partial(self._till_event, order, refs), "paid")
                )
        return found

    def _till_event(self, order: dict[str, Any], refs: _PageRefs) -> HubEvent:
        lines = refs.lines.get(order["id"], [])
        payments = refs.payments.get(order["id"], [])
        partner = refs.partner_of(order)
        return pos_event(
            order, lines, partner, payments, self._conn, groups=refs.groups, walk_in=self.settings.walk_in_name
        )

    def product_groups(self) -> list[str]:
        """Every product category: the revenue groups a ledger can be mapped to (`koppel connections map`)."""
        rows = self.odoo.search_read("product.category", [], ["name"])
        return sorted({str(row.get("name") or "").strip() for row in rows} - {""})

    # -- reading what a page refers to, one call per model ------------------------------------------------------------
    def _lines(
        self, model: str, parent_field: str, parents: Sequence[dict[str, Any]], ids_field: str, fields: list[str]
    ) -> dict[int, list[dict[str, Any]]]:
        ids = [line_id for parent in parents for line_id in parent.get(ids_field) or []]
        rows = self.odoo.read(model, ids, fields)
        taxes = self._tax_records({tax for row in rows.values() for tax in row.get("tax_ids") or []})
        by_parent: dict[int, list[dict[str, Any]]] = {}
        for line_id in ids:
            row = rows.get(line_id)
            if row is None:
                continue
            row = {**row, "tax_ids": [taxes[t] for t in row.get("tax_ids") or [] if t in taxes]}
            by_parent.setdefault(many2one_id(row.get(parent_field)) or -1, []).append(row)
        return by_parent

    def _tax_records(self, ids: set[int]) -> dict[int, dict[str, Any]]:
        missing = ids - self._taxes.keys()
        self._taxes.update(self.odoo.read("account.tax", missing, TAX_FIELDS))
        return self._taxes

    def _partners_of(self, records: Sequence[dict[str, Any]]) -> dict[int, dict[str, Any]]:
        ids = [pid for r in records if (pid := many2one_id(r.get("partner_id")))]
        partners = list(self.odoo.read("res.partner", ids, PARTNER_FIELDS).values())
        countries = self._countries(partners)
        return {p["id"]: with_country(p, countries) for p in partners}

    def _countries(self, partners: Sequence[dict[str, Any]]) -> dict[int, str]:
        ids = [cid for p in partners if not p.get("country_code") and (cid := many2one_id(p.get("country_id")))]
        return {cid: str(row.get("code") or "") for cid, row in self.odoo.read("res.country", ids, ["code"]).items()}

    def _groups(self, lines: Mapping[int, list[dict[str, Any]]]) -> dict[int, str]:
        """Product → its product category's name: the revenue group a ledger can be mapped to."""
        ids = [pid for rows in lines.values() for row in rows if (pid := many2one_id(row.get("product_id")))]
        products = self.odoo.read("product.product", ids, ["categ_id"])
        return {pid: product_category(row.get("categ_id")) for pid, row in products.items()}

    def _pos_payments(self, orders: Sequence[dict[str, Any]]) -> dict[int, list[Any]]:
        ids = [pid for o in orders for pid in o.get("payment_ids") or []]
        rows = self.odoo.read("pos.payment", ids, ["pos_order_id", "amount", "payment_method_id", "payment_date"])
        by_order: dict[int, list[dict[str, Any]]] = {}
        for row in rows.values():
            by_order.setdefault(many2one_id(row.get("pos_order_id")) or -1, []).append(row)
        methods = self._payment_methods()
        return {order_id: pos_payments(rows, methods) for order_id, rows in by_order.items()}

    def _till_payments_of(self, moves: Sequence[dict[str, Any]]) -> dict[int, list[Any]]:
        """An invoiced till order is booked through its invoice, with the money taken at the till."""
        order_ids = [oid for m in moves for oid in m.get("pos_order_ids") or []]
        if not order_ids:
            return {}
        orders = list(self.odoo.read("pos.order", order_ids, ["payment_ids", "account_move"]).values())
        by_order = self._pos_payments(orders)
        by_move: dict[int, list[Any]] = {}
        for order in orders:
            move_id = many2one_id(order.get("account_move"))
            if move_id is not None:
                by_move.setdefault(move_id, []).extend(by_order.get(order["id"], []))
        return by_move

    def _payment_methods(self) -> dict[int, dict[str, Any]]:
        if self._methods is None:
            self._methods = {
                row["id"]: row for row in self.odoo.search_read("pos.payment.method", [], ["name", "is_cash_count"])
            }
        return self._methods

    # -- records ------------------------------------------------------------------------------------------------------
    @property
    def _conn(self) -> Connection:
        return self._ctx.connection

    def _record(self, model: str, row: dict[str, Any], event: Callable[[], HubEvent], revision: str) -> PolledRecord:
        """``revision`` names the event id's last part, so a record that cannot be read is parked under the id its
        event will have once it is corrected; "" for records whose event id is not fixed (customer changes)."""
        record_id = f"{model}:{row['id']}"
        changed = odoo_datetime(row["write_date"])
        try:
            return PolledRecord(record_id=record_id, changed_at=changed, events=(event(),))
        except KoppelError as error:
            if not revision:
                return PolledRecord(record_id=record_id, changed_at=changed, skipped_reason=str(error))
            event_id = f"{SOURCE}:{record_id}:{revision}"
            return PolledRecord(record_id=record_id, changed_at=changed, problem=str(error), event_ids=(event_id,))

    def _skipped(self, model: str, row: dict[str, Any], reason: str) -> PolledRecord:
        return PolledRecord(
            record_id=f"{model}:{row['id']}", changed_at=odoo_datetime(row["write_date"]), skipped_reason=reason
        )


@dataclass
class _PageRefs:
    """What one page of records refers to, read in one call per model: lines, customers, payments, groups."""

    lines: dict[int, list[dict[str, Any]]]
    partners: dict[int, dict[str, Any]]
    payments: Mapping[int, list[Any]]
    groups: dict[int, str] = field(default_factory=dict)

    def partner_of(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        return self.partners.get(many2one_id(record.get("partner_id")) or -1)


def build_source(ctx: ConnectorContext) -> BizzcloudSource:
    settings, odoo = _connect(ctx)
    return BizzcloudSource(ctx, settings, odoo)


def build_target(ctx: ConnectorContext) -> BizzcloudWriteBack:
    """Bizzcloud as the target of payment status carried back (its write-back queue)."""
    settings, odoo = _connect(ctx)
    return BizzcloudWriteBack(odoo, settings.payment_journal)


def _connect(ctx: ConnectorContext) -> tuple[BizzcloudSettings, Odoo]:
    settings = load_settings(BizzcloudSettings, ctx.settings, VENDOR)
    login = ctx.secrets.get("login", "").strip()
    api_key = ctx.secrets.get("api_key", "").strip()
    if not login or not api_key:
        raise AuthError(
            f"no {VENDOR} login and API key are stored for connection {ctx.connection.connection_id}: "
            "connect Bizzcloud with the user's login and an API key"
        )
    odoo = Odoo(transport_for(settings.transport, ctx.session, settings.url), settings.database, login, api_key)
    return settings, odoo


def preview_events(record: Mapping[str, Any], connection: Connection) -> list[HubEvent]:
    """``koppel preview``: one ``account.move`` as search_read returns it, with ``partner_id`` holding the
    res.partner record and ``invoice_line_ids`` the line records (``tax_ids`` as account.tax records)."""
    if not isinstance(record, dict) or "invoice_line_ids" not in record:
        raise InputError(
            "a Bizzcloud preview file is one account.move with invoice_line_ids as line records and partner_id as "
            "the res.partner record"
        )
    if invoice_skip_reason(record):
        return []
    partner = record.get("partner_id") if isinstance(record.get("partner_id"), dict) else None
    lines = [line for line in record["invoice_line_ids"] if isinstance(line, dict)]
    if len(lines) != len(record["invoice_line_ids"]):
        raise InputError("invoice_line_ids must hold the line records themselves, not their ids")
    move = {**record, "partner_id": [partner["id"], partner.get("name", "")] if partner else False}
    return [invoice_event(move, lines, partner, connection)]
