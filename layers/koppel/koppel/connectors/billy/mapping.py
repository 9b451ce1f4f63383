"""Pure: a Booking as Billy's contact, product and invoice (or credit note) bodies, written the way whose VAT Billy
will compute as the booking's (reconcile.py holds Billy's arithmetic and the check of its answer).

Billy computes every line's VAT itself, from the product's sales-tax ruleset and the contact, rounded per line
[V: a line's ``amount`` and ``tax`` are read-only; I: the rounding]. So before anything is sent, ``choose_layout``
predicts Billy's arithmetic for a few ways of writing the same booking and takes the first whose net and VAT per
rate are the booking's to the cent: the document's lines in its own price basis, the lines in the other basis, one
line per rate excluding VAT, one line per rate including it. After Billy answered, ``reconcile.differences``
compares what it holds with the booking; any difference keeps the invoice a draft.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from koppel.booking import main_rate
from koppel.connectors.billy.reconcile import expected, predict, sign
from koppel.connectors.billy.settings import VENDOR, BillySettings, rate_key
from koppel.errors import MappingError, PermanentError
from koppel.money import ZERO, cents

if TYPE_CHECKING:
    from koppel.booking import BookedLine, Booking
    from koppel.model import Line, Party

TaxMode = Literal["incl", "excl"]
MAX_DESCRIPTION = 250


@dataclass(frozen=True)
class Planned:
    """One line as it will be sent: its product key, its amounts in the layout's basis, and the VAT rate it books."""

    product_key: str
    """The line's SKU (Billy's ``productNo``), or ``KOPPEL-<KIND>-<rate>`` for a line without one."""
    product_name: str
    description: str
    rate: Decimal
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal = ZERO
    """A cash discount off the line (Billy's ``discountMode: cash``), in the layout's basis."""

    @property
    def total(self) -> Decimal:
        return cents(self.quantity * self.unit_price - self.discount)


@dataclass(frozen=True)
class Layout:
    name: str
    tax_mode: TaxMode
    lines: tuple[Planned, ...]


def invoice_number(number: str, settings: BillySettings) -> str:
    return f"{settings.invoice_number_prefix}{number}"


# -- layouts ---------------------------------------------------------------------------------------------------------
def choose_layout(booking: Booking) -> Layout:
    """The first way of writing the booking whose predicted net and VAT per rate are the booking's to the cent."""
    goal = expected(booking)
    candidates = layouts(booking)
    for layout in candidates:
        if predict(layout) == goal:
            return layout
    shown = ", ".join(f"{rate} %: net {net}, VAT {vat}" for rate, (net, vat) in sorted(goal.items()))
    raise PermanentError(
        f"{VENDOR} computes VAT per line from its products' rulesets, and no way of writing document "
        f"{booking.document.number} makes its VAT come out as the booking's ({shown}): book it by hand in {VENDOR}"
    )


def layouts(booking: Booking) -> list[Layout]:
    incl: TaxMode = "incl" if booking.document.prices_include_vat else "excl"
    other: TaxMode = "excl" if incl == "incl" else "incl"
    per_line = per_line_layout(booking, incl, detailed=True)
    return [
        per_line,
        per_line_layout(booking, other, detailed=False),
        per_rate_layout(per_line, "excl", booking),
        per_rate_layout(per_line, "incl", booking),
    ]


def per_line_layout(booking: Booking, mode: TaxMode, *, detailed: bool) -> Layout:
    turn = sign(booking)
    sources = source_lines(booking)
    planned = []
    for booked, source in zip(booking.lines, sources, strict=True):
        amount = turn * (booked.net + booked.vat if mode == "incl" else booked.net)
        line = _priced(booked, source, amount, booking.document.vat_treatment)
        named = [
            d.description for d in booking.document.discounts if booked.discount_code and d.code == booked.discount_code
        ]
        if booked.kind == "discount" and named:
            line = replace(line, description=named[0][:MAX_DESCRIPTION])
        if detailed and source is not None and turn > 0:
            line = _with_discount(line, source, amount)
        planned.append(line)
    return Layout(f"lines {mode}", mode, tuple(planned))


def products_of(layout: Layout) -> dict[str, Planned]:
    """Each product the layout needs once, by its key, with the first line that uses it."""
    firsts: dict[str, Planned] = {}
    for line in layout.lines:
        firsts.setdefault(line.product_key, line)
    return firsts


def per_rate_layout(per_line: Layout, mode: TaxMode, booking: Booking) -> Layout:
    """One line per rate: its net (excl) or gross (incl) as one amount, on the product of the rate's first line."""
    turn = sign(booking)
    lines = []
    for total in booking.vat_totals:
        key = rate_key(total.rate)
        first = next(line for line in per_line.lines if rate_key(line.rate) == key)
        texts = [line.description for line in per_line.lines if rate_key(line.rate) == key]
        amount = turn * (total.base + total.vat if mode == "incl" else total.base)
        description = ", ".join(texts)[:MAX_DESCRIPTION]
        lines.append(replace(first, description=description, quantity=Decimal(1), unit_price=amount, discount=ZERO))
    return Layout(f"one line per rate {mode}", mode, tuple(lines))


def source_lines(booking: Booking) -> list[Line | None]:
    """The document line each booked line came from (None for a document discount): plan_booking keeps the lines in
    the document's order within each rate, and adds the discounts after them."""
    doc = booking.document
    fallback = main_rate(doc.lines)
    queues: dict[str, list[Line]] = defaultdict(list)
    for line in doc.lines:
        queues[rate_key(line.vat_rate if line.vat_rate is not None else fallback)].append(line)
    found: list[Line | None] = []
    for booked in booking.lines:
        queue = queues[rate_key(booked.vat_rate)]
        if booked.kind != "discount" and queue and queue[0].description == booked.description:
            found.append(queue.pop(0))
        else:
            found.append(None)
    return found


