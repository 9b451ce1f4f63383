"""What the console shows of an e-Boekhouden.nl connection: the mapping a bookkeeper edits (ledger codes per VAT rate,
per product group, of purchases, and the purchase VAT codes) checked against the chart the connect step synced, and
no link to a booked mutation (e-Boekhouden publishes no address for one: README.md, "Console")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from koppel.connectors.contract import Chart, MappingField, MappingForm

if TYPE_CHECKING:
    from collections.abc import Mapping


def chart(settings: Mapping[str, Any]) -> Chart:
    """The ledger codes synced from the administration (``ledger_ids``: code → id). Their names are not kept, so
    each is named by its code; the VAT codes are e-Boekhouden's fixed list, which the settings model checks."""
    synced = settings.get("ledger_ids") or {}
    return Chart(ledgers={str(code): str(code) for code in synced}, tax_codes={})


def _ledger(name: str, label: str, help_text: str) -> MappingField:
    return MappingField(name=name, label=label, kind="ledger", help=help_text)


FORM = MappingForm(
    fields=(
        _ledger("revenue_high", "Revenue at the high rate (21 %)", "Ledger code sales taxed at 21 % are booked on."),
        _ledger("revenue_low", "Revenue at the low rate (9 %)", "Ledger code sales taxed at 9 % are booked on."),
        _ledger("revenue_zero", "Revenue without VAT (0 %)", "Ledger code domestic sales at 0 % are booked on."),
        _ledger(
            "revenue_intra_eu",
            "Revenue, intra-EU supplies",
            "Ledger code of sales at 0 % to a business in another EU country (reported as ICP).",
        ),
        _ledger("revenue_export", "Revenue, exports", "Ledger code of sales to customers outside the EU."),
        _ledger(
            "shipping", "Shipping charged", "Ledger code for shipping charged; empty: the revenue ledger of its rate."
        ),
        _ledger(
            "payment_fee",
            "Payment fees charged",
            "Ledger code for payment fees; empty: the revenue ledger of its rate.",
        ),
        _ledger(
            "extra_cost", "Other charges", "Ledger code for other charges; empty: the revenue ledger of their rate."
        ),
        _ledger("discount", "Discounts", "Ledger code discounts are booked on (when they have a ledger of their own)."),
        _ledger("rounding", "Rounding", "Ledger code rounding lines go to; empty: the revenue ledger of their rate."),
        MappingField(
            name="product_group_ledgers",
            label="Revenue per product group",
            kind="ledger_map",
            help="Product group → ledger code for goods of that group sold at home; other groups use the rate's.",
            keys="product_groups",
        ),
        _ledger("purchase_ledger", "Purchases", "Costs ledger code a supplier's invoice is booked on."),
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
        _ledger(
            "foreign_vat_ledger",
            "Foreign VAT",
            "Ledger code another country's VAT is booked on as a cost; empty: such a document is held for you.",
        ),
    ),
    chart=chart,
)
