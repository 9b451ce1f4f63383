"""What Koppel reads from Bizzcloud's Odoo models, and how Odoo's field values read exactly: numbers as Decimal,
``false`` as empty, many2one pairs, dates in UTC. Pure; README.md in this folder lists the models."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from koppel.errors import InputError
from koppel.money import ZERO

VENDOR = "Bizzcloud"

MOVE_FIELDS = [
    "name", "move_type", "state", "partner_id", "invoice_date", "invoice_date_due", "date", "ref",
    "payment_reference", "currency_id", "amount_untaxed", "amount_tax", "amount_total", "amount_residual",
    "payment_state", "invoice_line_ids", "pos_order_ids", "write_date",
]  # fmt: skip
LINE_FIELDS = [
    "move_id", "name", "product_id", "quantity", "price_unit", "discount", "tax_ids", "price_subtotal",
    "price_total", "display_type",
]  # fmt: skip
POS_FIELDS = [
    "name", "pos_reference", "date_order", "partner_id", "state", "amount_total", "amount_tax", "amount_paid",
    "lines", "payment_ids", "account_move", "currency_id", "write_date",
]  # fmt: skip
POS_LINE_FIELDS = [
    "order_id", "product_id", "full_product_name", "qty", "price_unit", "discount", "tax_ids", "price_subtotal",
    "price_subtotal_incl",
]  # fmt: skip
PARTNER_FIELDS = [
    "name", "email", "vat", "street", "zip", "city", "country_id", "country_code", "phone", "ref",
    "is_company", "customer_rank", "write_date",
]  # fmt: skip
TAX_FIELDS = ["name", "description", "amount", "amount_type", "price_include"]


def decimal(value: Any) -> Decimal:
    """An Odoo number as an exact Decimal; ``false`` (Odoo's empty) is zero."""
    if value is False or value is None:
        return ZERO
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))  # ok: the decimal Odoo printed, not the binary value
    return Decimal(str(value))


def text(value: Any) -> str:
    """An Odoo char field: ``false`` when empty."""
    return "" if value in (False, None) else str(value).strip()


def many2one_id(value: Any) -> int | None:
    """``[id, "display name"]`` or ``false``; a bare id or a read record are accepted too."""
    if isinstance(value, list | tuple) and value:
        return int(value[0])
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, dict) and "id" in value:
        return int(value["id"])
    return None


def many2one_name(value: Any) -> str:
    if isinstance(value, list | tuple) and len(value) > 1:
        return str(value[1])
    if isinstance(value, dict):
        return text(value.get("name") or value.get("display_name"))
    return ""


def odoo_datetime(value: Any) -> datetime:
    """Odoo's "YYYY-MM-DD HH:MM:SS", always UTC."""
    try:
        return datetime.strptime(str(value)[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise InputError(f"{VENDOR} gave {value!r} where a date and time was expected") from None


def odoo_date(value: Any) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise InputError(f"{VENDOR} gave {value!r} where a date was expected") from None
