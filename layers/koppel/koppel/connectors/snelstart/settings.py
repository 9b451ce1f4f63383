"""A connection's SnelStart settings (``Connection.target_settings["snelstart"]``): the mapping by ledger number,
the addresses of the API, and what the connect step synced (ledger and country ids). README.md has the API facts."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from koppel.connectors.kit import DescriptionTemplate

VENDOR = "SnelStart"

BtwSoort = Literal["Geen", "Laag", "Hoog"]
"""The btwSoort of a revenue line (VerkoopBoekingRegelModel); "Overig" is never produced."""

MAX_INVOICE_NUMBER = 25
"""VerkoopBoekingModel.factuurnummer maxLength."""

_GUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_STANDARD_RATES: dict[Decimal, BtwSoort] = {Decimal(21): "Hoog", Decimal(9): "Laag", Decimal(0): "Geen"}
BTW_REGEL = {"Hoog": "VerkopenHoog", "Laag": "VerkopenLaag"}
BTW_INKOOP = {"Hoog": "InkopenHoog", "Laag": "InkopenLaag"}
"""The btwSoort of deductible purchase VAT per rate kind (BtwBoekingModel)."""
BTW_VERLEGD = "InkopenVerlegd"
"""BtwBoekingModel's kind for a reverse-charged purchase."""


class SnelstartSettings(BaseModel):
    """One connection's SnelStart mapping; the defaults are "the default mapping" of a Dutch chart of accounts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_base: str = "https://b2bapi.snelstart.nl/v2"
    auth_url: str = "https://auth.snelstart.nl/b2b/token"
    revenue_high: int = 8000
    """Omzet hoog (21 %)."""
    revenue_low: int = 8010
    """Omzet laag (9 %)."""
    revenue_zero: int = 8020
    """Omzet geen btw (0 %, domestic)."""
    revenue_intra_eu: int = 8030
    """ICP: intra-EU supplies at 0 % to a buyer with a VAT number."""
    revenue_export: int = 8040
    shipping: int = 8050
    payment_fee: int = 8060
    extra_cost: int = 8070
    discount: int = 8090
    """Kortingen."""
    discounts_on_own_ledger: bool = True
    """False: discounts are booked on the revenue ledger of their rate instead of ``discount``."""
    rounding: int | None = None
    """Ledger for explicit rounding lines; None books them on the revenue ledger of their rate."""
    product_group_ledgers: dict[str, int] = Field(default_factory=dict)
    """Product group → revenue ledger for goods of that group (domestic documents)."""
    extra_vat_rates: dict[str, Literal["Hoog", "Laag"]] = Field(default_factory=dict)
    """Rates besides 21/9/0 % and the btwSoort they are booked as, e.g. {"6": "Laag"} for orders before 2019."""
    rate_limit_per_second: int = Field(default=0, ge=0)
    rate_limit_per_minute: int = Field(default=0, ge=0)
    """Client-side limits (0 = none): SnelStart publishes none; set them when the partner contract names some."""
    activation_base: str = "https://web.snelstart.nl"
    """Where users activate the koppeling (SnelStart web); a sandbox URL on a laptop."""
    country_ids: dict[str, Annotated[str, Field(pattern=_GUID)]] = Field(default_factory=dict)
    """ISO country code → land id, synced from the administratie when it is connected (like ledger_ids)."""
    ledger_ids: dict[str, Annotated[str, Field(pattern=_GUID)]] = Field(default_factory=dict)
    """Ledger number → grootboek id, as synced from the administratie at connect time (sync_ledgers)."""
    payment_term_days: int = Field(default=14, ge=0, le=999)
    description_template: DescriptionTemplate = "Webshop order {number}"
    """Booking description; may use {number}, {reference}, {name} and {date}."""
    invoice_number_prefix: str = Field(default="", max_length=MAX_INVOICE_NUMBER - 1)
    # -- purchases (inkoopboekingen), by the VAT on the supplier's line -------------------------------------------
    cost_high: int = 7000
    """Purchases at 21 % (Inkoopwaarde omzet hoog)."""
    cost_low: int = 7010
    """Purchases at 9 %."""
    cost_zero: int = 7020
    """Purchases without VAT: zero-rated, exempt, outside the scope."""
    cost_reverse_charge: int = 7050
    """Domestic reverse charge (btw verlegd): the supplier charged no VAT, the buyer accounts for it."""
    cost_intra_eu: int = 7030
    """Intra-EU acquisitions: a ledger whose function (InkopenImportBinnenEU…) makes SnelStart self-assess the VAT."""
    cost_import: int = 7040
    """Purchases from outside the EU (InkopenImportBuitenEU…)."""
    cost_group_ledgers: dict[str, int] = Field(default_factory=dict)
    """Cost group (the line's product group) → ledger, for purchases with VAT or without (not reverse-charged)."""
    foreign_vat_ledger: int | None = None
    """Where another country's VAT is booked, as a cost (it is not deductible here); None refuses such a document."""
    supplier_payment_term_days: int = Field(default=30, ge=0, le=999)
    """The krediettermijn of a supplier Koppel creates: SnelStart derives a purchase's due date from it."""
    purchase_description_template: DescriptionTemplate = "{name} factuur {number}"
    cash_journal: int | None = None
    """Dagboek (its number) a purchase paid in cash is booked paid in: a kasboeking; None: the first active Kas one."""
    bank_journal: int | None = None
    """Dagboek (its number) a purchase paid by card, transfer or otherwise is booked paid in: a bankboeking; None:
    the first active Bank one."""

    @field_validator("extra_vat_rates")
    @classmethod
    def _rates_are_numbers(cls, value: dict[str, str]) -> dict[str, str]:
        for rate in value:
            if not re.fullmatch(r"\d{1,2}(\.\d+)?", rate.strip()):
                raise ValueError(f'{rate!r} is not a VAT percentage like "6" or "5.5"')
        return value

    def ledger_id(self, number: int) -> str:
        """The grootboek id of a ledger number; a placeholder GUID that spells the number when it was not synced,
        so that a preview against an empty administratie still shows which ledger is meant."""
        return self.ledger_ids.get(str(number)) or f"00000000-0000-0000-0000-{number:012d}"

    def btw_soort(self, rate: Decimal) -> BtwSoort | None:
        if rate in _STANDARD_RATES:
            return _STANDARD_RATES[rate]
        for extra, soort in self.extra_vat_rates.items():
            if Decimal(extra.strip()) == rate:
                return soort
        return None
