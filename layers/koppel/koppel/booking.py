"""From a source document to a balanced booking: net lines plus VAT per rate that equal the total.

The rules are the bookkeeper's (docs/design.md, "VAT and rounding"):
- prices incl. VAT: per rate, VAT = round(gross × rate / (100 + rate)); net = gross − VAT;
- prices excl. VAT: per rate, VAT = round(net × rate / 100);
- lines carry their share of their rate's VAT; the cent left by line-level rounding goes to the largest line;
- an order-level discount is split over the rates in proportion to the goods it applies to;
- lines without a rate (shipping, costs) follow the main rate of the goods;
- a document whose own parts do not add up to its total is refused, naming the difference.
Targets translate a Booking; none of them recomputes VAT.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING, cast

from pydantic import Field

from koppel.errors import UnbalancedDocumentError
from koppel.model import Amount, Canonical, LineKind, Percentage, SalesDocument, VatCategory
from koppel.money import ZERO, allocate, cents, vat_from_gross, vat_from_net

if TYPE_CHECKING:
    from collections.abc import Iterable

    from koppel.model import Line


class BookedLine(Canonical):
    kind: LineKind
    description: str
    net: Amount
    vat: Amount
    vat_rate: Percentage
    product_group: str = ""
    quantity: Amount = Decimal(1)
    discount_code: str = ""
    vat_category: VatCategory | None = None
    """As on the source line (None: the document's ``vat_treatment`` decides)."""


class VatTotal(Canonical):
    rate: Percentage
    base: Amount
    """Σ net of the lines at this rate (and category)."""
    vat: Amount
    category: VatCategory | None = None
    """A document that mixes categories at one rate (0 % zero-rated and 0 % exempt) has a total for each."""


class Booking(Canonical):
    """A document as it is booked: every amount in cents, Σ net + Σ VAT == total exactly."""

    document: SalesDocument
    lines: tuple[BookedLine, ...] = Field(min_length=1)
    vat_totals: tuple[VatTotal, ...]
    total: Amount

    @property
    def net_total(self) -> Decimal:
        return sum((line.net for line in self.lines), ZERO)

    @property
    def vat_total(self) -> Decimal:
        return sum((v.vat for v in self.vat_totals), ZERO)


Group = tuple[Decimal, str]
"""VAT is computed per rate and category: 0 % exempt and 0 % reverse-charged are booked apart."""


class _Draft(Canonical):
    """A line on its way to being booked: its amount in the document's price basis, rate resolved."""

    kind: LineKind
    description: str
    amount: Amount
    rate: Percentage
    product_group: str = ""
    quantity: Amount = Decimal(1)
    discount_code: str = ""
    category: VatCategory | None = None

    @property
    def group(self) -> Group:
        return self.rate, self.category or ""


def plan_booking(doc: SalesDocument, *, net_discounts_into_lines: bool = False) -> Booking:
    """Turn a source document into a balanced Booking, or raise UnbalancedDocumentError."""
    drafts = _resolve_rates(doc.lines)
    _check_stated_total(doc, drafts)
    _check_payments(doc)
    drafts = _apply_discounts(doc, drafts, net_discounts_into_lines)
    by_group: dict[tuple[Decimal, str], list[_Draft]] = defaultdict(list)
    for draft in drafts:
        by_group[draft.group].append(draft)
    lines: list[BookedLine] = []
    totals: list[VatTotal] = []
    for group in sorted(by_group, key=lambda g: (-g[0], g[1])):
        booked, total = _book_rate(group, by_group[group], prices_include_vat=doc.prices_include_vat)
        lines.extend(booked)
        totals.append(total)
    totals = _follow_stated_vat(doc, totals, lines)
    booked_total = sum((line.net for line in lines), ZERO) + sum((t.vat for t in totals), ZERO)
    if booked_total != cents(doc.total):
        raise UnbalancedDocumentError(
            f"document {doc.number}: total is {cents(doc.total)} but its lines and VAT add up to {booked_total}",
            difference=booked_total - cents(doc.total),
        )
    return Booking(document=doc, lines=tuple(lines), vat_totals=tuple(totals), total=booked_total)


def main_rate(lines: Iterable[Line]) -> Decimal:
    """The rate of the goods with the largest amount (Dutch practice for shipping and costs)."""
    weight: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        if line.kind == "goods" and line.vat_rate is not None:
            weight[line.vat_rate] += abs(line.amount)
    if not weight:
        return max((line.vat_rate for line in lines if line.vat_rate is not None), default=ZERO)
    return max(weight, key=lambda rate: (weight[rate], rate))


def _resolve_rates(lines: tuple[Line, ...]) -> list[_Draft]:
    fallback = main_rate(lines)
    return [
        _Draft(
            kind=line.kind,
            description=line.description,
            amount=line.amount,
            rate=line.vat_rate if line.vat_rate is not None else fallback,
            product_group=line.product_group,
            quantity=line.quantity,
            category=line.vat_category,
        )
        for line in lines
    ]


def _check_stated_total(doc: SalesDocument, drafts: list[_Draft]) -> None:
    """Refuse a document whose parts do not add up to its own total, before anything is booked."""
    discounts = sum((d.amount for d in doc.discounts), ZERO)
    parts = sum((d.amount for d in drafts), ZERO) - discounts
    if doc.prices_include_vat:
        expected = cents(parts)
    else:
        by_group: dict[tuple[Decimal, str], Decimal] = defaultdict(lambda: ZERO)
        for draft in drafts:
            by_group[draft.group] += draft.amount
        net = cents(parts)
        vat = doc.total_vat if doc.total_vat is not None else None
        expected = net + (cents(vat) if vat is not None else _vat_excl(by_group, discounts, drafts))
    difference = cents(doc.total) - expected
    if difference != 0:
        raise UnbalancedDocumentError(
            f"document {doc.number} does not add up: its total is {cents(doc.total)} but its lines, shipping, "
            f"costs and discounts add up to {expected} (difference {difference:+})",
            difference=difference,
        )


def _check_payments(doc: SalesDocument) -> None:
    """Payments made on the spot are booked with the document: together they may settle it, never more."""
    paid = cents(sum((p.amount for p in doc.payments), ZERO))
    total = cents(doc.total)
    if any(p.amount * total < 0 for p in doc.payments) or abs(paid) > abs(total):
        raise UnbalancedDocumentError(
            f"document {doc.number}: its payments add up to {paid} against a total of {total}; a till's change "
            "is not a payment: correct the payments in the source",
            difference=paid - total,
        )


def _vat_excl(by_group: dict[tuple[Decimal, str], Decimal], discounts: Decimal, drafts: list[_Draft]) -> Decimal:
    goods = [d for d in drafts if d.kind == "goods"] or drafts
    shares = _discount_shares(discounts, goods) if discounts else {}
    return sum(
        (vat_from_net(cents(base - shares.get(group, ZERO)), group[0]) for group, base in by_group.items()), ZERO
    )


def _discount_shares(discount: Decimal, goods: list[_Draft]) -> dict[Group, Decimal]:
    weight: dict[Group, Decimal] = defaultdict(lambda: ZERO)
    for draft in goods:
        weight[draft.group] += draft.amount
    groups = sorted(weight, key=lambda g: (-g[0], g[1]))
    parts = allocate(cents(discount), [weight[g] for g in groups])
    return dict(zip(groups, parts, strict=True))


def _apply_discounts(doc: SalesDocument, drafts: list[_Draft], net_into_lines: bool) -> list[_Draft]:
    """Split each document-level discount over the rates of the goods, then book it per rate."""
    goods = [d for d in drafts if d.kind == "goods"] or drafts
    result = list(drafts)
    for discount in doc.discounts:
        for group, share in _discount_shares(discount.amount, goods).items():
            if share == 0:
                continue
            if net_into_lines:
                result = _net_into_lines(result, group, share)
            else:
                label = f"Korting {discount.code}".strip() if discount.code else discount.description
                result.append(
                    _Draft(
                        kind="discount", description=label, amount=-share, rate=group[0],
                        category=_category(group), discount_code=discount.code,
                    )
                )  # fmt: skip
    return result


def _category(group: Group) -> VatCategory | None:
    return cast("VatCategory", group[1]) if group[1] else None


def _net_into_lines(drafts: list[_Draft], group: Group, share: Decimal) -> list[_Draft]:
    targets = [i for i, d in enumerate(drafts) if d.kind == "goods" and d.group == group]
    parts = allocate(share, [drafts[i].amount for i in targets])
    result = list(drafts)
    for i, part in zip(targets, parts, strict=True):
        result[i] = result[i].model_copy(update={"amount": result[i].amount - part})
    return result


def _book_rate(group: Group, drafts: list[_Draft], *, prices_include_vat: bool) -> tuple[list[BookedLine], VatTotal]:
    rate = group[0]
    amounts = [cents(d.amount) for d in drafts]
    subtotal = sum(amounts, ZERO)
    if prices_include_vat:
        vat = vat_from_gross(subtotal, rate)
        line_vats = [vat_from_gross(a, rate) for a in amounts]
        nets = [a - v for a, v in zip(amounts, line_vats, strict=True)]
    else:
        vat = vat_from_net(subtotal, rate)
        line_vats = [vat_from_net(a, rate) for a in amounts]
        nets = list(amounts)
    _give_rounding_to_largest(line_vats, nets, amounts, vat, shift_net=prices_include_vat)
    booked = [
        BookedLine(
            kind=d.kind,
            description=d.description,
            net=net,
            vat=line_vat,
            vat_rate=rate,
            product_group=d.product_group,
            quantity=d.quantity,
            discount_code=d.discount_code,
            vat_category=d.category,
        )
        for d, net, line_vat in zip(drafts, nets, line_vats, strict=True)
    ]
    base = sum(nets, ZERO)
    return booked, VatTotal(rate=rate, base=base, vat=vat, category=_category(group))


def _give_rounding_to_largest(
    line_vats: list[Decimal], nets: list[Decimal], amounts: list[Decimal], vat: Decimal, *, shift_net: bool
) -> None:
    """Line VAT rounded per line can differ from the rate's VAT by a cent or two: the largest line absorbs it."""
    residual = vat - sum(line_vats, ZERO)
    if residual == 0:
        return
    largest = max(range(len(amounts)), key=lambda i: (abs(amounts[i]), -i))
    line_vats[largest] += residual
    if shift_net:
        nets[largest] -= residual


def _follow_stated_vat(doc: SalesDocument, totals: list[VatTotal], lines: list[BookedLine]) -> list[VatTotal]:
    """A source that rounds VAT per line (Odoo, most tills) may state a VAT total a cent or so away from ours.

    The bookkeeper's invoice says what the VAT is, so the booking follows the source's VAT total, and the
    difference is booked on the rate with the largest base (visible, never hidden). Prices excl. VAT: the total
    moves with it, as the source's own total does. Prices incl. VAT: the total stays, and the net of that rate gives
    the cent to the VAT."""
    if doc.total_vat is None or (doc.prices_include_vat and not doc.vat_rounded_per_line):
        return totals
    difference = cents(doc.total_vat) - sum((t.vat for t in totals), ZERO)
    if difference == 0 or not totals:
        return totals
    if abs(difference) > Decimal("0.01") * max(len(lines), 1):
        raise UnbalancedDocumentError(
            f"document {doc.number}: stated VAT {cents(doc.total_vat)} is {difference:+} away from the VAT on its "
            "lines, more than per-line rounding explains",
            difference=difference,
        )
    taxed = [i for i in range(len(totals)) if totals[i].rate != 0] or list(range(len(totals)))
    largest = max(taxed, key=lambda i: (abs(totals[i].base), totals[i].rate))
    net_shift = -difference if doc.prices_include_vat else ZERO
    adjusted = totals[largest].model_copy(
        update={"vat": totals[largest].vat + difference, "base": totals[largest].base + net_shift}
    )
    rate_lines = [i for i, line in enumerate(lines) if line.vat_rate == adjusted.rate]
    if rate_lines:
        i = max(rate_lines, key=lambda j: abs(lines[j].net))
        lines[i] = lines[i].model_copy(update={"vat": lines[i].vat + difference, "net": lines[i].net + net_shift})
    return [adjusted if i == largest else t for i, t in enumerate(totals)]
