"""Pure: a booking as the Simply CRM Invoice Koppel writes (its lines, tax type and adjustment), vtiger's arithmetic
predicted, and what vtiger holds reconciled with the booking to the cent. README.md has the API facts.

vtiger does not round taxes [V, vtiger 7 ``VtigerLineItemOperation::updateParent``; the sandbox plays it]: a line is
``listprice × quantity − discount_amount``; its tax ``line × taxN / 100`` is kept to 8 decimals, and
``hdnGrandTotal = Σ lines + Σ taxes + txtAdjustment``. The booking rounds VAT per rate to cents (docs/design.md,
"VAT and rounding"): a document whose VAT per rate is vtiger's rounded to cents is written with the sub-cent rest
as the invoice's adjustment (``txtAdjustment``), so vtiger's total is the booking's exactly; one whose VAT per rate
differs from that by a cent or more (VAT computed from prices incl. VAT, or rounded per line) is refused before
anything is written: vtiger cannot hold it. A credit note is written with positive amounts and the credit
status, the way Simply CRM's own credit invoices are read (``mapping.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from koppel.connectors.billy.mapping import source_lines
from koppel.connectors.simplycrm.fields import decimal, text
from koppel.errors import MappingError
from koppel.money import HUNDRED, ZERO, cents

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from koppel.booking import BookedLine, Booking
    from koppel.model import Line

MAX_COMMENT = 250
TAXES = ("tax1", "tax2", "tax3")
PART_NUMBER = "productcode"
"""Products' "Part Number": stock, editable; where Koppel keeps a SKU on a product it creates (``product_no`` is
numbered by Simply CRM itself and cannot be set [V, sandbox schema; vtiger 7 ``modentity_num``])."""


@dataclass(frozen=True)
class Planned:
    """One invoice line as it is sent: its product key (a SKU, or ``Koppel <kind>``), amounts, rate, comment."""

    sku: str
    product_name: str
    comment: str
    rate: Decimal
    quantity: Decimal
    listprice: Decimal
    discount: Decimal = ZERO
    """A cash discount off the line (``discount_amount``)."""

    @property
    def net(self) -> Decimal:
        return self.quantity * self.listprice - self.discount

    @property
    def key(self) -> str:
        return self.sku or self.product_name


@dataclass(frozen=True)
class Plan:
    lines: tuple[Planned, ...]
    tax_type: str
    """``group`` when every line has one rate, else ``individual``."""
    adjustment: Decimal
    """The booking's rounded VAT less vtiger's unrounded tax (``txtAdjustment``)."""


def sign(booking: Booking) -> Decimal:
    return Decimal(-1) if booking.document.doc_type == "credit_note" else Decimal(1)


def plan(booking: Booking) -> Plan:
    turn = sign(booking)
    lines = tuple(
        _planned(booked, source, turn, booking.document.prices_include_vat)
        for booked, source in zip(booking.lines, source_lines(booking), strict=True)
    )
    unrounded = predict(lines)
    wrong = [
        f"{total.rate.normalize()} %: vtiger computes {cents(unrounded[total.rate][1])} on the net "
        f"{turn * total.base}, the document says {turn * total.vat}"
        for total in booking.vat_totals
        if total.rate in unrounded and cents(unrounded[total.rate][1]) != turn * total.vat
    ]
    if wrong:
        raise MappingError(
            f"Simply CRM computes the VAT of each rate from its net and cannot hold document "
            f"{booking.document.number}'s VAT to the cent ({'; '.join(wrong)}): nothing was written; enter it in "
            "Simply CRM by hand with an adjustment of the difference"
        )
    adjustment = turn * booking.vat_total - sum((tax for _, tax in unrounded.values()), ZERO)
    tax_type = "group" if len({line.rate for line in lines}) == 1 else "individual"
    return Plan(lines, tax_type, adjustment)


def _planned(booked: BookedLine, source: Line | None, turn: Decimal, incl: bool) -> Planned:
    net = turn * booked.net
    sku = source.sku.strip() if source is not None else ""
    name = booked.description if sku else f"Koppel {booked.kind}"
    quantity = booked.quantity if booked.quantity > 0 else Decimal(1)
    price = net / quantity
    if cents(price) != price or cents(price) * quantity != net:
        quantity, price = Decimal(1), net
    line = Planned(sku, name[:100], booked.description[:MAX_COMMENT], booked.vat_rate, quantity, price)
    if source is None or incl or source.discount <= 0:
        return line
    listprice = turn * source.unit_price
    off = listprice * source.quantity - net  # the source's discount, as its rounded line amount leaves it
    stated = turn * source.discount * source.quantity
    if cents(listprice) == listprice and cents(off) == off and off > ZERO and abs(off - stated) < Decimal("0.01"):
        return replace(line, quantity=source.quantity, listprice=listprice, discount=off)
    return line


def predict(lines: Sequence[Planned]) -> dict[Decimal, tuple[Decimal, Decimal]]:
    """(net, tax) per rate as vtiger computes them: unrounded."""
    sums: dict[Decimal, tuple[Decimal, Decimal]] = {}
    for line in lines:
        net, tax = sums.get(line.rate, (ZERO, ZERO))
        sums[line.rate] = (net + line.net, tax + line.net * line.rate / HUNDRED)
    return sums


def line_items(planned: Plan, products: Mapping[str, str]) -> list[dict[str, str]]:
    """``LineItems`` of the create: each line on its product, its rate as ``tax1`` (vtiger takes a line's tax
    percentages from the line [V, sandbox; vtiger 7 ``VtigerInventoryOperation``])."""
    items = []
    for line in planned.lines:
        item = {
            "productid": products[line.key], "quantity": format(line.quantity.normalize(), "f"),
            "listprice": str(cents(line.listprice)),
            "comment": line.comment, "tax1": str(line.rate),
        }  # fmt: skip
        if line.discount:
            item["discount_amount"] = str(cents(line.discount))
        items.append(item)
    return items


# -- what vtiger holds ------------------------------------------------------------------------------------------------
def held(invoice: Mapping[str, Any]) -> dict[Decimal, tuple[Decimal, Decimal]]:
    """(net, tax) per rate of the invoice's ``LineItems`` as vtiger computes them (vtiger's tax type decides whether
    a line's own rate or the group rate applies)."""
    where = f"invoice {text(invoice, 'invoice_no')}"
    items = [item for item in invoice.get("LineItems") or [] if isinstance(item, dict)]
    rates = [sum((decimal(item, tax, where) for tax in TAXES), ZERO) for item in items]
    if text(invoice, "hdnTaxType").lower() != "individual":
        named = [rate for rate in rates if rate]
        rates = [named[-1] if named else ZERO] * len(items)
    sums: dict[Decimal, tuple[Decimal, Decimal]] = {}
    for item, rate in zip(items, rates, strict=True):
        gross = decimal(item, "listprice", where) * decimal(item, "quantity", where)
        off = decimal(item, "discount_amount", where) or gross * decimal(item, "discount_percent", where) / HUNDRED
        net, tax = sums.get(rate.normalize(), (ZERO, ZERO))
        sums[rate.normalize()] = (net + gross - off, tax + (gross - off) * rate / HUNDRED)
    return sums


