"""Pure: an approved Billy invoice or credit note (with its lines, their tax rates and products, and its contact
embedded) as the canonical document event. Also used by ``koppel preview``.

Billy computes every line's ``amount`` (net) and ``tax`` itself and rounds them per line [V read-only; I the
rounding, reconcile.py]; the invoice's ``amount``, ``tax`` and ``grossAmount`` are their sums. The document states
each line in the invoice's own price basis (``taxMode``: incl → the line's gross, excl → its net) at the rate of its
tax rate, the total as ``grossAmount`` and the VAT as ``tax``, rounded per line: so ``plan_booking`` books Billy's
own VAT to the cent. A credit note carries positive amounts in Billy [I] and negative ones here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from koppel.booking import plan_booking
from koppel.connectors.billy.fields import primary_person
from koppel.connectors.billy.reconcile import HUNDRED, money
from koppel.connectors.billy.settings import SYSTEM, VENDOR
from koppel.errors import PermanentError
from koppel.model import Address, DocumentEvent, Line, Party, SalesDocument
from koppel.money import ZERO, cents

if TYPE_CHECKING:
    from collections.abc import Mapping

    from koppel.model import Connection

INCLUDE = ",".join((
    "invoice.lines:embed", "invoiceLine.taxRate:embed", "invoiceLine.product:embed", "invoice.contact:embed",
    "contact.contactPersons:embed", "invoice.creditedInvoice:embed",
))  # fmt: skip
"""One request's worth of an invoice: its lines with their tax rate and product, its contact with the contact
persons (the e-mail), and the invoice a credit note credits (its number) [V the include syntax; I that Billy
embeds a line's belongs-to this deep]."""
UNIT_PLACES = Decimal("0.000001")


def event_id(invoice: Mapping[str, Any]) -> str:
    """``billy:invoice:<id>:approved``: an approved invoice cannot change what it books [V], so one id for ever."""
    return f"{SYSTEM}:invoice:{invoice.get('id')}:approved"


def approved_at(invoice: Mapping[str, Any]) -> datetime | None:
    """``approvedTime`` (``2025-11-12T04:37:46``, UTC [I: Billy writes no zone]), or None for a draft."""
    raw = invoice.get("approvedTime")
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(str(raw).replace(" ", "T").replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_credit(invoice: Mapping[str, Any]) -> bool:
    return invoice.get("type") == "creditNote"


def invoice_event(invoice: Mapping[str, Any], rates: Mapping[str, Decimal], connection: Connection) -> DocumentEvent:
    """The approved invoice as a document event, or PermanentError saying what to correct in Billy. ``rates`` are the
    organization's tax rates (id → percentage) for a line whose tax rate is not embedded."""
    where = f"{VENDOR} {'credit note' if is_credit(invoice) else 'invoice'} {invoice.get('invoiceNo') or ''}".strip()
    where = f"{where} (id {invoice.get('id')})"
    if invoice.get("state") != "approved" or approved_at(invoice) is None:
        raise PermanentError(f"{where} is not approved: only approved invoices are booked")
    number = str(invoice.get("invoiceNo") or "").strip()
    if not number:
        raise PermanentError(f"{where} has no invoice number (invoiceNo)")
    gross = money(invoice.get("grossAmount"))
    turn = Decimal(-1) if is_credit(invoice) and gross > 0 else Decimal(1)
    incl = invoice.get("taxMode") == "incl"
    lines = [_line(row, rates, incl, turn, f"{where}, line {i}") for i, row in enumerate(_rows(invoice, where), 1)]
    issued = _date(invoice.get("entryDate"), f"{where} has no entry date (entryDate)")
    due = _date(invoice.get("dueDate"), "") if invoice.get("dueDate") else None
    credited = invoice.get("creditedInvoice")
    document = SalesDocument(
        doc_type="credit_note" if is_credit(invoice) else "invoice",
        source_id=str(invoice["id"]),
        number=number,
        issue_date=issued,
        due_days=(due - issued).days if due is not None and due >= issued else None,
        currency=str(invoice.get("currencyId") or ""),
        prices_include_vat=incl,
        party=party(invoice.get("contact"), where),
        lines=tuple(lines),
        total=turn * gross,
        total_vat=turn * money(invoice.get("tax")),
        vat_rounded_per_line=True,
        description=str(invoice.get("contactMessage") or "")[:250],
        reference=str((credited or {}).get("invoiceNo") or invoice.get("orderNo") or "")[:100],
        is_paid=invoice.get("isPaid") is True,
    )
    plan_booking(document)  # the balance guard: what Billy computed must add up before anything is sent
    return DocumentEvent(
        event_id=event_id(invoice),
        kind="credit_note.created" if is_credit(invoice) else "invoice.created",
        tenant_id=connection.tenant_id,
        connection_id=connection.connection_id,
        source=SYSTEM,
        occurred_at=approved_at(invoice) or connection.created_at,
        payload=document,
    )


def _rows(invoice: Mapping[str, Any], where: str) -> list[Mapping[str, Any]]:
    rows = [row for row in invoice.get("lines") or [] if isinstance(row, dict)]
    if not rows:
        raise PermanentError(f"{where} has no lines (read with include=invoice.lines:embed)")
    return sorted(rows, key=lambda row: int(row.get("priority") or 0))


def _line(row: Mapping[str, Any], rates: Mapping[str, Decimal], incl: bool, turn: Decimal, where: str) -> Line:
    """One line in the invoice's basis, at Billy's amounts: net (excl) or net + VAT (incl)."""
    quantity = _number(row.get("quantity"), Decimal(1), where, "quantity")
    unit = _number(row.get("unitPrice"), None, where, "unitPrice")
    net, tax = money(row.get("amount")), money(row.get("tax"))
    amount = net + tax if incl else net
    embedded = row.get("product")
    product: Mapping[str, Any] = embedded if isinstance(embedded, dict) else {}
    text = str(row.get("description") or product.get("name") or "").strip() or where.rsplit(", ", 1)[-1]
    return Line(
        description=text[:250],
        sku=str(product.get("productNo") or ""),
        quantity=quantity,
        unit_price=turn * unit,
        discount=turn * _per_unit(row, quantity, unit, amount),
        amount=turn * cents(amount),
        vat_rate=_rate(row, rates, tax, where),
    )


def _per_unit(row: Mapping[str, Any], quantity: Decimal, unit: Decimal, amount: Decimal) -> Decimal:
    """The line's discount per unit: Billy takes a cash amount off the line or a percentage of it (``discountMode``
    ``cash`` | ``percent`` [I the values]); else whatever is between its price and its amount."""
    value = money(row.get("discountValue")) if row.get("discountValue") is not None else None
    if value is not None and row.get("discountMode") == "percent":
        off = quantity * unit * value / HUNDRED
    elif value is not None and row.get("discountMode") == "cash":
        off = value
    else:
        off = quantity * unit - amount
    return (off / quantity).quantize(UNIT_PLACES, rounding=ROUND_HALF_UP).normalize() if quantity and off else ZERO


def _rate(row: Mapping[str, Any], rates: Mapping[str, Decimal], tax: Decimal, where: str) -> Decimal:
    """The percentage of the line's tax rate; a line without one carries no VAT."""
    embedded = row.get("taxRate")
    if isinstance(embedded, dict) and embedded.get("rate") is not None:
        rate = percentage(embedded["rate"])
    elif row.get("taxRateId") is None:
        if tax != 0:
            raise PermanentError(f"{where} has {tax} VAT but no tax rate (taxRateId)")
        rate = ZERO
    else:
        rate = rates.get(str(row["taxRateId"]), Decimal(-1))
    if not ZERO <= rate <= HUNDRED:
        raise PermanentError(f"{where} has tax rate {row.get('taxRateId')}, which is not one of the organization's")
    return rate


def percentage(fraction: Any) -> Decimal:
    """Billy's ``0.25`` as 25, ``0.125`` as 12.5 [I: rates are fractions]."""
    value = Decimal(str(fraction)) * HUNDRED
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def party(contact: Any, where: str) -> Party:
    """The contact: a company is a business, its ``registrationNo`` its VAT number; the primary contact person's
    e-mail and name."""
    if not isinstance(contact, dict) or not contact.get("id"):
        raise PermanentError(f"{where}: its contact was not read (include=invoice.contact:embed)")
    who = f"{where}'s contact {contact.get('name') or contact['id']}"
    country = str(contact.get("countryId") or "").strip().upper()
    if country and (len(country) != 2 or not country.isalpha()):
        raise PermanentError(f"{who} has country {contact.get('countryId')!r}, not a two-letter ISO code: correct it")
    person = primary_person(contact) or {}
    company = contact.get("type") == "company"
    return Party(
        source_id=str(contact["id"]),
        code=str(contact.get("contactNo") or ""),
        name=str(contact.get("name") or "").strip() or str(contact["id"]),
        contact_name=str(person.get("name") or "") if company else "",
        email=str(person.get("email") or "").strip() or None,
        phone=str(contact.get("phone") or ""),
        is_business=company,
        vat_number="".join(str(contact.get("registrationNo") or "").split()).upper(),
        billing_address=_address(contact, country),
    )


def _address(contact: Mapping[str, Any], country: str) -> Address:
    return Address(
        street=" ".join(str(contact.get("street") or "").split()),
        postcode=str(contact.get("zipcodeText") or ""),
        city=str(contact.get("cityText") or ""),
        country_code=country or None,
    )


def _number(value: Any, default: Decimal | None, where: str, name: str) -> Decimal:
    if value is None and default is not None:
        return default
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise PermanentError(f"{where}: {name} {value!r} is not a number") from None


def _date(value: Any, missing: str) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise PermanentError(missing or f"{value!r} is not a date") from None
