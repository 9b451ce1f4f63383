"""A connection's e-Boekhouden mapping (``Connection.target_settings["eboekhouden"]``), by ledger code, with the
ledger ids the connect step synced; the limits the API sets on its fields. README.md has the API facts."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from koppel.connectors.kit import DescriptionTemplate

VENDOR = "e-Boekhouden.nl"
INVOICE_RECEIVED = 1
INVOICE_SENT = 2
PAYMENT_RECEIVED = 3
PAYMENT_SENT = 4
MAX_INVOICE_NUMBER = 50
MAX_RELATION_CODE = 15
MAX_TEXT = 50
"""Descriptions are cut to 50 characters: no public source gives the limit, so the shortest one seen is assumed."""
InExVat = Literal["IN", "EX"]

VAT_RATES: dict[str, Decimal] = {"HOOG_VERK_21": Decimal(21), "LAAG_VERK_9": Decimal(9)}
"""The rate e-Boekhouden applies per sales VAT code; every other sales code books 0 % VAT in the row."""
DOMESTIC_CODES = {Decimal(21): "HOOG_VERK_21", Decimal(9): "LAAG_VERK_9", Decimal(0): "GEEN"}
PURCHASE_VAT_RATES: dict[str, Decimal] = {"HOOG_INK_21": Decimal(21), "LAAG_INK_9": Decimal(9)}
"""The rate e-Boekhouden applies per purchase VAT code (deductible VAT); the others book 0 % in the row."""
PurchaseVatCode = Literal["HOOG_INK_21", "LAAG_INK_9", "VERL_INK", "VERL_INK_L9", "BI_EU_INK", "BU_EU_INK", "GEEN"]
PURCHASE_VAT_CODES: dict[str, PurchaseVatCode] = {
    "21": "HOOG_INK_21",
    "9": "LAAG_INK_9",
    "0": "GEEN",
    "zero_rated": "GEEN",
    "exempt": "GEEN",
    "outside_scope": "GEEN",
    "reverse_charge": "VERL_INK",
    "intra_eu": "BI_EU_INK",
    "export": "BU_EU_INK",
}
"""A purchase line's code: a standard-rated line's by its rate, every other line's by its VAT category."""


class EboekhoudenSettings(BaseModel):
    """One connection's e-Boekhouden mapping, by ledger code; the defaults are e-Boekhouden's standard chart."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_base: str = "https://api.e-boekhouden.nl"
    source: str = Field(default="Koppel", pattern=r"^[A-Za-z0-9]{1,10}$")
    """The integration code e-Boekhouden asks for when a session is opened (at most 10 letters or digits)."""
    debtors: str = "1300"
    revenue_high: str = "8000"
    revenue_low: str = "8010"
    revenue_zero: str = "8020"
    revenue_intra_eu: str = "8030"
    revenue_export: str = "8040"
    shipping: str | None = None
    payment_fee: str | None = None
    extra_cost: str | None = None
    """Ledgers for shipping, payment fees and extra costs; None books them on the revenue ledger of their rate
    (e-Boekhouden's standard chart has no ledger of their own for them)."""
    discount: str = "8090"
    discounts_on_own_ledger: bool = True
    rounding: str | None = None
    product_group_ledgers: dict[str, str] = Field(default_factory=dict)
    """Product group → revenue ledger code for goods of that group (domestic documents)."""
    payment_ledgers: dict[str, str] = Field(
        default_factory=lambda: {"cash": "1000", "card": "1100", "bank": "1100", "voucher": "1100", "other": "1100"}
    )
    """Payment method → the ledger the money arrives on: the till's cash on 1000 Kas, PIN and the rest on 1100."""
    purchase_payment_ledgers: dict[str, str] = Field(default_factory=dict)
    """Payment method → the ledger a supplier's receipt was paid from (e.g. {"card": "1110"} for a second bank
    account); a method not named here is paid from its ledger in ``payment_ledgers`` (cash 1000 Kas, the rest 1100)."""
    intra_eu_vat_code: Literal["BI_EU_VERK", "BI_EU_VERK_D"] = "BI_EU_VERK"
    """ICP goods (BI_EU_VERK) or services (BI_EU_VERK_D) for intra-EU supplies at 0 %."""
    creditors: str = "1600"
    purchase_ledger: str = "4000"
    """The costs ledger a supplier's invoice is booked on (4000 Algemene kosten in the standard chart)."""
    purchase_group_ledgers: dict[str, str] = Field(default_factory=dict)
    """Cost group (a purchase line's product group) → costs ledger code, e.g. {"inkoop": "7000"}."""
    purchase_vat_codes: dict[str, PurchaseVatCode] = Field(default_factory=lambda: dict(PURCHASE_VAT_CODES))
    """Rate ("21", "9", "0") or VAT category → purchase VAT code; see PURCHASE_VAT_CODES."""
    foreign_vat_ledger: str | None = None
    """Where VAT charged by another country (not deductible here) is booked, as a cost without VAT code; None
    refuses such a document, so that a person decides."""
    purchase_description_template: DescriptionTemplate = "{name} {number}"
    ledger_ids: dict[str, int] = Field(default_factory=dict)
    """Ledger code → e-Boekhouden's ledger id, synced from the administration (connect, and every chart sync)."""
    payment_term_days: int = Field(default=14, ge=0, le=999)
    description_template: DescriptionTemplate = "Factuur {number}"
    invoice_number_prefix: str = Field(default="", max_length=MAX_INVOICE_NUMBER - 1)
    rate_limit_per_second: int = Field(default=0, ge=0)
    rate_limit_per_minute: int = Field(default=0, ge=0)
    """Client-side limits (0 = none): e-Boekhouden publishes none."""