def differences(booking: Booking, planned: Plan, invoice: Mapping[str, Any]) -> list[str]:
    """What vtiger holds against the booking, in words; [] when they agree to the cent: per rate the net and the
    (unrounded) tax rounded to cents, the adjustment, and the total."""
    turn = sign(booking)
    where = f"invoice {text(invoice, 'invoice_no')}"
    found: list[str] = []
    items = [item for item in invoice.get("LineItems") or [] if isinstance(item, dict)]
    if len(items) != len(planned.lines):
        found.append(f"{len(items)} lines where {len(planned.lines)} were sent")
    holds = held(invoice)
    goal = {total.rate.normalize(): (turn * total.base, turn * total.vat) for total in booking.vat_totals}
    for rate in sorted(set(goal) | set(holds)):
        (net, vat), (got_net, got_tax) = goal.get(rate, (ZERO, ZERO)), holds.get(rate, (ZERO, ZERO))
        if cents(got_net) != net:
            found.append(f"net at {rate} % is {cents(got_net)} where the booking says {net}")
        if cents(got_tax) != vat:
            found.append(f"tax at {rate} % is {cents(got_tax)} where the booking says {vat}")
    stated = (  # not pre_tax_total: with individual taxes vtiger's includes them [V, sandbox; vtiger 7 updateParent]
        ("txtAdjustment", cents(planned.adjustment)),
        ("hdnGrandTotal", turn * booking.total),
    )
    for name, wanted in stated:
        value = cents(decimal(invoice, name, where))
        if name in invoice and value != wanted:
            found.append(f"{name} is {value} where the booking says {wanted}")
    if "hdnGrandTotal" not in invoice:
        found.append("no hdnGrandTotal in the answer")
    return found
