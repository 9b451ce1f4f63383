"""A connection's Billy settings: where to call, which sales-tax ruleset books each VAT rate, the sales and cash
accounts, the purchase tax rates and expense accounts of bills, the account a purchase paid at the counter is paid
from, and what the organization is (currency, country). ``after_connect`` (chart.py) fills what the organization
itself can tell; a person maps the rest with ``koppel connections map``. README.md has the API facts."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

VENDOR = "Billy"
SYSTEM = "billy"
MAX_PAGE = 1000
"""Billy's largest page (and its default) [V]."""
Treatment = Literal["intra_eu", "export", "reverse_charge", "oss"]
PurchaseCategory = Literal["zero_rated", "exempt", "outside_scope", "reverse_charge", "intra_eu", "export"]


def rate_key(rate: Decimal | str) -> str:
    """A VAT rate as the key of ``tax_rulesets``: ``Decimal("25.00")``, ``"25"`` and ``0.25`` of Billy all read as
    percentages here, so ``"25"``; a fraction is never passed in (Billy's ``0.25`` is turned into 25 by the caller)."""
    try:
        value = Decimal(str(rate).strip().rstrip("%").strip())
    except InvalidOperation:
        raise ValueError(f'{rate!r} is not a VAT percentage like "25" or "12.5"') from None
    return format(value.normalize(), "f") if value.is_finite() and value >= 0 else "invalid"


class BillySettings(BaseModel):
    """Every field has a default or is filled by ``after_connect``; a wrong value is refused with its name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(default="https://api.billysbilling.com/v2", pattern=r"^https?://\S+$")
    organization_id: str = ""
    organization_currency: str = Field(default="DKK", pattern=r"^[A-Z]{3}$")
    """The organization's base currency: a product's ``unit_price`` in record sync is its price in this currency."""
    organization_country: str = Field(default="DK", pattern=r"^[A-Z]{2}$")
    """Where a customer without a country is placed (Billy requires ``countryId`` on a contact)."""
    tax_rulesets: dict[str, str] = Field(default_factory=dict)
    """VAT rate → sales-tax ruleset id, e.g. ``{"25": "<id>", "0": "<id>"}``: a product created for a line at that
    rate gets that ruleset (Billy computes a line's VAT from its product's ruleset and the contact's country)."""
    treatment_rulesets: dict[Treatment, str] = Field(default_factory=dict)
    """Ruleset for the lines of a sale that is not domestic (``intra_eu``, ``export``): overrides ``tax_rulesets``."""
    sales_account_id: str = ""
    """The revenue account of products Koppel creates (empty: Billy's default sales account)."""
    chart: dict[str, dict[str, str]] = Field(default_factory=dict)
    """What the console's mapping editor offers, read by ``after_connect``: ``ledgers`` (revenue and expense
    accounts, "number name"), ``rulesets`` (sales-tax rulesets) and ``tax_codes`` (active tax rates), id → name."""
    cash_account_id: str = ""
    """A payment-enabled account (the bank), read after connecting; where payments would be registered."""
    line_tax_rate: Literal["ignore", "send"] = "ignore"
    """Whether each invoice line also carries ``taxRateId`` of its rate. Billy documents a line's tax rate as
    read-only (its product's ruleset decides), so ``ignore`` sends none; ``send`` sends it for an account where Billy
    still takes it. Either way the answer is reconciled to the cent before the invoice is approved."""
    tax_rates: dict[str, str] = Field(default_factory=dict)
    """VAT rate → Billy's sales tax rate id (read after connecting): what ``line_tax_rate: send`` sends."""
    payment_terms_days: int = Field(default=8, ge=0, le=999)
    """Days to pay when the document does not say (Billy's own default for a new organization is 8 [I])."""
    invoice_number_prefix: str = Field(default="", max_length=20)
    purchase_tax_rates: dict[str, str] = Field(default_factory=dict)
    """VAT rate → the purchase tax rate (``appliesToPurchases``) a bill line charged at that rate gets, e.g.
    ``{"25": "<Købsmoms 25%>", "21": "<id>"}``; read after connecting (the one active purchase rate of each
    percentage), a person's mapping kept."""
    purchase_category_tax_rates: dict[PurchaseCategory, str] = Field(default_factory=dict)
    """A line's VAT category → Billy's own purchase tax rate for it: reverse charge (``reverse_charge``, domestic),
    intra-EU acquisitions (``intra_eu``), imports from outside the EU (``export``), and exempt, zero-rated or
    out-of-scope purchases. Read after connecting from the organization's predefined purchase rates."""
    expense_account_id: str = ""
    """The cost account of a bill line whose cost group is not mapped (read after connecting: the expense account
    with the lowest number, a person's choice kept)."""
    expense_accounts: dict[str, str] = Field(default_factory=dict)
    """A line's cost group (``product_group``) → the expense account its bill line is booked on."""
    purchase_cash_account_id: str = ""
    """The payment-enabled account a purchase paid when it was bought (a till receipt paid by card or cash) is paid
    from; empty: ``cash_account_id``, the account a paid sale is paid into. A person maps it (e.g. the cash box)."""
    page_size: int = Field(default=MAX_PAGE, ge=1, le=MAX_PAGE)

    @field_validator("tax_rulesets", "tax_rates", "purchase_tax_rates")
    @classmethod
    def _rates_are_numbers(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [rate for rate in value if rate_key(rate) == "invalid"]
        if bad:
            raise ValueError(f'{bad[0]!r} is not a VAT percentage like "25" or "12.5"')
        return {rate_key(rate): ident for rate, ident in value.items()}

    def ruleset(self, rate: Decimal, treatment: str) -> str | None:
        if treatment in self.treatment_rulesets:
            return self.treatment_rulesets[treatment]
        return self.tax_rulesets.get(rate_key(rate))
