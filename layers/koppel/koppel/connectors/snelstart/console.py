"""What the console shows of a SnelStart connection: the mapping a bookkeeper edits (ledger numbers per VAT rate, per
product group, of purchases) checked against the chart the activation synced, and no link to a booked document
(SnelStart Web publishes no address for one: README.md, "Console")."""

from __future__ import annotations

from koppel.connectors.contract import MappingField, MappingForm
from koppel.connectors.kit.console import dutch_revenue_fields, ledger_field, synced_ledgers

FORM = MappingForm(
    fields=(
        *dutch_revenue_fields("Ledger number"),
        ledger_field(
            "shipping", "Shipping charged", "Ledger number shipping costs charged to the customer are booked on."
        ),
        ledger_field(
            "payment_fee", "Payment fees charged", "Ledger number payment fees charged to the customer go to."
        ),
        ledger_field("extra_cost", "Other charges", "Ledger number other charges to the customer are booked on."),
        ledger_field(
            "discount", "Discounts", "Ledger number discounts are booked on (when they have a ledger of their own)."
        ),
        ledger_field(
            "rounding", "Rounding", "Ledger number rounding lines go to; empty: the revenue ledger of their rate."
        ),
        MappingField(
            name="extra_vat_rates",
            label="Other VAT rates",
            kind="code_map",
            help='A VAT rate besides 21, 9 and 0 % → the kind SnelStart books it as: "Hoog" or "Laag".',
            keys="vat_rates",
        ),
        ledger_field("cost_high", "Purchases at 21 %", "Ledger number purchases taxed at 21 % are booked on."),
        ledger_field("cost_low", "Purchases at 9 %", "Ledger number purchases taxed at 9 % are booked on."),
        ledger_field(
            "cost_zero", "Purchases without VAT", "Ledger number of zero-rated, exempt or out-of-scope purchases."
        ),
        ledger_field(
            "cost_reverse_charge",
            "Purchases, reverse charge",
            "Ledger number of domestic purchases where you account for the VAT (btw verlegd).",
        ),
        ledger_field(
            "cost_intra_eu",
            "Purchases from the EU",
            "Ledger number of goods and services bought from another EU country (VAT self-assessed).",
        ),
        ledger_field("cost_import", "Imports", "Ledger number of purchases from outside the EU."),
        MappingField(
            name="cost_group_ledgers",
            label="Costs per product group",
            kind="ledger_map",
            help="Cost group (a purchase line's product group) → ledger number; other groups use the rate's.",
            keys="product_groups",
        ),
        ledger_field(
            "foreign_vat_ledger",
            "Foreign VAT",
            "Ledger number another country's VAT is booked on as a cost; empty: such a document is held for you.",
        ),
    ),
    chart=synced_ledgers,
)
