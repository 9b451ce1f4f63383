"""What Koppel reads from Bizzcloud's Odoo models, and how Odoo's field values read exactly: numbers as Decimal,
``false`` as empty, many2one pairs, dates in UTC; and the VAT rate and treatment a line and a document carry.
Pure; README.md in this folder lists the models."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from koppel.errors import InputError, MappingError
from koppel.money import ZERO

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from koppel.model import VatTreatment

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


def odoo_time(moment: datetime) -> str:
    """A moment as Odoo compares ``write_date`` in a domain: UTC, to the second, without a zone."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def with_country(partner: dict[str, Any], countries: Mapping[int, str]) -> dict[str, Any]:
    """The partner with its ``country_code`` filled in from the page's ``res.country`` codes when Odoo left it out."""
    if partner.get("country_code"):
        return partner
    code = countries.get(many2one_id(partner.get("country_id")) or -1, "")
    return {**partner, "country_code": code or False}


def product_category(value: Any) -> str:
    """The last part of a product category's display name ("All / Saleable / Boeken" → "Boeken")."""
    name = value[1] if isinstance(value, list | tuple) and len(value) > 1 else ""
    return str(name).split(" / ")[-1].strip()


# -- VAT ---------------------------------------------------------------------------------------------------------
EU_COUNTRIES = frozenset([
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU", "LV",
    "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
])  # fmt: skip


def partner_country(partner: Mapping[str, Any]) -> str:
    """A partner's country code: ``country_code`` when read, else the code of a resolved ``country_id``."""
    value = partner.get("country_id")
    return text(partner.get("country_code")) or (text(value.get("code")) if isinstance(value, dict) else "")


def tax_of(line: Mapping[str, Any]) -> Mapping[str, Any]:
    """The line's one tax (a read ``account.tax`` record); {} for a line without tax."""
    taxes = [t for t in (line.get("tax_ids") or []) if isinstance(t, dict)]
    if len(taxes) > 1:
        names = ", ".join(text(t.get("name")) or str(t.get("amount")) for t in taxes)
        raise MappingError(
            f"invoice line {text(line.get('name'))!r} carries several taxes ({names}): Koppel books one VAT rate "
            "per line; give the product one sales tax in Bizzcloud"
        )
    if (line.get("tax_ids") or []) and not taxes:
        raise InputError("invoice lines must carry their taxes as account.tax records (amount, price_include)")
    return taxes[0] if taxes else {}


def vat_rate(tax: Mapping[str, Any], line: Mapping[str, Any]) -> Decimal:
    if not tax:
        return ZERO
    if tax.get("amount_type", "percent") != "percent":
        raise MappingError(
            f"invoice line {text(line.get('name'))!r} has a {tax.get('amount_type')} tax; Koppel books percentage "
            "VAT only: use a percentage sales tax in Bizzcloud"
        )
    return decimal(tax.get("amount"))


def vat_treatment(lines: Sequence[Mapping[str, Any]], partner: Mapping[str, Any] | None) -> VatTreatment:
    """0 % to a business elsewhere in the EU with a VAT number is an ICP supply; 0 % outside the EU an export.
    The tax's own name decides first when it says so (Odoo's Dutch taxes are named "0% EU", "0% Export", ...)."""
    taxes = [tax_of(line) for line in lines]
    if any(vat_rate(t, {}) != 0 for t in taxes if t):
        return "domestic"
    names = " ".join(f"{text(t.get('name'))} {text(t.get('description'))}".lower() for t in taxes)
    return _treatment_named(names) or _treatment_by_country(partner)


def _treatment_named(names: str) -> VatTreatment | None:
    """Odoo's Dutch taxes say what they are for: "Export sales within EU", "BTW export buiten EU", "0% EU"."""
    if "verlegd" in names or "reverse" in names:
        return "reverse_charge"
    if any(word in names for word in ("outside eu", "buiten eu", "buiten de eu", "non-eu")):
        return "export"
    if any(word in f" {names}" for word in (" eu", "within eu", "binnen eu", "intra", "icp")):
        return "intra_eu"
    if "export" in names:
        return "export"
    return None


def _treatment_by_country(partner: Mapping[str, Any] | None) -> VatTreatment:
    country = partner_country(partner).upper() if partner else None
    if not country or country == "NL":
        return "domestic"
    if country not in EU_COUNTRIES:
        return "export"
    return "intra_eu" if partner and text(partner.get("vat")) else "domestic"
