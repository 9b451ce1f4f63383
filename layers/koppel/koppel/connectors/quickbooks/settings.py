"""A connection's QuickBooks Online settings: where to call, which TaxCode books each VAT rate and which Item books
the lines. ``after_connect`` fills what the company itself can tell (tax codes by rate, the default Item, the home
currency); a person maps the rest with ``koppel connections map``. README.md in this folder has the API facts."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Literal
from urllib.parse import quote as url_quote

from pydantic import BaseModel, ConfigDict, Field, field_validator

VENDOR = "QuickBooks Online"
SYSTEM = "quickbooks"
MAX_DOC_NUMBER = 21
"""QuickBooks refuses a longer DocNumber (2050 "Length exceeds limit"; the limit itself is not published)."""
MAX_DISPLAY_NAME = 500
Treatment = Literal["intra_eu", "export", "reverse_charge", "oss"]
PurchaseCategory = Literal["zero_rated", "exempt", "outside_scope", "reverse_charge", "intra_eu", "export"]


def rate_key(rate: Decimal | str) -> str:
    """A VAT rate as the key of ``tax_codes``: ``Decimal("21.00")`` and ``"21"`` are both ``"21"``."""
    try:
        value = Decimal(str(rate).strip().rstrip("%").strip())
    except InvalidOperation:
        raise ValueError(f'{rate!r} is not a VAT percentage like "20" or "5.5"') from None
    text = format(value.normalize(), "f")
    return text if value.is_finite() and value >= 0 else "invalid"


class QuickbooksSettings(BaseModel):
    """Every field has a default or is filled by ``after_connect``; a wrong value is refused with its name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(default="https://quickbooks.api.intuit.com", pattern=r"^https?://\S+$")
    """The Accounting API (``https://sandbox-quickbooks.api.intuit.com`` for Intuit's developer sandbox)."""
    authorize_url: str = Field(default="https://appcenter.intuit.com/connect/oauth2", pattern=r"^https?://\S+$")
    token_url: str = Field(
        default="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer", pattern=r"^https?://\S+$"
    )
    app_url: str = Field(default="https://app.qbo.intuit.com", pattern=r"^https?://\S+$")
    """Where a person opens an invoice (``https://app.sandbox.qbo.intuit.com`` for a developer sandbox)."""
    minorversion: int = Field(default=75, ge=1, le=999)
    tax_codes: dict[str, str] = Field(default_factory=dict)
    """VAT rate → TaxCode id, e.g. ``{"20": "2", "5": "3", "0": "4"}``; filled by rate where the code is clear."""
    tax_code_rates: dict[str, dict[str, str]] = Field(default_factory=dict)
    """TaxCode id → {TaxRate id: percent}, read from the company: predicts QuickBooks' own tax."""
    treatment_tax_codes: dict[Treatment, str] = Field(default_factory=dict)
    """TaxCode id for a sale that is not domestic (``intra_eu``: "0.0% ECG", ``reverse_charge``, ``export``)."""
    item_id: str = ""
    """The Item every line is booked on (its income account is where the revenue goes)."""
    chart: dict[str, dict[str, str]] = Field(default_factory=dict)
    """What the console's mapping editor offers, read by ``after_connect``: ``items`` (sales Items), ``ledgers``
    (expense Accounts) and ``tax_codes`` (TaxCodes with a rate), each id → name."""
    product_group_items: dict[str, str] = Field(default_factory=dict)
    """Product group → Item id, for revenue by group; other groups use ``item_id``."""
    due_days: int = Field(default=14, ge=0, le=999)
    """Days to pay when neither the document nor the customer's terms say."""
    update_customers: bool = False
    """Whether a customer that changed in the source is changed in QuickBooks too (else QuickBooks' copy stays)."""
    home_currency: str = Field(default="", pattern=r"^([A-Z]{3})?$")
    multicurrency: bool = False
    """Whether the company takes documents in another currency than its home currency (read from Preferences)."""
    country: str = ""
    """The company's country as QuickBooks says it (read from CompanyInfo; for the person, not used to book)."""
    # -- purchases (a supplier's invoice as a Bill, its credit note as a VendorCredit): filled by after_connect ----
    expense_account_id: str = ""
    """The Account purchase lines are booked on: the company's "Inkopen", "Purchases" or "Cost of sales"."""
    cost_group_accounts: dict[str, str] = Field(default_factory=dict)
    """Cost group (the line's product group) → Account id; other groups use ``expense_account_id``."""
    purchase_tax_codes: dict[str, str] = Field(default_factory=dict)
    """VAT rate → TaxCode id for purchases at that rate (the code's purchase side), e.g. ``{"21": "2", "9": "3"}``."""
    purchase_tax_code_rates: dict[str, dict[str, str]] = Field(default_factory=dict)
    """TaxCode id → {purchase TaxRate id: percent}: predicts QuickBooks' own tax on a bill."""
    purchase_category_tax_codes: dict[PurchaseCategory, str] = Field(default_factory=dict)
    """TaxCode id for a purchase line that is not plain domestic VAT: ``reverse_charge`` (btw verlegd),
    ``intra_eu`` (an intra-EU acquisition), ``export`` (bought from outside the EU), ``exempt``, ``outside_scope``."""
    foreign_vat_account_id: str = ""
    """The Account another country's VAT (not deductible) is booked on as a cost; empty: such a document is refused."""
    # -- a purchase paid when it was bought (a till receipt): a BillPayment on its Bill (purchase_payment.py) -------
    purchase_payment_account_id: str = ""
    """The Bank account such a purchase is paid from (``PayType: Check``): filled after connecting with the company's
    checking account; empty: the receipt is parked after its bill is booked, saying to set it."""
    purchase_cash_account_id: str = ""
    """The Bank-type account cash is paid from (QuickBooks' "Cash on hand"): filled when the company has one such
    account; empty: cash is paid from ``purchase_payment_account_id``."""
    purchase_card_account_id: str = ""
    """A Credit Card account purchases paid by card are booked on (``PayType: CreditCard``); empty: a card payment
    (a debit card, PIN) leaves ``purchase_payment_account_id`` at once. Never guessed: a person maps it."""
    rate_limit_per_second: int = Field(default=10, ge=0)
    rate_limit_per_minute: int = Field(default=500, ge=0)

    @field_validator("tax_codes", "purchase_tax_codes")
    @classmethod
    def _rates_are_numbers(cls, value: dict[str, str]) -> dict[str, str]:
        normal = {rate_key(rate): code for rate, code in value.items()}
        bad = [rate for rate in value if rate_key(rate) == "invalid"]
        if bad:
            raise ValueError(f'{bad[0]!r} is not a VAT percentage like "20" or "5.5"')
        if any(not re.fullmatch(r"\d{1,18}", code) for code in normal.values()):
            raise ValueError("a TaxCode id is a number as QuickBooks gives it (SELECT * FROM TaxCode)")
        return normal

    def tax_code(self, rate: Decimal) -> str | None:
        return self.tax_codes.get(rate_key(rate))

    def purchase_tax_code(self, rate: Decimal) -> str | None:
        return self.purchase_tax_codes.get(rate_key(rate))

    def page_link(self, page: str, ident: str) -> str:
        """Where a person opens a form in QuickBooks' own screens: ``page`` is ``invoice``, ``creditmemo``, ``bill``
        or ``vendorcredit``, ``ident`` the form's Id (README.md, "Links to a booked form")."""
        return f"{self.app_url.rstrip('/')}/app/{page}?txnId={url_quote(ident, safe='')}"
