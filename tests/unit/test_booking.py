from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from koppel.booking import plan_booking
from koppel.errors import UnbalancedDocumentError
from koppel.model import Discount, Line, Party, Payment, SalesDocument
from tests.fakes import a_document

D = Decimal


def goods(description: str, amount: str, rate: int, quantity: int = 1) -> Line:
    return Line(
        description=description,
        quantity=D(quantity),
        unit_price=D(amount) / quantity,
        amount=D(amount),
        vat_rate=D(rate),
    )


def test_prices_incl_vat_book_net_lines_and_vat_per_rate() -> None:
    # Given an order of € 49.90 coffee at 9 % and € 5.95 shipping without a rate of its own
    doc = a_document()
    # When it is planned
    booking = plan_booking(doc)
    # Then shipping follows the goods' 9 %, VAT is computed once per rate, and everything adds up to the total
    assert [(line.kind, line.vat_rate) for line in booking.lines] == [("goods", D(9)), ("shipping", D(9))]
    assert [(t.rate, t.base, t.vat) for t in booking.vat_totals] == [(D(9), D("51.24"), D("4.61"))]
    assert booking.net_total + booking.vat_total == booking.total == D("55.85")


def test_cent_left_by_line_rounding_goes_to_the_largest_line() -> None:
    # Given three lines at 21 % whose per-line VAT rounds up to one cent more than the VAT of their sum
    doc = a_document(
        lines=(goods("A", "0.10", 21), goods("B", "0.10", 21), goods("C", "10.00", 21)),
        total=D("10.20"),
    )
    # When it is planned
    booking = plan_booking(doc)
    # Then the rate's VAT is round(10.20 × 21/121) = 1.77, the lines carry 1.77 in all, the largest absorbs the cent
    assert booking.vat_totals[0].vat == D("1.77")
    assert sum(line.vat for line in booking.lines) == D("1.77")
    assert [line.net for line in booking.lines] == [D("0.08"), D("0.08"), D("8.27")]


def test_order_discount_is_split_over_rates_in_proportion_to_gross() -> None:
    # Given € 100 of 21 % goods, € 50 of 9 % goods and a € 15 coupon
    doc = a_document(
        lines=(goods("Tas", "100.00", 21), goods("Boek", "50.00", 9)),
        discounts=(Discount(description="Kortingscode", code="WELKOM15", amount=D("15.00")),),
        total=D("135.00"),
    )
    # When it is planned
    booking = plan_booking(doc)
    # Then the coupon reduces the 21 % base by € 10 gross and the 9 % base by € 5 gross
    discounts = [(line.vat_rate, line.net + line.vat) for line in booking.lines if line.kind == "discount"]
    assert discounts == [(D(21), D("-10.00")), (D(9), D("-5.00"))]
    assert {t.rate: t.vat for t in booking.vat_totals} == {D(21): D("15.62"), D(9): D("3.72")}
    assert booking.net_total + booking.vat_total == D("135.00")


def test_discount_can_be_netted_into_the_lines() -> None:
    doc = a_document(
        lines=(goods("Tas", "100.00", 21), goods("Boek", "50.00", 9)),
        discounts=(Discount(description="Korting", amount=D("15.00")),),
        total=D("135.00"),
    )
    booking = plan_booking(doc, net_discounts_into_lines=True)
    assert [line.kind for line in booking.lines] == ["goods", "goods"]
    assert [line.net + line.vat for line in booking.lines] == [D("90.00"), D("45.00")]


def test_prices_excl_vat_add_vat_per_rate() -> None:
    # Given a B2B order priced excluding VAT: € 100 at 21 % and € 10 at 9 %
    doc = a_document(
        prices_include_vat=False,
        lines=(goods("Advies", "100.00", 21), goods("Boek", "10.00", 9)),
        total=D("131.90"),
    )
    booking = plan_booking(doc)
    # Then nets are the source amounts and VAT is added per rate
    assert [line.net for line in booking.lines] == [D("100.00"), D("10.00")]
    assert {t.rate: t.vat for t in booking.vat_totals} == {D(21): D("21.00"), D(9): D("0.90")}


def test_excl_vat_source_rounding_per_line_is_followed_visibly() -> None:
    # Given a source that rounds VAT per line: 3 × 0.07 net at 21 % → 3 × 0.01 = 0.03 VAT,
    # where VAT on the sum would be round(0.21 × 0.21) = 0.04
    doc = a_document(
        prices_include_vat=False,
        lines=(goods("A", "0.07", 21), goods("B", "0.07", 21), goods("C", "0.07", 21)),
        total=D("0.24"),
        total_vat=D("0.03"),
    )
    # When it is planned
    booking = plan_booking(doc)
    # Then the booking follows the customer's invoice (VAT 0.03) and still adds up to its total
    assert booking.vat_total == D("0.03")
    assert sum(line.vat for line in booking.lines) == D("0.03")
    assert booking.net_total + booking.vat_total == D("0.24")


def test_stated_vat_far_from_the_lines_is_refused() -> None:
    doc = a_document(
        prices_include_vat=False, lines=(goods("A", "100.00", 21),), total=D("125.00"), total_vat=D("25.00")
    )
    with pytest.raises(UnbalancedDocumentError, match="more than per-line rounding"):
        plan_booking(doc)


