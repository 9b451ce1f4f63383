"""Invoice line items and totals as vtiger 7's webservice computes them [V, ``include/Webservices/LineItem/
VtigerLineItemOperation.php`` ``updateParent``, ``VtigerInventoryOperation.php``].

An Invoice is created with ``LineItems`` (a list of ``{productid, quantity, listprice, discount_percent |
discount_amount, comment, tax1..}``); without them vtiger answers MANDATORY_FIELDS_MISSING "Mandatory Fields
Missing.." [V]. A line without ``listprice`` takes the product's ``unit_price`` [V]. Per line: ``listprice *
quantity`` minus ``discount_amount`` (or else ``discount_percent`` of it). ``hdnTaxType`` "individual": each
line's ``taxN`` percentages are added to the sub total line by line (vtiger's sub total then includes those
taxes) [V]; "group": the percentages named on the line items (vtiger reads one line's; the sandbox takes the
last line that names any [I]) apply to sub total minus the overall discount [V]. ``pre_tax_total = hdnSubTotal
- discount + hdnS_H_Amount``; ``hdnGrandTotal = pre_tax_total + group taxes + txtAdjustment`` [V]. Shipping
taxes and compound taxes are not modelled. Columns: quantity DECIMAL(25,3), listprice and discount_amount
DECIMAL(27,8), discount_percent and taxes DECIMAL(7,3), totals DECIMAL(25,8) [V, schema and migrations].
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from devkit.sandboxes.simplycrm.schema import LINE_ITEM_PREFIX
from devkit.sandboxes.simplycrm.wire import decimal, fixed

TAX_NAMES = ("tax1", "tax2", "tax3")


def build_lines(
    items: list[dict[str, Any]], parent_id: str, products: dict[str, dict[str, Any]], next_id: int
) -> list[dict[str, Any]]:
    """The stored line items, in vtiger's shape (``products`` maps a product webservice id to its record)."""
    lines = []
    for sequence, item in enumerate(items, start=1):
        product = products[str(item.get("productid"))]
        price = item.get("listprice")
        line = {
            "parent_id": parent_id,
            "productid": product["id"],
            "sequence_no": str(sequence),
            "quantity": fixed(decimal(item.get("quantity") or 1, "quantity"), 3),
            "listprice": fixed(decimal(price if price not in (None, "") else product["unit_price"], "listprice"), 8),
            "discount_percent": _optional(item.get("discount_percent"), "discount_percent", 3),
            "discount_amount": _optional(item.get("discount_amount"), "discount_amount", 8),
            "comment": str(item.get("comment") or ""),
            "description": str(item.get("description") or ""),
            "incrementondel": "1",
        }
        for tax in TAX_NAMES:
            line[tax] = fixed(decimal(item.get(tax), tax), 3)
        line |= {
            "id": f"{LINE_ITEM_PREFIX}x{next_id + sequence - 1}",
            "product_name": product["productname"],
            "entity_type": "Products",
            "deleted": "0",
        }
        lines.append(line)
    return lines


def _optional(value: Any, name: str, places: int) -> str:
    return "" if value in (None, "") else fixed(decimal(value, name), places)


def totals(invoice: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, str]:
    """The totals vtiger writes onto the invoice; totals the client sent are overwritten, as updateParent does."""
    individual = str(invoice.get("hdnTaxType") or "").lower() == "individual"
    sub_total = Decimal(0)
    for line in lines:
        gross = Decimal(line["listprice"]) * Decimal(line["quantity"])
        if line["discount_amount"] and Decimal(line["discount_amount"]):
            gross -= Decimal(line["discount_amount"])
        elif line["discount_percent"]:
            gross -= Decimal(line["discount_percent"]) / 100 * gross
        sub_total += gross
        if individual:
            sub_total += sum((gross * Decimal(line[t]) / 100 for t in TAX_NAMES), Decimal(0))
    discount = Decimal(0)
    if decimal(invoice.get("hdnDiscountAmount"), "hdnDiscountAmount") > 0:
        discount = decimal(invoice.get("hdnDiscountAmount"), "hdnDiscountAmount")
    elif invoice.get("hdnDiscountPercent"):
        discount = decimal(invoice["hdnDiscountPercent"], "hdnDiscountPercent") / 100 * sub_total
    pre_tax = sub_total - discount + decimal(invoice.get("hdnS_H_Amount"), "hdnS_H_Amount")
    group_tax = Decimal(0)
    if not individual:
        named = [line for line in lines if any(Decimal(line[t]) for t in TAX_NAMES)]
        if named:
            group_tax = sum(((sub_total - discount) * Decimal(named[-1][t]) / 100 for t in TAX_NAMES), Decimal(0))
    grand = pre_tax + group_tax + decimal(invoice.get("txtAdjustment"), "txtAdjustment")
    return {"hdnSubTotal": fixed(sub_total, 8), "pre_tax_total": fixed(pre_tax, 8), "hdnGrandTotal": fixed(grand, 8)}
