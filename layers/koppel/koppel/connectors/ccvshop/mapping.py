"""CCV Shop order → canonical DocumentEvent: pure functions, golden-tested, also used by ``koppel preview``.

Field names follow CCV's REST API v1 (README.md in this folder) and the orders recorded from a live shop
(the recorded samples under tests/fixtures/ccvshop). What the samples taught:
- amounts are JSON numbers, often whole (``590``), so they arrive as int or Decimal; a float means the JSON
  was parsed without ``parse_float=Decimal`` and is refused rather than rounded;
- ``total_orderrow_price`` does not reliably equal the sum of the rows: the document is built from the rows,
  shipping, costs and discounts, and ``total_price`` is kept as stated so that ``plan_booking`` refuses an
  order whose parts do not add up (naming the difference) instead of booking a guess;
- ``is_completed`` only means checkout finished; bookable is ``status`` in the configured set *and* ``paid``.

Assumptions that the samples could not show (each one fails safe: a wrong guess makes the order not add up,
and plan_booking refuses it with the difference named):
- payment costs, extra costs and order discounts are stated in the rows' price basis
  (``order_row_taxes_included``);
- a row's ``total_price_with_attributes`` / ``price_without_discount_with_attributes`` include option
  surcharges, so they win over the plain fields when present; ``discount`` is per unit;
- ``credit_point_discount`` is not part of ``total_discounts``;
- a ``create_date`` without a zone is UTC (CCV sends ``...Z``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from koppel.booking import main_rate, plan_booking
from koppel.connectors.ccvshop.fields import created_at, first_present, flag, money, text
from koppel.connectors.kit.dates import amsterdam_date
from koppel.errors import InputError, PermanentError, UnbalancedDocumentError
from koppel.model import Address, Discount, DocumentEvent, Line, Party, SalesDocument
from koppel.money import ZERO, vat_from_gross, vat_from_net

if TYPE_CHECKING:
    from collections.abc import Sequence

    from koppel.model import Connection

SOURCE = "ccvshop"
CANCELLED = 8
STATUS_NAMES = {
    1: "New",
    2: "In process",
    3: "Wait for manufacturer",
    4: "Wait for payment",
    5: "Sent",
    6: "Delivered",
    7: "Completed",
    8: "Cancelled",
    9: "Wait for supplier",
    10: "Being packaged",
    11: "Ready to be collected",
    12: "Being assembled",
    13: "Backorder",
    14: "Reserved",
}
_NL_POSTCODE = re.compile(r"^(\d{4})\s*([A-Za-z]{2})$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def skip_reason(order: Mapping[str, Any], book_on_status: tuple[int, ...]) -> str:
    """Why this order is not (yet) booked, or "" when it is bookable: status in the set, paid, not cancelled."""
    status = order.get("status")
    name = STATUS_NAMES.get(status, "unknown") if isinstance(status, int) else "unknown"
    if status == CANCELLED:
        return "cancelled (status 8)"
    reasons = []
    if status not in book_on_status:
        wanted = " or ".join(f"{s} ({STATUS_NAMES.get(s, '?')})" for s in book_on_status)
        reasons.append(f"status is {status} ({name}), books on status {wanted}")
    if order.get("paid") is not True:
        reasons.append("not paid")
    return "; ".join(reasons)


def read_preview_file(data: Mapping[str, Any]) -> tuple[Mapping[str, Any], list[Mapping[str, Any]]]:
    """Split a preview file (an order as ``GET /orders/{id}`` returns it, with ``orderrows`` holding the
    collection ``{"items": [...]}`` of ``GET /orders/{id}/orderrows``) into the order and its rows."""
    shape = (
        'a CCV order (GET /orders/{id}) whose "orderrows" holds the collection {"items": [...]} '
        "of GET /orders/{id}/orderrows"
    )
    if not isinstance(data, Mapping):
        raise InputError(f"the preview file must be {shape}; it is not a JSON object")
    collection = data.get("orderrows")
    items = collection.get("items") if isinstance(collection, Mapping) else collection
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise InputError(f"the preview file must be {shape}; its orderrows is {str(collection)[:120]}")
    return data, items


def order_event_id(order_id: str | int) -> str:
    """The deterministic id of an order's booking event: webhooks, polls and backfills all arrive at it."""
    return f"{SOURCE}:order:{order_id}:completed"


