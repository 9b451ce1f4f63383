"""What Billy computes on an invoice: each line's ``amount`` and ``tax``, the invoice's ``amount``, ``tax``,
``grossAmount``, ``balance``, ``isPaid``, ``dueDate`` and ``lineDescription``.

[V, https://www.billy.dk/api/ invoices / invoiceLines]: ``amount``/``tax`` are read-only and computed by Billy;
``taxMode`` ``excl`` means unit prices exclude VAT (100 at 25 % → 125 in total), ``incl`` that they include it
(100 → 80 net + 20 VAT); ``quantity`` defaults to 1; ``discountMode`` is a cash amount off the line or a
percentage (25 for 25 %) of it; ``grossAmount`` exists (a sort property) and search looks at ``amount + tax``,
so ``amount`` is net. A payment sets ``balance`` and ``isPaid`` (paid in full: ``balance`` 0.0, ``isPaid`` true).
[I]: the discount mode values ``cash`` / ``percent``; rounding half-up to cents, per line by default
(``vat_rounding="invoice"`` rounds VAT once per rate over the invoice); a draft's ``balance`` is its gross
amount; credit notes carry positive amounts; ``dueDate`` = entry date + terms days (``netEndOfMonth``: from
the end of the entry month); ``lineDescription`` joins the lines' descriptions (or product names).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from devkit.sandboxes.billy.wire import cents

if TYPE_CHECKING:
    from devkit.sandboxes.billy.store import Organization, Record

ZERO = Decimal(0)
DISCOUNT_MODES = ("cash", "percent")


def line_amounts(line: Record, rate: Decimal, tax_mode: str) -> tuple[Decimal, Decimal]:
    """(net amount, tax) of one line."""
    total = line["quantity"] * line["unitPrice"]
    value = line.get("discountValue")
    if value is not None and line.get("discountMode") == "cash":
        total -= value
    elif value is not None and line.get("discountMode") == "percent":
        total -= total * value / 100
    total = cents(total)
    if tax_mode == "incl":
        net = cents(total / (1 + rate))
        return net, total - net
    return total, cents(total * rate)


def recompute(org: Organization, invoice: Record, paid: Decimal, per_invoice_rounding: bool) -> list[Record]:
    """Fill the computed fields of an invoice and its lines; returns the lines (in priority order)."""
    lines = sorted(org.children("invoiceLines", "invoiceId", invoice["id"]), key=lambda x: x["priority"] or 0)
    by_rate: dict[Decimal, Decimal] = {}
    for line in lines:
        rate = rate_of(org, line)
        line["amount"], line["tax"] = line_amounts(line, rate, invoice["taxMode"])
        by_rate[rate] = by_rate.get(rate, ZERO) + line["amount"]
    invoice["amount"] = sum((line["amount"] for line in lines), ZERO)
    if per_invoice_rounding and invoice["taxMode"] == "excl":
        invoice["tax"] = sum((cents(net * rate) for rate, net in by_rate.items()), ZERO)
    else:
        invoice["tax"] = sum((line["tax"] for line in lines), ZERO)
    invoice["grossAmount"] = invoice["amount"] + invoice["tax"]
    invoice["balance"] = invoice["grossAmount"] - paid
    invoice["isPaid"] = invoice["state"] == "approved" and invoice["balance"] <= 0
    invoice["dueDate"] = due_date(invoice["entryDate"], invoice["paymentTermsMode"], invoice["paymentTermsDays"])
    invoice["lineDescription"] = ", ".join(_describe(org, line) for line in lines)
    return lines


def rate_of(org: Organization, line: Record) -> Decimal:
    rate = org.get("taxRates", line.get("taxRateId"))
    return rate["rate"] if rate else ZERO


def due_date(entry: date, mode: str | None, days: int | None) -> date:
    start = entry
    if mode == "netEndOfMonth":
        start = entry.replace(day=calendar.monthrange(entry.year, entry.month)[1])
    return start + timedelta(days=days or 0)


def _describe(org: Organization, line: Record) -> str:
    if line.get("description"):
        return str(line["description"])
    product = org.get("products", line.get("productId")) or {}
    return str(product.get("name") or "")
