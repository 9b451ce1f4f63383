"""What the console shows of an e-Boekhouden.nl connection: the mapping a bookkeeper edits (ledger codes per VAT rate,
per product group, of purchases, and the purchase VAT codes) checked against the chart the connect step synced, and
no link to a booked mutation (e-Boekhouden publishes no address for one: README.md, "Console")."""

from __future__ import annotations

from koppel.connectors.contract import MappingField, MappingForm
from koppel.connectors.kit.console import dutch_revenue_fields, ledger_field, synced_ledgers

FORM = MappingForm(
    fields=(
        *dutch_revenue_fields("Ledger code"),
        ledger_field(
            "shipping", "Shipping charged", "Ledger code for shipping charged; empty: the revenue ledger of its rate."
        ),
        ledger_field(
            "payment_fee",
            "Payment fees charged",
            "Ledger code for payment fees; empty: the revenue ledger of its rate.",
        ),
        ledger_field(
            "extra_cost", "Other charges", "Ledger code for other charges; empty: the revenue ledger of their rate."
        ),
        ledger_field(
            "discount", "Discounts", "Ledger code discounts are booked on (when they have a ledger of their own)."
        ),
        ledger_field(
            "rounding", "Rounding", "Ledger code rounding lines go to; empty: the revenue ledger of their rate."
        ),
        ledger_field("purchase_ledger", "Purchases", "Costs ledger code a supplier's invoice is booked on."),
        MappingField(
            name="purchase_group_ledgers",
            label="Costs per product group",
            kind="ledger_map",
            help="Cost group (a purchase line's product group) → costs ledger code; other groups use Purchases.",
            keys="product_groups",
        ),
        MappingField(
            name="purchase_vat_codes",
            label="Purchase VAT codes",
            kind="code_map",
            help="A purchase line's rate (21, 9, 0) or VAT category → e-Boekhouden's VAT code, e.g. HOOG_INK_21.",
            keys="purchase_categories",
        ),
        ledger_field(
            "foreign_vat_ledger",
            "Foreign VAT",
            "Ledger code another country's VAT is booked on as a cost; empty: such a document is held for you.",
        ),
    ),
    chart=synced_ledgers,
)