def normalize_order(
    order: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], connection: Connection
) -> DocumentEvent:
    """One CCV order with its rows as the canonical 'order.completed' event (amounts exact, never fixed up)."""
    order_id = _order_id(order)
    where = f"CCV Shop order {order_id}"
    created = created_at(order)
    number = text(order, "ordernumber_full") or text(order, "ordernumber")
    if not number:
        raise PermanentError(f"{where} has no ordernumber_full or ordernumber")
    rows_incl = flag(order, "order_row_taxes_included", default=flag(order, "taxes_included", default=None))
    if rows_incl is None:
        raise PermanentError(f"{where} says neither order_row_taxes_included nor taxes_included")
    goods = [_goods_line(row, order_id, index) for index, row in enumerate(rows, start=1)]
    if not goods:
        raise PermanentError(f"{where} has no order rows: there is nothing to book")
    raw_customer = order.get("customer")
    customer: Mapping[str, Any] = raw_customer if isinstance(raw_customer, Mapping) else {}
    try:
        document = SalesDocument(
            source_id=order_id,
            number=number,
            issue_date=amsterdam_date(created),
            currency=text(order, "currency").upper(),
            prices_include_vat=rows_incl,
            vat_treatment="intra_eu" if order.get("is_intra_community_order") is True else "domestic",
            party=_party(order, customer, number),
            lines=(*goods, *_cost_lines(order, goods, rows_incl=rows_incl, where=where)),
            discounts=_discounts(order, where),
            total=money(order, "total_price", where, default=None),
            total_vat=money(order, "total_tax", where) if order.get("total_tax") is not None else None,
            description=f"CCV Shop order {number}",
            reference=text(customer, "reference"),
            payment_method=text(order, "paymethod_label") or text(order, "paymethod"),
            is_paid=order.get("paid") is True,
        )
        return DocumentEvent(
            kind="order.completed",
            event_id=order_event_id(order_id),
            tenant_id=connection.tenant_id,
            connection_id=connection.connection_id,
            source=SOURCE,
            occurred_at=created,
            payload=_costs_at_the_reconciling_rate(document),
        )
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        raise PermanentError(f"{where} cannot be read as a sales document: {problems}") from error


def _goods_line(row: Mapping[str, Any], order_id: str, index: int) -> Line:
    where = f"CCV Shop order {order_id}, row {index}"
    row_order = row.get("order_id")
    if row_order is not None and str(row_order) != order_id:
        raise PermanentError(f"{where} belongs to order {row_order}: the rows were read for the wrong order")
    unit_key = first_present(row, ("price_without_discount_with_attributes", "price_without_discount", "price"))
    amount_key = first_present(row, ("total_price_with_attributes", "total_price"))
    if row.get("product_type") == "deposit":
        rate: Decimal | None = ZERO  # deposit (statiegeld) carries no VAT
    elif row.get("tax") is None:
        raise PermanentError(f"{where} has no tax percentage")
    else:
        rate = money(row, "tax", where)
    name = text(row, "product_name") or text(row, "product_number") or "Artikel"
    try:
        return Line(
            kind="goods",
            description=name,
            sku=text(row, "product_number"),
            quantity=money(row, "count", where, default=Decimal(1)),
            unit_price=money(row, unit_key, where, default=None),
            discount=money(row, "discount", where),
            amount=money(row, amount_key, where, default=None),
            vat_rate=rate,
        )
    except ValidationError as error:
        raise PermanentError(f"{where} ({name}) cannot be read: {error.errors()[0]['msg']}") from error


def _cost_lines(order: Mapping[str, Any], goods: list[Line], *, rows_incl: bool, where: str) -> list[Line]:
    lines = []
    shipping = money(order, "total_shipping", where)
    if shipping > 0:
        rate = (
            money(order, "shipping_tax_percentage", where) if order.get("shipping_tax_percentage") is not None else None
        )
        if flag(order, "shipping_taxes_included", default=rows_incl) != rows_incl:
            shipping = _to_basis(shipping, rate if rate is not None else main_rate(goods), include_vat=rows_incl)
        lines.append(
            Line(kind="shipping", description="Verzendkosten", unit_price=shipping, amount=shipping, vat_rate=rate)
        )
    payment = money(order, "paymethod_costs", where)
    if payment > 0:
        lines.append(Line(kind="payment_fee", description="Betaalkosten", unit_price=payment, amount=payment))
    extra = money(order, "extra_costs", where)
    if extra > 0:
        label = text(order, "extra_costs_description") or "Extra kosten"
        lines.append(Line(kind="extra_cost", description=label, unit_price=extra, amount=extra))
    return lines