def _priced(booked: BookedLine, source: Line | None, amount: Decimal, treatment: str) -> Planned:
    """A line without a SKU books on Koppel's product of its kind, rate and treatment: the product's ruleset decides
    Billy's VAT, so a product made for an intra-EU sale is never reused for a domestic one."""
    sku = source.sku.strip() if source is not None else ""
    rate = rate_key(booked.vat_rate)
    own = "" if treatment == "domestic" else treatment
    key = sku or "-".join(filter(None, ("KOPPEL", booked.kind, rate, own))).upper().replace("_", "-")
    name = booked.description if sku else f"{booked.kind.capitalize()} {rate} % {own}".replace("_", " ").strip()
    quantity = booked.quantity if booked.quantity > 0 else Decimal(1)
    unit = amount / quantity
    if cents(unit) != unit or cents(unit * quantity) != amount:
        quantity, unit = Decimal(1), amount
    return Planned(key, name, booked.description[:MAX_DESCRIPTION], booked.vat_rate, quantity, cents(unit))


def _with_discount(line: Planned, source: Line, amount: Decimal) -> Planned:
    """A row discount as Billy takes it (a cash amount off the line), when the source's unit price and discount
    give exactly the booked amount in this basis."""
    if source.discount <= 0 or cents(source.unit_price) != source.unit_price:
        return line
    off = source.discount * source.quantity
    if cents(off) != off or cents(source.unit_price * source.quantity - off) != amount:
        return line
    return replace(line, quantity=source.quantity, unit_price=source.unit_price, discount=off)


# -- request bodies --------------------------------------------------------------------------------------------------
def invoice_body(
    booking: Booking,
    layout: Layout,
    contact_id: str,
    product_ids: dict[str, str],
    settings: BillySettings,
    credited_invoice_id: str | None = None,
) -> dict[str, Any]:
    doc = booking.document
    body: dict[str, Any] = {
        "type": "creditNote" if doc.doc_type == "credit_note" else "invoice",
        "invoiceNo": invoice_number(doc.number, settings),
        "contactId": contact_id,
        "entryDate": doc.issue_date.isoformat(),
        "paymentTermsDays": doc.due_days if doc.due_days is not None else settings.payment_terms_days,
        "currencyId": doc.currency,
        "taxMode": layout.tax_mode,
        "state": "draft",
        "lines": [_line_body(i, line, product_ids, settings) for i, line in enumerate(layout.lines, start=1)],
    }
    if credited_invoice_id:
        body["creditedInvoiceId"] = credited_invoice_id
    if doc.reference or doc.description:
        body["contactMessage"] = (doc.description or doc.reference)[:MAX_DESCRIPTION]
    return body


def _line_body(priority: int, line: Planned, product_ids: dict[str, str], settings: BillySettings) -> dict[str, Any]:
    body: dict[str, Any] = {
        "productId": product_ids[line.product_key],
        "description": line.description,
        "quantity": line.quantity,
        "unitPrice": line.unit_price,
        "priority": priority,
    }
    if line.discount:
        body |= {"discountMode": "cash", "discountValue": line.discount}
    rate_id = settings.tax_rates.get(rate_key(line.rate))
    if settings.line_tax_rate == "send" and rate_id:
        body["taxRateId"] = rate_id
    return body


def product_body(line: Planned, ruleset_id: str, currency: str, settings: BillySettings) -> dict[str, Any]:
    body: dict[str, Any] = {"name": line.product_name[:MAX_DESCRIPTION], "productNo": line.product_key}
    body["salesTaxRulesetId"] = ruleset_id
    if settings.sales_account_id:
        body["accountId"] = settings.sales_account_id
    if not line.product_key.startswith("KOPPEL-"):
        body["prices"] = [{"unitPrice": abs(line.unit_price), "currencyId": currency}]
    return body


def ruleset_for(line: Planned, treatment: str, settings: BillySettings) -> str:
    found = settings.ruleset(line.rate, treatment)
    if not found:
        raise MappingError(
            f"VAT rate {rate_key(line.rate)} %, which has no {VENDOR} sales tax ruleset: map it in the connection's "
            "tax_rulesets (VAT rate → ruleset id) or book the document by hand"
        )
    return found


def contact_body(party: Party, settings: BillySettings) -> dict[str, Any]:
    address = party.billing_address
    body: dict[str, Any] = {
        "type": "company" if party.is_business or party.vat_number else "person",
        "name": party.name.strip(),
        "countryId": address.country_code or settings.organization_country,
        "isCustomer": True,
    }
    optional = {
        "street": address.street, "zipcodeText": address.postcode, "cityText": address.city,
        "phone": party.phone or party.mobile, "registrationNo": party.vat_number.replace(" ", "").upper(),
        "contactNo": party.code,
    }  # fmt: skip
    body |= {key: value for key, value in optional.items() if value}
    return body | contact_persons(party)


def contact_persons(party: Party) -> dict[str, Any]:
    """Billy keeps e-mail only on a contact's persons: the party's e-mail (and contact name) as its primary one."""
    if not (party.email or party.contact_name):
        return {}
    person = {"name": party.contact_name or party.name, "isPrimary": True}
    return {"contactPersons": [person | ({"email": party.email.strip()} if party.email else {})]}
