"""What a new non-US (UK) QuickBooks Online company holds: VAT codes and rates, a small chart, items, terms,
CompanyInfo and Preferences, in the shapes of the recorded ``TaxCode``/``TaxRate``/``Item``/``Term`` answers.

The UK code names (``20.0% S``, ``5.0% R``, ``0.0% Z``, ``Exempt``, ``No VAT``, ``0.0% ECG``, ``0.0% ECS``) and
rate names (``SS-20.0`` sales, ``SP-20.0`` purchases) are the ones UK users quote in public issues; their ids
differ per company [I], so a connector must look codes up (``SELECT * FROM TaxCode``), never hard-code ids.
An Irish company would have 23 %/13.5 %/9 %: pass your own ``vat_codes`` to ``add_company``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

# (code id, name, description, ((sales rate id, rate name, percent), ...)); purchase rates in *_PURCHASE_RATES
UK_VAT_CODES: tuple[tuple[str, str, str, tuple[tuple[str, str, str], ...]], ...] = (
    ("2", "20.0% S", "Standard", (("1", "SS-20.0", "20"),)),
    ("3", "5.0% R", "Reduced", (("3", "SR-5.0", "5"),)),
    ("4", "0.0% Z", "Zero-rated", (("5", "SZ-0.0", "0"),)),
    ("5", "Exempt", "Exempt", (("7", "SE-0.0", "0"),)),
    ("6", "0.0% ECG", "EC Goods Zero-rated", (("9", "ECG-S-0.0", "0"),)),
    ("7", "0.0% ECS", "EC Services Zero-rated", (("11", "ECS-S-0.0", "0"),)),
    ("8", "No VAT", "No VAT", ()),
)
DUTCH_VAT_CODES: tuple[tuple[str, str, str, tuple[tuple[str, str, str], ...]], ...] = (
    ("2", "21% H", "Hoog", (("1", "SH-21", "21"),)),
    ("3", "9% L", "Laag", (("3", "SL-9", "9"),)),
    ("4", "0% Z", "Nul", (("5", "SZ-0", "0"),)),
    ("5", "Exempt", "Vrijgesteld", (("7", "SE-0", "0"),)),
    ("6", "0.0% ECG", "EC Goods Zero-rated", (("9", "ECG-S-0.0", "0"),)),
    ("7", "0% Export", "Export outside the EU", (("11", "EX-0", "0"),)),
    ("8", "0% RC", "Reverse charge", (("13", "RC-0", "0"),)),
)
"""A Dutch company of the dev kit's (21 % high, 9 % low, 0 %, exempt, and codes for what is not domestic)."""
DUTCH_PURCHASE_RATES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "2": (("2", "PH-21", "21"),),
    "3": (("4", "PL-9", "9"),),
    "4": (("6", "PZ-0", "0"),),
    "5": (("8", "PE-0", "0"),),
    "6": (("10", "ECG-P-21", "21"), ("15", "ECG-PO-21", "-21")),
    "7": (("12", "IM-0", "0"),),
    "8": (("14", "RC-P-21", "21"), ("16", "RC-PO-21", "-21")),
}
"""TaxCode id → its purchase rates (``PurchaseTaxRateList``). A code whose VAT the buyer self-assesses (an intra-EU
acquisition, domestic reverse charge) holds the deductible rate and its opposite, which cancel on the bill: the
VAT return shows both, the bill's total carries none [I: the shape of QuickBooks' own self-assessing codes]."""
UK_PURCHASE_RATES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "2": (("2", "SP-20.0", "20"),),
    "3": (("4", "SRP-5.0", "5"),),
    "4": (("6", "SZP-0.0", "0"),),
    "5": (("8", "SEP-0.0", "0"),),
    "6": (("10", "ECG-P-20.0", "20"), ("15", "ECG-PO-20.0", "-20")),
    "7": (("12", "ECS-P-20.0", "20"), ("16", "ECS-PO-20.0", "-20")),
}
DUTCH_RATE_OF_CODE = {code: Decimal(rates[0][2]) for code, _, _, rates in DUTCH_VAT_CODES}
"""TaxCode id → the VAT rate a document shows for it (0 for a self-assessing code): how a line's rate is read back."""
DUTCH_PERCENT_OF_RATE = {
    rate_id: Decimal(pct)
    for rates in (*(r for _, _, _, r in DUTCH_VAT_CODES), *DUTCH_PURCHASE_RATES.values())
    for rate_id, _, pct in rates
}
"""TaxRate id → its percentage (sales and purchase rates)."""
ACCOUNTS = (
    ("1", "Sales", "Income", "SalesOfProductIncome", "Revenue"),
    ("2", "Discounts given", "Income", "DiscountsRefundsGiven", "Revenue"),
    ("3", "Current", "Bank", "Checking", "Asset"),
    ("4", "Trade Debtors", "Accounts Receivable", "AccountsReceivable", "Asset"),
    ("5", "VAT Control", "Other Current Liability", "GlobalTaxPayable", "Liability"),
    ("6", "Undeposited Funds", "Other Current Asset", "UndepositedFunds", "Asset"),
    ("7", "Purchases", "Cost of Goods Sold", "SuppliesMaterialsCogs", "Expense"),
    ("8", "Office expenses", "Expense", "OfficeGeneralAdministrativeExpenses", "Expense"),
    ("9", "Trade Creditors", "Accounts Payable", "AccountsPayable", "Liability"),
)
TERMS = (("1", "Due on receipt", 0), ("2", "Net 14", 14), ("3", "Net 30", 30))
CURRENCIES = {"GBP": "British Pound Sterling", "EUR": "Euro", "USD": "United States Dollar"}


