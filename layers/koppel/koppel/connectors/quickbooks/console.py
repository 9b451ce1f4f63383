"""What the console shows of a QuickBooks Online connection: the mapping a bookkeeper edits (the Items and accounts
revenue and costs are booked on, the TaxCodes per VAT rate and per purchase category) checked against the Items,
expense Accounts and TaxCodes ``after_connect`` read, and the page that opens a booked invoice or bill (README.md,
"Console")."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

from koppel.connectors.contract import Chart, MappingField, MappingForm, MappingKeys
from koppel.connectors.kit import load_settings
from koppel.connectors.kit.console import stored_chart
from koppel.connectors.quickbooks.settings import VENDOR, QuickbooksSettings

if TYPE_CHECKING:
    from collections.abc import Mapping


def chart(settings: Mapping[str, Any]) -> Chart:
    """The company's sales Items, expense Accounts and active TaxCodes as ``after_connect`` stored them, each by id
    with its name. A connection synced before the names were kept shows its tax codes by id until the next sync."""
    stored = stored_chart(settings)
    if stored.tax_codes:
        return stored
    codes = {*(settings.get("tax_code_rates") or {}), *(settings.get("purchase_tax_code_rates") or {})}
    return replace(stored, tax_codes={str(code): str(code) for code in sorted(codes, key=lambda c: (len(c), c))})


def document_link(settings: Mapping[str, Any], external_id: str, direction: Literal["sale", "purchase"]) -> str:
    """A sale opens as an invoice, a purchase as a bill, on the connection's ``app_url`` (the sandbox's for a
    developer sandbox). A credit memo or vendor credit has its own page, which the id alone does not tell."""
    page = "invoice" if direction == "sale" else "bill"
    return load_settings(QuickbooksSettings, settings, VENDOR).page_link(page, external_id)


def _code_map(name: str, label: str, help_text: str, keys: MappingKeys) -> MappingField:
    return MappingField(name=name, label=label, kind="code_map", help=help_text, keys=keys)


FORM = MappingForm(
    fields=(
        MappingField(
            name="item_id",
            label="Sales Item",
            kind="ledger",
            help="The Item (product or service) every sales line is booked on; its income account gets the revenue.",
            picks_from="items",
        ),
        MappingField(
            name="product_group_items",
            label="Sales Item per product group",
            kind="ledger_map",
            help="Product group → Item id, so each group's revenue lands on that Item's income account.",
            keys="product_groups",
            picks_from="items",
        ),
        _code_map(
            "tax_codes", "Sales tax codes", "VAT rate → the TaxCode id sales at that rate are booked with.", "vat_rates"
        ),
        _code_map(
            "treatment_tax_codes",
            "Tax codes of sales abroad",
            "intra_eu, export, reverse_charge or oss → the TaxCode id such a sale is booked with, e.g. 0.0% ECG.",
            "treatments",
        ),
        MappingField(
            name="expense_account_id",
            label="Purchases account",
            kind="ledger",
            help="The expense account id a supplier's bill lines are booked on.",
        ),
        MappingField(
            name="cost_group_accounts",
            label="Purchases account per product group",
            kind="ledger_map",
            help="Cost group (a purchase line's product group) → account id; other groups use the Purchases account.",
            keys="product_groups",
        ),
        _code_map(
            "purchase_tax_codes",
            "Purchase tax codes",
            "VAT rate → the TaxCode id purchases at that rate are booked with.",
            "vat_rates",
        ),
        _code_map(
            "purchase_category_tax_codes",
            "Purchase tax codes per VAT category",
            "Reverse charge, intra-EU, imports, exempt, zero-rated, out of scope → the TaxCode id such a line gets.",
            "purchase_categories",
        ),
        MappingField(
            name="foreign_vat_account_id",
            label="Foreign VAT",
            kind="ledger",
            help="Account id another country's VAT is booked on as a cost; empty: such a document is held for you.",
        ),
    ),
    chart=chart,
)
