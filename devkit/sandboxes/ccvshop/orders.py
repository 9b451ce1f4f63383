"""CCV Shop order resources for the sandbox: the exact JSON shapes, CCV's totals, and CCV-style JSON text.

Shapes follow the recorded payloads in tests/fixtures/ccvshop field for field and key for key:
``order.get.json`` for an order and ``orderrow.item.truncated-fragment.txt`` for an order row. The row
fragment was cut off by its recorder right after ``parent``; the sandbox closes the object there and adds
nothing (the SDK's ``calculator_href`` is absent from the recording, so it is left out).

Totals (the connector's README and the samples; the arithmetic inside CCV is not published, so this is [I]):
- row ``total_price`` = (price − discount) × count, incl. VAT when ``order_row_taxes_included``.
- ``total_price`` = Σ rows + shipping + paymethod costs + extra costs − total_discounts − credit points
  (prices excl. VAT: plus ``total_tax``).
- ``total_tax`` = VAT contained per rate: order discounts are split over the VAT rates in proportion to the
  goods of each rate, shipping and costs go to their own rate, VAT per rate is rounded half up to cents.
- An intra-community (ICP) order carries no VAT: rows and shipping show 0 %.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from devkit.sandboxes.ccvshop.customer import build_customer

API_PREFIX = "/api/rest/v1"
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal(0)

# Paymethod name → (paymethod_id, paymethod_label). Only "BankTransfer" (3, "Vooraf overmaken") is recorded;
# the other names, ids and labels are plausible stand-ins [I].
PAYMETHODS: dict[str, tuple[int, str]] = {
    "BankTransfer": (3, "Vooraf overmaken"),
    "Ideal": (6, "iDEAL"),
    "PayPal": (5, "PayPal"),
    "AfterPay": (14, "AfterPay - Achteraf betalen"),
    "Bancontact": (12, "Bancontact"),
    "CreditCard": (7, "Creditcard"),
}

_ORDER_LINKS = (
    "orderrows",
    "ordernotes",
    "ordermessages",
    "ordernotifications",
    "orderaffiliatenetworks",
    "orderlabels",
    "invoices",
)


def money(value: Decimal | int | str) -> Decimal:
    """Amounts enter as Decimal, int or str; a float is refused because it has already lost the cents."""
    if isinstance(value, float):
        raise TypeError(f"money must not be a float: {value!r}")
    return Decimal(value)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def ccv_time(moment: datetime) -> str:
    """CCV writes UTC timestamps as ``2022-11-07T21:51:00Z``."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- JSON text ---------------------------------------------------------------------------------------------
def _number(value: Decimal) -> str:
    """590 not 590.0, 102.4 not 102.40: like the recorded payloads, without ever passing through float."""
    if not value.is_finite():
        raise ValueError(f"not a JSON number: {value}")
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _scalar(value: Any, escape_slashes: bool) -> str:
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, str):
        text = json.dumps(value)
        return text.replace("/", "\\/") if escape_slashes else text
    raise TypeError(f"cannot encode {type(value).__name__} as CCV JSON")


def _encode(value: Any, escape_slashes: bool) -> str:
    if isinstance(value, dict):
        items = (f"{_scalar(str(k), escape_slashes)}:{_encode(v, escape_slashes)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v, escape_slashes) for v in value) + "]"
    return _scalar(value, escape_slashes)


def dumps(data: Any, *, escape_slashes: bool = True) -> bytes:
    """Compact JSON like PHP's json_encode: ``\\/`` escapes (seen in the recorded orderrow) and \\u escapes."""
    return _encode(data, escape_slashes).encode("ascii")


# -- order rows ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RowSpec:
    """One order row as a shop owner sees it: per-unit price and per-unit discount, VAT percentage."""

    name: str
    count: Decimal | int = 1
    price: Decimal | int | str = ZERO
    discount: Decimal | int | str = ZERO
    tax: Decimal | int | str = 21
    product_type: str = "product"
    product_number: str = ""
    unit: str = "stuk"
    weight: Decimal | int | str = ZERO