def _costs_at_the_reconciling_rate(document: SalesDocument) -> SalesDocument:
    """Payment and extra costs without a rate of their own: CCV does not publish whether it taxes them at the goods'
    main rate (Dutch practice, and the booking's default) or at the shipping rate. Both are tried, in that order:
    the one with which CCV's own totals reconcile is booked; when neither does, the default stands and the order
    is parked with its difference."""
    costs = [line for line in document.lines if line.kind in ("payment_fee", "extra_cost") and line.vat_rate is None]
    shipping = [line.vat_rate for line in document.lines if line.kind == "shipping" and line.vat_rate is not None]
    if not costs or not shipping or shipping[0] == main_rate(document.lines):
        return document
    if _reconciles(document):
        return document
    lines = tuple(
        line.model_copy(update={"vat_rate": shipping[0]}) if line in costs else line for line in document.lines
    )
    alternative = document.model_copy(update={"lines": lines})
    return alternative if _reconciles(alternative) else document


def _reconciles(document: SalesDocument) -> bool:
    try:
        plan_booking(document)
    except UnbalancedDocumentError:
        return False
    return True


def _to_basis(amount: Decimal, rate: Decimal, *, include_vat: bool) -> Decimal:
    """Shipping stated in the other price basis than the rows, brought over with the same cent rounding."""
    return amount + vat_from_net(amount, rate) if include_vat else amount - vat_from_gross(amount, rate)


def _discounts(order: Mapping[str, Any], where: str) -> tuple[Discount, ...]:
    discounts = []
    total = money(order, "total_discounts", where)
    if total > 0:
        coupon = order.get("discountcoupon")
        code = text(coupon, "code") if isinstance(coupon, Mapping) else ""
        description = f"Kortingscode {code}" if code else "Korting"
        discounts.append(Discount(description=description, code=code, amount=total))
    credit = money(order, "credit_point_discount", where)
    if credit > 0:
        discounts.append(Discount(description="Korting spaarpunten", amount=credit))
    return tuple(discounts)


def _party(order: Mapping[str, Any], customer: Mapping[str, Any], number: str) -> Party:
    raw_billing = customer.get("billingaddress")
    billing: Mapping[str, Any] = raw_billing if isinstance(raw_billing, Mapping) else {}
    company = text(billing, "company")
    full_name = text(billing, "full_name") or " ".join(
        part for part in (text(billing, "first_name"), text(billing, "last_name")) if part
    )
    email = text(customer, "email") or None
    user = order.get("user")
    user_id = text(user, "id") if isinstance(user, Mapping) else ""
    return Party(
        source_id=user_id or None,
        name=company or full_name or email or f"Klant van CCV Shop order {number}",
        contact_name=full_name if company else "",
        email=email,
        phone=text(billing, "telephone"),
        mobile=text(billing, "mobile"),
        is_business=bool(company) or text(customer, "customertype").lower() == "b2b",
        vat_number=text(customer, "btw"),
        coc_number=text(customer, "kvk"),
        iban=text(customer, "iban"),
        billing_address=_address(billing),
        delivery_address=_filled(_address(customer.get("deliveryaddress"))),
    )


def _address(raw: object) -> Address:
    if not isinstance(raw, Mapping):
        return Address()
    street = text(raw, "address_line_1") or " ".join(
        part for part in (text(raw, "street"), text(raw, "housenumber"), text(raw, "housenumber_suffix")) if part
    )
    code = text(raw, "country_code").upper()
    country = code if _COUNTRY.match(code) else None
    postcode = text(raw, "zipcode")
    match = _NL_POSTCODE.match(postcode)
    if country == "NL" and match:
        postcode = f"{match.group(1)} {match.group(2).upper()}"
    return Address(street=street, postcode=postcode, city=text(raw, "city"), country_code=country)


def _filled(address: Address) -> Address | None:
    return address if (address.street or address.postcode or address.city) else None


def _order_id(order: Mapping[str, Any]) -> str:
    value = order.get("id")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise PermanentError(f"a CCV Shop order needs a numeric id, got {value!r}")
    return str(value)
