"""Pure translations from Bizzcloud's records (Odoo models, as ``search_read`` returns them) into Koppel's model.

Bizzcloud runs on Odoo (README.md in this folder): invoices and credit invoices are ``account.move`` (``move_type``
out_invoice / out_refund) with ``account.move.line`` invoice lines and ``account.tax`` taxes; till sales are
``pos.order`` with ``pos.order.line`` and ``pos.payment``; customers are ``res.partner``.

Amounts: Odoo computes each line's ``price_subtotal`` (excl. VAT) and ``price_total`` (incl.) and the move's
``amount_tax`` with its tax rounding per line; those stated figures are what the books must show, so they are
taken as they are (never recomputed from price × quantity) and the VAT total is passed on as stated. A document
whose taxes are all price-included (a till sale) is booked on its gross amounts, any other on its net amounts.
Odoo gives a credit invoice positive amounts; the canonical credit note carries them negative.
Odoo serialises amounts as JSON numbers: the connector parses them as Decimal, and a float that reaches this
module anyway is turned into the decimal it prints as (its shortest repr), which is what Odoo wrote.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from koppel.connectors.bizzcloud.fields import (
    VENDOR,
    decimal,
    many2one_id,
    many2one_name,
    odoo_date,
    odoo_datetime,
    partner_country,
    tax_of,
    text,
    vat_rate,
    vat_treatment,
)
from koppel.errors import MappingError
from koppel.model import Address, DocumentEvent, Line, Party, PartyEvent, Payment, SalesDocument
from koppel.money import ZERO

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from koppel.model import Connection, PaymentMethod

SOURCE = "bizzcloud"


# -- customers ------------------------------------------------------------------------------------------------------
def party(partner: Mapping[str, Any] | None, walk_in_name: str = "Kassaverkoop") -> Party:
    """A ``res.partner`` as a Party; a till sale without a customer books on one walk-in relation."""
    if not partner:
        return Party(code="KASSA", name=walk_in_name, is_business=False)
    country = partner_country(partner)
    email = text(partner.get("email"))
    return Party(
        source_id=str(partner["id"]),
        code=text(partner.get("ref")),
        name=text(partner.get("name")) or f"Bizzcloud customer {partner['id']}",
        email=email or None,
        phone=text(partner.get("phone")),
        mobile=text(partner.get("mobile")),
        is_business=bool(partner.get("is_company")) or bool(text(partner.get("vat"))),
        vat_number=text(partner.get("vat")),
        billing_address=Address(
            street=text(partner.get("street")),
            postcode=text(partner.get("zip")),
            city=text(partner.get("city")),
            country_code=country.upper() or None,
        ),
    )


def party_event(partner: Mapping[str, Any], connection: Connection) -> PartyEvent:
    """A customer created or changed: one event per change (its write date is part of the id)."""
    changed = odoo_datetime(partner["write_date"])
    return PartyEvent(
        event_id=f"{SOURCE}:res.partner:{partner['id']}:{changed:%Y%m%dT%H%M%S}",
        tenant_id=connection.tenant_id,
        connection_id=connection.connection_id,
        source=SOURCE,
        occurred_at=changed,
        kind="party.updated",
        payload=party(partner),
    )


# -- invoices and credit invoices -------------------------------------------------------------------------------
def invoice_skip_reason(move: Mapping[str, Any]) -> str:
    """Why an ``account.move`` is not booked (yet); "" when it is."""
    if move.get("move_type") not in ("out_invoice", "out_refund"):
        return f"move type {move.get('move_type')!r} is not a sales invoice"
    if move.get("state") != "posted":
        return f"state {move.get('state')!r}: only posted invoices are booked"
    return ""


def invoice_event(
    move: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    partner: Mapping[str, Any] | None,
    connection: Connection,
    *,
    payments: Sequence[Payment] = (),
    groups: Mapping[int, str] | None = None,
) -> DocumentEvent:
    """A posted ``account.move`` with its invoice lines (``tax_ids`` as read ``account.tax`` records)."""
    is_refund = move.get("move_type") == "out_refund"
    sign = Decimal(-1) if is_refund else Decimal(1)
    number = text(move.get("name"))
    if not number or number == "/":
        raise MappingError(f"{VENDOR} invoice {move.get('id')} has no number yet: post it in Bizzcloud first")
    invoice_date = odoo_date(move.get("invoice_date") or move.get("date"))
    due = move.get("invoice_date_due")
    product_lines = [line for line in lines if line.get("display_type") in (None, False, "product")]
    if not product_lines:
        raise MappingError(f"{VENDOR} invoice {number} has no invoice lines to book")
    gross = all(tax_of(line).get("price_include") for line in product_lines if line.get("tax_ids"))
    doc = SalesDocument(
        doc_type="credit_note" if is_refund else "invoice",
        source_id=str(move["id"]),
        number=number,
        issue_date=invoice_date,
        due_days=max(0, (odoo_date(due) - invoice_date).days) if due else None,
        currency=_currency(move),
        prices_include_vat=gross,
        vat_treatment=vat_treatment(product_lines, partner),
        party=party(partner),
        lines=tuple(_line(line, sign, gross, groups or {}) for line in product_lines),
        total=sign * decimal(move.get("amount_total")),
        total_vat=sign * decimal(move.get("amount_tax")),
        vat_rounded_per_line=True,
        reference=text(move.get("ref")) or text(move.get("payment_reference")),
        is_paid=move.get("payment_state") in ("paid", "in_payment"),
        payments=tuple(payments),
    )
    return DocumentEvent(
        event_id=f"{SOURCE}:account.move:{move['id']}:posted",
        tenant_id=connection.tenant_id,
        connection_id=connection.connection_id,
        source=SOURCE,
        occurred_at=odoo_datetime(move["write_date"]) if move.get("write_date") else _midnight(invoice_date),
        kind="credit_note.created" if is_refund else "invoice.created",
        payload=doc,
    )


def _line(line: Mapping[str, Any], sign: Decimal, gross: bool, groups: Mapping[int, str]) -> Line:
    tax = tax_of(line)
    quantity = decimal(line.get("quantity")) or Decimal(1)
    unit = decimal(line.get("price_unit"))
    percent = decimal(line.get("discount"))
    product = many2one_id(line.get("product_id"))
    return Line(
        description=text(line.get("name")) or many2one_name(line.get("product_id")) or "Artikel",
        sku=text(line.get("default_code")),
        quantity=sign * quantity,
        unit_price=unit,
        discount=unit * percent / 100,
        amount=sign * decimal(line.get("price_total") if gross else line.get("price_subtotal")),
        vat_rate=vat_rate(tax, line),
        product_group=groups.get(product, "") if product is not None else "",
    )


def _currency(record: Mapping[str, Any]) -> str:
    name = many2one_name(record.get("currency_id")) or "EUR"
    return name.upper()


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# -- till sales -------------------------------------------------------------------------------------------------------
def pos_skip_reason(order: Mapping[str, Any]) -> str:
    if order.get("state") not in ("paid", "done", "invoiced"):
        return f"till order state {order.get('state')!r}: only paid orders are booked"
    if order.get("state") == "invoiced" or many2one_id(order.get("account_move")):
        return "invoiced: booked through its invoice"
    return ""


def payment_method(name: str, is_cash: bool) -> PaymentMethod:
    if is_cash or name.strip().lower() in ("cash", "contant", "kas"):
        return "cash"
    lowered = name.lower()
    if any(word in lowered for word in ("pin", "card", "kaart", "bank", "debit", "credit")):
        return "card"
    if any(word in lowered for word in ("bon", "voucher", "gift", "cadeau")):
        return "voucher"
    return "other"


def pos_payments(payments: Sequence[Mapping[str, Any]], methods: Mapping[int, Mapping[str, Any]]) -> list[Payment]:
    """``pos.payment`` records per method, with the change handed back (negative cash) netted out."""
    by_method: dict[tuple[PaymentMethod, str], tuple[Decimal, date]] = {}
    for paid in payments:
        method_id = many2one_id(paid.get("payment_method_id"))
        method = methods.get(method_id or -1, {})
        name = text(method.get("name")) or many2one_name(paid.get("payment_method_id")) or "Payment"
        kind = payment_method(name, bool(method.get("is_cash_count")))
        day = odoo_datetime(paid["payment_date"]).date() if paid.get("payment_date") else date.today()
        amount, first = by_method.get((kind, name), (ZERO, day))
        by_method[(kind, name)] = (amount + decimal(paid.get("amount")), min(first, day))
    return [
        Payment(method=kind, amount=amount, paid_on=day, description=name)
        for (kind, name), (amount, day) in by_method.items()
        if amount != 0
    ]


def pos_event(
    order: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    partner: Mapping[str, Any] | None,
    payments: Sequence[Payment],
    connection: Connection,
    *,
    groups: Mapping[int, str] | None = None,
    walk_in: str = "Kassaverkoop",
) -> DocumentEvent:
    """A paid till order (``pos.order``) with its lines (``tax_ids`` read) as a document paid on the spot."""
    number = text(order.get("name")) or text(order.get("pos_reference"))
    if not lines:
        raise MappingError(f"{VENDOR} till order {number} has no lines to book")
    sold_at = odoo_datetime(order["date_order"])
    total = decimal(order.get("amount_total"))
    sign = Decimal(-1) if total < 0 else Decimal(1)
    booked_lines = tuple(
        Line(
            description=text(line.get("full_product_name")) or many2one_name(line.get("product_id")) or "Artikel",
            quantity=decimal(line.get("qty")) or Decimal(1),
            unit_price=decimal(line.get("price_unit")),
            discount=decimal(line.get("price_unit")) * decimal(line.get("discount")) / 100,
            amount=decimal(line.get("price_subtotal_incl")),
            vat_rate=vat_rate(tax_of(line), line),
            product_group=groups.get(many2one_id(line.get("product_id")) or -1, "") if groups else "",
        )
        for line in lines
    )
    doc = SalesDocument(
        doc_type="credit_note" if sign < 0 else "invoice",
        source_id=str(order["id"]),
        number=number,
        issue_date=sold_at.date(),
        due_days=0,
        currency=_currency(order),
        prices_include_vat=True,
        vat_treatment="domestic",
        party=party(partner, walk_in),
        lines=booked_lines,
        total=total,
        total_vat=decimal(order.get("amount_tax")),
        vat_rounded_per_line=True,
        description=f"Kassa {number}",
        reference=text(order.get("pos_reference")),
        is_paid=True,
        payments=tuple(payments),
    )
    return DocumentEvent(
        event_id=f"{SOURCE}:pos.order:{order['id']}:paid",
        tenant_id=connection.tenant_id,
        connection_id=connection.connection_id,
        source=SOURCE,
        occurred_at=sold_at,
        kind="credit_note.created" if sign < 0 else "order.completed",
        payload=doc,
    )
