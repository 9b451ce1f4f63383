"""What the console shows of a Billy connection: the mapping a bookkeeper edits (the sales-tax rulesets and tax rates
per VAT rate, the sales and expense accounts, the purchase tax rates per VAT category), and no link to a booked
invoice or bill (Billy publishes no address for one: README.md, "Console")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from koppel.connectors.contract import Chart, ChartList, MappingField, MappingForm, MappingKeys, MappingKind
from koppel.connectors.kit.console import stored_chart

if TYPE_CHECKING:
    from collections.abc import Mapping


def chart(settings: Mapping[str, Any]) -> Chart:
    """The organization's revenue and expense accounts, sales-tax rulesets and tax rates as ``after_connect`` stored
    them, each by id with its name."""
    return stored_chart(settings)


def _field(
    name: str, label: str, kind: MappingKind, help_text: str, keys: MappingKeys = "none", picks: ChartList | None = None
) -> MappingField:
    return MappingField(name=name, label=label, kind=kind, help=help_text, keys=keys, picks_from=picks)


FORM = MappingForm(
    fields=(
        _field(
            "tax_rulesets",
            "Sales-tax rulesets",
            "code_map",
            "VAT rate → the sales-tax ruleset id a product sold at that rate gets (Billy computes its VAT from it).",
            "vat_rates",
            "rulesets",
        ),
        _field(
            "treatment_rulesets",
            "Rulesets of sales abroad",
            "code_map",
            "intra_eu or export → the ruleset id the lines of such a sale get instead of their rate's.",
            "treatments",
            "rulesets",
        ),
        _field(
            "tax_rates",
            "Sales tax rates",
            "code_map",
            "VAT rate → Billy's sales tax rate id, sent on each line only when line tax rates are switched on.",
            "vat_rates",
        ),
        _field("sales_account_id", "Sales account", "ledger", "The revenue account id of products Koppel creates."),
        _field(
            "expense_account_id",
            "Purchases account",
            "ledger",
            "The expense account id of a bill line whose cost group has no account of its own.",
        ),
        _field(
            "expense_accounts",
            "Purchases account per product group",
            "ledger_map",
            "Cost group (a purchase line's product group) → expense account id.",
            "product_groups",
        ),
        _field(
            "purchase_tax_rates",
            "Purchase tax rates",
            "code_map",
            "VAT rate → the purchase tax rate id a bill line charged at that rate gets.",
            "vat_rates",
        ),
        _field(
            "purchase_category_tax_rates",
            "Purchase tax rates per VAT category",
            "code_map",
            "Reverse charge, intra-EU, imports, exempt, zero-rated, out of scope → Billy's purchase tax rate id.",
            "purchase_categories",
        ),
    ),
    chart=chart,
)
