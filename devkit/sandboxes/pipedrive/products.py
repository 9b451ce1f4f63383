"""Deal products: the lines a salesperson puts on a deal, and the ``sum`` Pipedrive shows for each.

Shape [V]: ``GET /api/v2/deals/{id}/products`` items (pipedrive/client-nodejs v2 models
``get-deals-products-response-data-inner*``): id, sum, tax, deal_id, name, product_id,
product_variation_id, order_nr, add_time, update_time, comments, currency, discount, discount_type
(percentage|amount), quantity, item_price, tax_method (exclusive|inclusive|none), is_enabled,
billing_frequency, billing_frequency_cycles, billing_start_date. ``tax_method`` [V]: inclusive = the tax
is already in the price, exclusive = not in the price, none = no tax.
The ``sum`` is the sandbox's own arithmetic [I]: price × quantity, minus the discount (that percentage of
it, or the amount for the whole line), plus the tax when exclusive; rounded half-up to cents.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.pipedrive.store import money

if TYPE_CHECKING:
    from datetime import datetime

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
DISCOUNT_TYPES = ("percentage", "amount")
TAX_METHODS = ("exclusive", "inclusive", "none")


@dataclass(frozen=True)
class ProductLine:
    """One product on a deal, as a salesperson enters it."""

    name: str
    item_price: Decimal | int | str
    quantity: Decimal | int | str = 1
    discount: Decimal | int | str = 0
    discount_type: str = "percentage"
    tax: Decimal | int | str = 0
    tax_method: str = "exclusive"
    product_id: int | None = None
    comments: str | None = None


def line_sum(
    item_price: Decimal, quantity: Decimal, discount: Decimal, discount_type: str, tax: Decimal, tax_method: str
) -> Decimal:
    gross = item_price * quantity
    off = gross * discount / HUNDRED if discount_type == "percentage" else discount
    net = gross - off
    if tax_method == "exclusive":
        net += net * tax / HUNDRED
    return net.quantize(CENT, rounding=ROUND_HALF_UP)


def check_line_values(record: dict[str, Any]) -> None:
    if record["discount_type"] not in DISCOUNT_TYPES:
        raise ValueError(f"discount_type must be one of {DISCOUNT_TYPES}")
    if record["tax_method"] not in TAX_METHODS:
        raise ValueError(f"tax_method must be one of {TAX_METHODS}")


def check_line(line: ProductLine) -> None:
    check_line_values({"discount_type": line.discount_type, "tax_method": line.tax_method})


def deal_product(
    ident: int, deal: dict[str, Any], line: ProductLine, product_id: int, order_nr: int, now: datetime
) -> dict[str, Any]:
    check_line(line)
    price, quantity, discount, tax = (money(v) for v in (line.item_price, line.quantity, line.discount, line.tax))
    return {
        "id": ident,
        "sum": line_sum(price, quantity, discount, line.discount_type, tax, line.tax_method),
        "tax": tax,
        "deal_id": deal["id"],
        "name": line.name,
        "product_id": product_id,
        "product_variation_id": None,
        "order_nr": order_nr,
        "add_time": now,
        "update_time": now,
        "comments": line.comments,
        "currency": deal["currency"],
        "discount": discount,
        "discount_type": line.discount_type,
        "quantity": quantity,
        "item_price": price,
        "tax_method": line.tax_method,
        "is_enabled": True,
        "billing_frequency": "one-time",
        "billing_frequency_cycles": None,
        "billing_start_date": None,
    }


def set_tax_method(record: dict[str, Any], tax_method: str) -> None:
    """Pipedrive keeps one tax method per deal: "Changing this in one product affects the rest of the
    products attached to the deal" [V, v2 spec]; the other lines follow and their sums are recomputed."""
    record["tax_method"] = tax_method
    recompute(record)


def recompute(record: dict[str, Any]) -> None:
    tax_method = record["tax_method"]
    record["sum"] = line_sum(
        record["item_price"], record["quantity"], record["discount"], record["discount_type"], record["tax"], tax_method
    )
