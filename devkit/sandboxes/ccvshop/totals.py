"""CCV Shop's order amounts: what goes into an order besides its customer and rows, and the totals CCV shows.

Totals (the connector's README and the samples; the arithmetic inside CCV is not published, so this is [I]):
- row ``total_price`` = (price − discount) × count, incl. VAT when ``order_row_taxes_included``.
- ``total_price`` = Σ rows + shipping + paymethod costs + extra costs − total_discounts − credit points
  (prices excl. VAT: plus ``total_tax``).
- ``total_tax`` = VAT contained per rate: order discounts are split over the VAT rates in proportion to the
  goods of each rate, shipping and costs go to their own rate, VAT per rate is rounded half up to cents.
- An intra-community (ICP) order carries no VAT: rows and shipping show 0 %.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal(0)


def money(value: Decimal | int | str) -> Decimal:
    """Amounts enter as Decimal, int or str; a float is refused because it has already lost the cents."""
    if isinstance(value, float):
        raise TypeError(f"money must not be a float: {value!r}")
    return Decimal(value)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


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