def build_row(spec: RowSpec, *, row_id: int, order_id: int, product_id: int, intra_community: bool) -> dict[str, Any]:
    count, price, discount = money(spec.count), money(spec.price), money(spec.discount)
    selling = price - discount
    total = cents(selling * count)
    tax = ZERO if intra_community else money(spec.tax)
    return {
        "href": None,
        "id": row_id,
        "order_id": order_id,
        "product_type": spec.product_type,
        "product_name": spec.name,
        "product_name_google": "-".join(spec.name.split()),
        "product_number": spec.product_number,
        "sub_product_number": "",
        "sub_sku_number": "",
        "sub_ean_number": "",
        "product_id": product_id,
        "product_href": None,
        "count": count,
        "price": price,
        "product_purchase_price": ZERO,
        "discount": discount,
        "custom_price": False,
        "tax": tax,
        "unit": spec.unit,
        "weight": money(spec.weight),
        "memo": "",
        "package_id": 1664901,
        "package_name": "Kartonnen doos",
        "stock_location": "",
        "supplier": "",
        "user_discount": ZERO,
        "original_price": selling,
        "selling_price": selling,
        "price_without_discount": price,
        "price_without_discount_with_attributes": price,
        "total_price": total,
        "total_extra_option_price": ZERO,
        "price_with_attributes": selling,
        "total_price_with_attributes": total,
        "attributes": [],
        "uploads": [],
        "parent": {"href": None},
    }


def render_row(row: dict[str, Any], base: str) -> dict[str, Any]:
    out = copy.deepcopy(row)
    out["href"] = f"{base}{API_PREFIX}/orderrows/{row['id']}/"
    out["product_href"] = f"{base}{API_PREFIX}/products/{row['product_id']}"
    out["parent"]["href"] = f"{base}{API_PREFIX}/orders/{row['order_id']}"
    return out


# -- totals ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrderOptions:
    """Everything about an order besides its customer and rows (amounts incl. VAT unless taxes_included=False)."""

    shipping: Decimal = ZERO
    shipping_tax: Decimal = Decimal(21)
    paymethod: str = "BankTransfer"
    paymethod_costs: Decimal = ZERO
    extra_costs: Decimal = ZERO
    extra_costs_description: str = ""
    costs_tax: Decimal | None = None  # VAT % of paymethod/extra costs; None = the shipping rate [I]
    coupon_code: str = ""
    coupon_discount: Decimal = ZERO
    cart_discount: Decimal = ZERO  # an order discount without a coupon code, counted in total_discounts
    credit_point_discount: Decimal = ZERO
    status: int = 1
    paid: bool = False
    taxes_included: bool = True
    intra_community: bool = False
    create_date: datetime | None = None
    total_price_override: Decimal | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # verbatim overrides of top-level order fields


@dataclass(frozen=True)
class Totals:
    orderrow: Decimal
    discounts: Decimal
    price: Decimal
    tax: Decimal


def _split(amount: Decimal, weights: dict[Decimal, Decimal]) -> dict[Decimal, Decimal]:
    """Share ``amount`` over the rates in proportion; the largest rate takes the rounding rest."""
    total = sum(weights.values(), ZERO)
    if not amount or not total:
        return dict.fromkeys(weights, ZERO)
    largest = max(weights, key=lambda rate: (weights[rate], rate))
    shares = {rate: cents(amount * w / total) for rate, w in weights.items() if rate != largest}
    shares[largest] = amount - sum(shares.values(), ZERO)
    return shares


def taxable_per_rate(rows: list[dict[str, Any]], options: OrderOptions) -> dict[Decimal, Decimal]:
    goods: dict[Decimal, Decimal] = defaultdict(Decimal)
    for row in rows:
        goods[row["tax"]] += row["total_price"]
    order_discount = money(options.coupon_discount) + money(options.cart_discount)
    shares = _split(order_discount + money(options.credit_point_discount), goods)
    taxable = {rate: amount - shares[rate] for rate, amount in goods.items()}
    shipping_rate = ZERO if options.intra_community else money(options.shipping_tax)
    costs_rate = shipping_rate if options.costs_tax is None or options.intra_community else money(options.costs_tax)
    taxable[shipping_rate] = taxable.get(shipping_rate, ZERO) + money(options.shipping)
    costs = money(options.paymethod_costs) + money(options.extra_costs)
    taxable[costs_rate] = taxable.get(costs_rate, ZERO) + costs
    return taxable