def purchase_rates_of(codes: Any) -> dict[str, tuple[tuple[str, str, str], ...]]:
    """The purchase side of the dev kit's own code sets; none for a set a test brings."""
    return DUTCH_PURCHASE_RATES if codes is DUTCH_VAT_CODES else UK_PURCHASE_RATES if codes is UK_VAT_CODES else {}


def _details(rates: tuple[tuple[str, str, str], ...]) -> dict[str, Any]:
    return {
        "TaxRateDetail": [
            {"TaxRateRef": {"value": rate_id, "name": rate_name}, "TaxTypeApplicable": "TaxOnAmount", "TaxOrder": 0}
            for rate_id, rate_name, _ in rates
        ]
    }


def tax_rows(codes: tuple[tuple[str, str, str, tuple[tuple[str, str, str], ...]], ...]) -> tuple[list[Any], list[Any]]:
    """TaxCode and TaxRate rows (without Id/SyncToken/MetaData, which the store adds)."""
    tax_codes: list[dict[str, Any]] = []
    tax_rates: list[dict[str, Any]] = []
    purchase = purchase_rates_of(codes)
    for code_id, name, description, sales in codes:
        bought = purchase.get(code_id, ())
        rates = (*sales, *bought)
        tax_codes.append(
            {
                "Id": code_id,
                "Name": name,
                "Description": description,
                "Active": True,
                "Taxable": bool(rates),
                "TaxGroup": True,
                "SalesTaxRateList": _details(sales),
                "PurchaseTaxRateList": _details(bought),
            }
        )
        for rate_id, rate_name, percent in rates:
            tax_rates.append(
                {
                    "Id": rate_id,
                    "Name": rate_name,
                    "Description": description,
                    "Active": True,
                    "RateValue": Decimal(percent),
                    "AgencyRef": {"value": "1"},
                    "SpecialTaxType": "NONE",
                    "DisplayType": "ReadOnly",
                    "EffectiveTaxRate": [{"RateValue": Decimal(percent), "EffectiveDate": "2011-01-04T00:00:00Z"}],
                }
            )
    return tax_codes, tax_rates


def account_rows(currency: str) -> list[dict[str, Any]]:
    return [
        {
            "Id": ident,
            "Name": name,
            "SubAccount": False,
            "FullyQualifiedName": name,
            "Active": True,
            "Classification": classification,
            "AccountType": account_type,
            "AccountSubType": sub_type,
            "CurrentBalance": Decimal(0),
            "CurrentBalanceWithSubAccounts": Decimal(0),
            "CurrencyRef": currency_ref(currency),
        }
        for ident, name, account_type, sub_type, classification in ACCOUNTS
    ]


def item_rows() -> list[dict[str, Any]]:
    def item(ident: str, name: str, kind: str) -> dict[str, Any]:
        return {
            "Id": ident,
            "Name": name,
            "FullyQualifiedName": name,
            "Active": True,
            "Type": kind,
            "Taxable": True,
            "UnitPrice": Decimal(0),
            "IncomeAccountRef": {"value": "1", "name": "Sales"},
            "TrackQtyOnHand": False,
        }

    return [item("1", "Services", "Service"), item("2", "Goods", "NonInventory")]


def term_rows() -> list[dict[str, Any]]:
    return [
        {"Id": ident, "Name": name, "Active": True, "Type": "STANDARD", "DueDays": days, "DiscountDays": 0}
        for ident, name, days in TERMS
    ]


def currency_ref(code: str) -> dict[str, str]:
    return {"value": code, "name": CURRENCIES.get(code, code)}


def company_rows(realm: str, name: str, country: str, currency: str, multicurrency: bool) -> dict[str, Any]:
    info = {
        "Id": "1",
        "CompanyName": name,
        "LegalName": name,
        "CompanyAddr": {"Id": "1", "Line1": "1 Sandbox Street", "City": "London", "Country": country},
        "Country": country,
        "SupportedLanguages": "en",
        "NameValue": [{"Name": "OfferingSku", "Value": "QuickBooks Online Plus"}],
    }
    preferences = {
        "Id": "1",
        "CurrencyPrefs": {"HomeCurrency": {"value": currency}, "MultiCurrencyEnabled": multicurrency},
        "TaxPrefs": {"UsingSalesTax": True, "PartnerTaxEnabled": True},
        "SalesFormsPrefs": {"CustomTxnNumbers": True, "AllowDiscount": True, "DefaultTerms": {"value": "3"}},
    }
    return {"CompanyInfo": info, "Preferences": preferences}
