"""Invoice/credit note lines and document-level allowances and charges as canonical Lines, with their VAT category.

Each reader returns the canonical lines (``sign`` applied: −1 for a credit note, which states positive amounts) and
the amounts as the document states them (``Taxed``), which the reconciliation adds up against its own totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from koppel.errors import InputError, MappingError
from koppel.model import Line, VatCategory

if TYPE_CHECKING:
    from koppel.ubl.parse import Node

CATEGORIES: dict[str, VatCategory] = {
    "S": "standard",
    "Z": "zero_rated",
    "E": "exempt",
    "O": "outside_scope",
    "AE": "reverse_charge",
    "K": "intra_eu",
    "G": "export",
}
"""UNCL 5305 codes EN 16931 allows, as Koppel's categories."""
UNSUPPORTED = {
    "L": "L (IGIC, the Canary Islands' indirect tax)",
    "M": "M (IPSI, the tax of Ceuta and Melilla)",
}
ZERO = Decimal(0)
DESCRIPTION_LIMIT = 500


@dataclass(frozen=True)
class Taxed:
    """An amount as the document states it (credit notes positive), with its VAT category code and rate."""

    code: str
    rate: Decimal
    amount: Decimal


def tax_category(category: Node) -> tuple[str, Decimal]:
    """The (code, rate) of a cac:ClassifiedTaxCategory / cac:TaxCategory; MappingError for a code Koppel can't book."""
    code = category.required_text("cbc:ID").upper()
    if code in UNSUPPORTED:
        raise MappingError(
            f"UBL document: {category.name} is VAT category {UNSUPPORTED[code]}, which Koppel does not book: "
            "book this invoice by hand"
        )
    if code not in CATEGORIES:
        raise MappingError(f"UBL document: {category.name} has the unknown VAT category code {code[:10]!r}")
    rate = category.amount("cbc:Percent")
    if rate is None:
        if code == "S":
            raise InputError(f"UBL document: {category.name}/cbc:Percent is missing on a standard-rated (S) line")
        rate = ZERO
    if not ZERO <= rate <= 100:
        raise InputError(f"UBL document: {category.name}/cbc:Percent is {rate}, not a percentage")
    return code, Decimal(f"{rate.normalize():f}")  # 25.0 and 25 are one rate


def read_lines(root: Node, *, sign: Decimal) -> tuple[list[Line], list[Taxed]]:
    prefix = "Invoice" if root.name == "Invoice" else "CreditNote"
    quantity_name = "cbc:InvoicedQuantity" if prefix == "Invoice" else "cbc:CreditedQuantity"
    nodes = root.all(f"cac:{prefix}Line")
    if not nodes:
        raise InputError(f"UBL document: {root.name} has no cac:{prefix}Line")
    lines: list[Line] = []
    stated: list[Taxed] = []
    for node in nodes:
        code, rate = tax_category(node.required("cac:Item/cac:ClassifiedTaxCategory"))
        amount = node.required_amount("cbc:LineExtensionAmount")
        quantity = node.required_amount(quantity_name)
        unit_price = _unit_price(node)
        lines.append(
            Line(
                description=_description(node),
                sku=node.text("cac:Item/cac:SellersItemIdentification/cbc:ID"),
                quantity=quantity,
                unit_price=sign * unit_price,
                discount=_discount_per_unit(quantity, unit_price, amount) * sign or ZERO,
                amount=sign * amount,
                vat_rate=rate,
                vat_category=CATEGORIES[code],
            )
        )
        stated.append(Taxed(code, rate, amount))
    return lines, stated


def read_allowances_charges(root: Node, *, sign: Decimal) -> tuple[list[Line], list[Taxed], list[Taxed]]:
    """Document-level cac:AllowanceCharge (children of the root only; a line's own are in its LineExtensionAmount).

    Returns the lines (an allowance negative, kind discount; a charge kind extra_cost), the allowances and the
    charges as stated (positive)."""
    lines: list[Line] = []
    allowances: list[Taxed] = []
    charges: list[Taxed] = []
    for node in root.all("cac:AllowanceCharge"):
        is_charge = node.required_text("cbc:ChargeIndicator").lower() == "true"
        code, rate = tax_category(node.required("cac:TaxCategory"))
        amount = node.required_amount("cbc:Amount")
        reason = node.text("cbc:AllowanceChargeReason") or ("Charge" if is_charge else "Allowance")
        signed = sign * (amount if is_charge else -amount)
        lines.append(
            Line(
                kind="extra_cost" if is_charge else "discount",
                description=reason[:DESCRIPTION_LIMIT],
                unit_price=signed,
                amount=signed,
                vat_rate=rate,
                vat_category=CATEGORIES[code],
            )
        )
        (charges if is_charge else allowances).append(Taxed(code, rate, amount))
    return lines, allowances, charges


def _unit_price(node: Node) -> Decimal:
    """PriceAmount is the net price of BaseQuantity units (1 when absent)."""
    price = node.required_amount("cac:Price/cbc:PriceAmount")
    base = node.amount("cac:Price/cbc:BaseQuantity")
    if base is None or base == 1:
        return price
    if base <= 0:
        raise InputError(f"UBL document: {node.name}/cac:Price/cbc:BaseQuantity is {base}, not a positive quantity")
    return price / base


def _discount_per_unit(quantity: Decimal, unit_price: Decimal, amount: Decimal) -> Decimal:
    """A line-level allowance per unit, when it divides exactly (else 0: the amount stays as stated either way)."""
    off = quantity * unit_price - amount
    if off <= 0 or quantity <= 0:
        return ZERO
    per_unit = off / quantity
    return per_unit if per_unit * quantity == off else ZERO


def _description(node: Node) -> str:
    name = node.text("cac:Item/cbc:Name")
    extra = node.text("cac:Item/cbc:Description")
    text = f"{name} — {extra}" if name and extra and extra != name else name or extra
    if not text:
        raise InputError(f"UBL document: the required element {node.name}/cac:Item/cbc:Name is missing")
    return text[:DESCRIPTION_LIMIT]