def compute_totals(rows: list[dict[str, Any]], options: OrderOptions) -> Totals:
    orderrow = sum((row["total_price"] for row in rows), ZERO)
    discounts = money(options.coupon_discount) + money(options.cart_discount)
    charged = (
        orderrow
        + money(options.shipping)
        + money(options.paymethod_costs)
        + money(options.extra_costs)
        - discounts
        - money(options.credit_point_discount)
    )
    taxable = taxable_per_rate(rows, options)
    if options.taxes_included:
        tax = sum((cents(a * r / (HUNDRED + r)) for r, a in taxable.items() if r), ZERO)
        price = charged
    else:
        tax = sum((cents(a * r / HUNDRED) for r, a in taxable.items() if r), ZERO)
        price = charged + tax
    if options.total_price_override is not None:
        price = money(options.total_price_override)
    return Totals(orderrow=orderrow, discounts=discounts, price=price, tax=tax)


# -- the order resource ------------------------------------------------------------------------------------------
def build_order(
    *,
    order_id: int,
    ordernumber: int,
    prefix: str | None,
    user_id: int,
    customer: dict[str, Any],
    rows: list[dict[str, Any]],
    options: OrderOptions,
    create_date: datetime,
) -> dict[str, Any]:
    totals = compute_totals(rows, options)
    paymethod_id, paymethod_label = PAYMETHODS[options.paymethod]
    weight = sum((row["weight"] * row["count"] for row in rows), ZERO)
    order: dict[str, Any] = {
        "href": None,
        "id": order_id,
        "ordernumber_prefix": prefix,
        "ordernumber": ordernumber,
        "ordernumber_full": f"{prefix or ''}{ordernumber}",
        "invoicenumber": None,
        "transaction_id": None,
        "create_date": ccv_time(create_date),
        "deliver_method": "shipping",
        "deliver_date": None,
        "take_out_window": {"start": None, "end": None},
        "is_platform_sale": False,
        "orderedinlng": "nl",
        "status": options.status,
        "is_completed": True,  # checkout finished; not the same as status 7 (Completed)
        "paid": options.paid,
        "safety_deposit_returned": False,
        "paymethod_id": paymethod_id,
        "paymethod": options.paymethod,
        "paymethod_label": paymethod_label,
        "taxes_included": options.taxes_included,
        "order_row_taxes_included": options.taxes_included,
        "shipping_taxes_included": options.taxes_included,
        "shipping_tax_percentage": ZERO if options.intra_community else money(options.shipping_tax),
        "is_intra_community_order": options.intra_community,
        "total_orderrow_price": totals.orderrow,
        "total_shipping": money(options.shipping),
        "total_discounts": totals.discounts,
        "total_price": totals.price,
        "currency": "EUR",
        "total_tax": totals.tax,
        "total_weight": weight,
        "extra_payment_option": "",
        "extra_payment_option_price": ZERO,
        "extra_payment_option_no_sentprice": False,
        "extra_payment_option_pay_on_pickup": False,
        "extra_price": ZERO,
        "paymethod_costs": money(options.paymethod_costs),
        "credit_point_discount": money(options.credit_point_discount),
        "extra_costs": money(options.extra_costs),
        "extra_costs_description": options.extra_costs_description,
        "track_and_trace_code": "",
        "track_and_trace_carrier": None,
        "track_and_trace_deeplink": "",
        "reservationnumber": "",
        "delivery_option": None,
        "user": {"id": str(user_id), "discount_percentage": 0, "href": None},
        "discountcoupon": {
            "code": options.coupon_code,
            "discount": money(options.coupon_discount),
            "type": "price" if options.coupon_code else "",  # "price" = fixed amount [I]
            "enddate": None,
            "onetimeuse": False,
            "minimumprice": ZERO,
            "givesfreeshipping": False,
        },
        "customer": build_customer(customer),
        "pickup_address": None,
        "packing_slip_deeplink": None,
        **{link: {"href": None} for link in _ORDER_LINKS},
    }
    unknown = set(options.extra) - set(order)
    if unknown:
        raise ValueError(f"unknown order fields: {sorted(unknown)}")
    order.update(options.extra)
    return order


def render_order(order: dict[str, Any], base: str) -> dict[str, Any]:
    """Hrefs are filled at answer time, so orders placed before the server started get its real address."""
    out = copy.deepcopy(order)
    own = f"{base}{API_PREFIX}/orders/{order['id']}/"
    out["href"] = own
    out["user"]["href"] = f"{base}{API_PREFIX}/users/{order['user']['id']}"
    token = hashlib.sha512(f"packing-slip:{order['id']}".encode()).hexdigest()
    out["packing_slip_deeplink"] = f"{base}/onderhoud/AdminItems/StandaloneObjects/PackingSlip.php?OrderId={token}"
    for link in _ORDER_LINKS:
        out[link]["href"] = f"{own}{link}/"
    return out