def test_order_that_does_not_add_up_is_refused_with_the_difference() -> None:
    # Given an order whose total is 5 cents more than its lines
    doc = a_document(total=D("55.90"))
    # When it is planned
    with pytest.raises(UnbalancedDocumentError) as refused:
        plan_booking(doc)
    # Then the refusal names the difference a person can look for
    assert refused.value.difference == D("0.05")
    assert "difference +0.05" in str(refused.value)


def test_credit_note_mirrors_the_invoice() -> None:
    invoice = plan_booking(a_document())
    credit = plan_booking(
        a_document(
            doc_type="credit_note",
            lines=tuple(
                line.model_copy(update={"amount": -line.amount, "unit_price": -line.unit_price})
                for line in a_document().lines
            ),
            total=D("-55.85"),
        )
    )
    assert [t.vat for t in credit.vat_totals] == [-t.vat for t in invoice.vat_totals]
    assert credit.total == -invoice.total


amounts = st.decimals(min_value=D("0.01"), max_value=D("999.99"), places=2)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.tuples(amounts, st.sampled_from([0, 9, 21])), min_size=1, max_size=8),
    shipping=st.one_of(st.none(), amounts),
    discount_share=st.integers(min_value=0, max_value=90),
    include_vat=st.booleans(),
)
def test_every_plan_reconciles_to_the_cent(
    rows: list[tuple[Decimal, int]], shipping: Decimal | None, discount_share: int, include_vat: bool
) -> None:
    # Given any mix of rates, shipping and an order discount
    lines = [goods(f"row {i}", str(amount), rate) for i, (amount, rate) in enumerate(rows)]
    if shipping is not None:
        lines.append(Line(kind="shipping", description="Verzending", unit_price=shipping, amount=shipping))
    goods_total = sum(amount for amount, _ in rows)
    discount = (goods_total * discount_share / 100).quantize(D("0.01"))
    discounts = (Discount(description="Korting", amount=discount),) if discount > 0 else ()
    probe = a_document(lines=tuple(lines), discounts=discounts, prices_include_vat=include_vat, total=D(0))
    total = D(0)  # stays 0 when the discount takes the whole order
    try:
        plan_booking(probe)
    except UnbalancedDocumentError as refused:
        total = D(0) - refused.difference
    doc = probe.model_copy(update={"total": total})
    # When it is planned
    booking = plan_booking(doc)
    # Then Σ net + Σ VAT equals the total, per rate too, and every amount is whole cents
    assert booking.net_total + booking.vat_total == doc.total
    for vat_total in booking.vat_totals:
        at_rate = [line for line in booking.lines if line.vat_rate == vat_total.rate]
        assert sum(line.net for line in at_rate) == vat_total.base
        assert sum(line.vat for line in at_rate) == vat_total.vat
    assert all(line.net == line.net.quantize(D("0.01")) for line in booking.lines)


def test_payments_made_at_the_till_may_settle_the_document_but_never_exceed_it() -> None:
    # Given a till sale of 10.00 paid 6.00 cash and 4.00 by PIN, when it is planned, then it books as it is;
    # given the same sale with 12.00 cash (the change counted as a payment), then it is refused with the amounts.
    day = date(2026, 11, 23)
    paid = [
        Payment(method="cash", amount=Decimal("6.00"), paid_on=day),
        Payment(method="card", amount=Decimal("4.00"), paid_on=day),
    ]
    sale = _till_sale(payments=paid)
    assert plan_booking(sale).total == Decimal("10.00")
    with pytest.raises(UnbalancedDocumentError, match=r"payments add up to 12.00 against a total of 10.00"):
        plan_booking(_till_sale(payments=[Payment(method="cash", amount=Decimal("12.00"), paid_on=day)]))


def _till_sale(payments: list[Any]) -> SalesDocument:
    return SalesDocument(
        source_id="pos-1",
        number="Shop/0001",
        issue_date=date(2026, 11, 23),
        currency="EUR",
        prices_include_vat=True,
        party=Party(name="Walk-in"),
        lines=(Line(description="Boek", unit_price=Decimal("10.00"), amount=Decimal("10.00"), vat_rate=Decimal(9)),),
        total=Decimal("10.00"),
        payments=tuple(payments),
    )


def test_a_till_receipt_rounded_per_line_keeps_its_own_vat_and_its_total() -> None:
    # Given a receipt incl. VAT of 42.33 and 135.10 at 21 %, whose till rounded VAT per line (7.35 + 23.45 = 30.80)
    # where the VAT of the rate's sum would round to 30.79
    lines = (
        Line(description="Shirts", unit_price=Decimal("42.33"), amount=Decimal("42.33"), vat_rate=Decimal(21)),
        Line(description="Helm", unit_price=Decimal("135.10"), amount=Decimal("135.10"), vat_rate=Decimal(21)),
    )
    receipt = _till_sale(payments=[]).model_copy(
        update={"lines": lines, "total": Decimal("177.43"), "total_vat": Decimal("30.80"), "vat_rounded_per_line": True}
    )

    # When it is planned
    booking = plan_booking(receipt)

    # Then the VAT is the receipt's own, and the total is unchanged: a cent moved from net to VAT
    assert booking.vat_total == Decimal("30.80")
    assert booking.total == Decimal("177.43")
    assert booking.net_total == Decimal("146.63")
