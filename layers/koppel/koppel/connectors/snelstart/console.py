"""What the console shows of a SnelStart connection: the mapping a bookkeeper edits (ledger numbers per VAT rate, per
product group, of purchases) checked against the chart the activation synced, and no link to a booked document
(SnelStart Web publishes no address for one: README.md, "Console")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from koppel.connectors.contract import Chart, MappingField, MappingForm

if TYPE_CHECKING:
    from collections.abc import Mapping


def chart(settings: Mapping[str, Any]) -> Chart:
    """The ledger numbers synced at activation (``ledger_ids``: number → grootboek id). SnelStart's ledger names are
    not kept, so each is named by its number; SnelStart has no tax codes (a line's VAT is its btwSoort)."""
    synced = settings.get("ledger_ids") or {}
    return Chart(ledgers={str(number): str(number) for number in synced}, tax_codes={})


def _ledger(name: str, label: str, help_text: str) -> MappingField:
    return MappingField(name=name, label=label, kind="ledger", help=help_text)


FORM = MappingForm(
    fields=(
        _ledger("revenue_high", "Revenue at the high rate (21 %)", "Ledger number sales taxed at 21 % are booked on."),
        _ledger("revenue_low", "Revenue at the low rate (9 %)", "Ledger number sales taxed at 9 % are booked on."),
        _ledger("revenue_zero", "Revenue without VAT (0 %)", "Ledger number domestic sales at 0 % are booked on."),
        _ledger(
            "revenue_intra_eu",
            "Revenue, intra-EU supplies",
            "Ledger number of sales at 0 % to a business in another EU country (reported as ICP).",
        ),
        _ledger("revenue_export", "Revenue, exports", "Ledger number of sales to customers outside the EU."),
        _ledger("shipping", "Shipping charged", "Ledger number shipping costs charged to the customer are booked on."),
        _ledger("payment_fee", "Payment fees charged", "Ledger number payment fees charged to the customer go to."),
        _ledger("extra_cost", "Other charges", "Ledger number other costs charged to the customer are booked on."),
        _ledger(
            "discount", "Discounts", "Ledger number discounts are booked on (when they have a ledger of their own)."
        ),
        _ledger("rounding", "Rounding", "Ledger number rounding lines go to; empty: the revenue ledger of their rate."),
        MappingField(
            name="product_group_ledgers",
            label="Revenue per product group",
            kind="ledger_map",
            help="Product group → ledger number for goods of that group sold at home; other groups use the rate's.",
            keys="product_groups",
        ),
        MappingField(
            name="extra_vat_rates",
            label="Other VAT rates",
            kind="code_map",
            help='A VAT rate besides 21, 9 and 0 % → the kind SnelStart books it as: "Hoog" or "Laag".',
            keys="vat_rates",
        ),
        _ledger("cost_high", "Purchases at 21 %", "Ledger number purchases taxed at 21 % are booked on."),
        _ledger("cost_low", "Purchases at 9 %", "Ledger number purchases taxed at 9 % are booked on."),
        _ledger("cost_zero", "Purchases without VAT", "Ledger number of zero-rated, exempt or out-of-scope purchases."),
        _ledger(
            "cost_reverse_charge",
            "Purchases, reverse charge",
            "Ledger number of domestic purchases where you account for the VAT (btw verlegd).",
        ),
        _ledger(
            "cost_intra_eu",
            "Purchases from the EU",
            "Ledger number of goods and services bought from another EU country (VAT self-assessed).",
        ),
        _ledger("cost_import", "Imports", "Ledger number of purchases from outside the EU."),
        MappingField(
            name="cost_group_ledgers",
            label="Costs per product group",
            kind="ledger_map",
            help="Cost group (a purchase line's product group) → ledger number; other groups use the rate's.",
            keys="product_groups",
        ),
        _ledger(
            "foreign_vat_ledger",
            "Foreign VAT",
            "Ledger number another country's VAT is booked on as a cost; empty: such a document is held for you.",
        ),
    ),
    chart=chart,
)
