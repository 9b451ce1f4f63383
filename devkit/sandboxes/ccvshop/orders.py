"""CCV Shop order resources for the sandbox: the exact JSON shapes (totals.py computes the amounts, json_text.py
writes them as CCV does).

Shapes follow the recorded payloads in tests/fixtures/ccvshop field for field and key for key:
``order.get.json`` for an order and ``orderrow.item.truncated-fragment.txt`` for an order row. The row
fragment was cut off by its recorder right after ``parent``; the sandbox closes the object there and adds
nothing (the SDK's ``calculator_href`` is absent from the recording, so it is left out).
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.ccvshop.customer import build_customer
from devkit.sandboxes.ccvshop.totals import ZERO, OrderOptions, cents, compute_totals, money

if TYPE_CHECKING:
    from decimal import Decimal

API_PREFIX = "/api/rest/v1"

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


def ccv_time(moment: datetime) -> str:
    """CCV writes UTC timestamps as ``2022-11-07T21:51:00Z``."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
