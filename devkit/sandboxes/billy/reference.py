"""What a new Billy company already has: its organization record, its user, countries, currencies, the Danish
tax rates with their sales-tax rulesets and rules, and a small chart of accounts.

Property names [V, https://www.billy.dk/api/ resource tables]. The values are ours [I]: Billy's predefined
Danish rates and rulesets are not published, so names and the rule table below are a plausible reading of
Danish VAT — 25 % at home, 0 % (reverse charge) to an EU company, Danish VAT to an EU private person, 0 %
(export) outside the EU. A rate is written as a fraction (``0.25``) [I]. Enum values not listed in the docs
(``paymentTermsMode: "net"``, ``invoiceNoMode: "sequential"``, ``vatPeriod: "quarterly"``) are [I].
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devkit.sandboxes.billy.store import Organization, Store

COUNTRIES = {
    "DK": "Denmark", "SE": "Sweden", "DE": "Germany", "NL": "Netherlands", "FR": "France", "FI": "Finland",
    "NO": "Norway", "GB": "United Kingdom", "US": "United States", "CH": "Switzerland",
}  # fmt: skip
EU = ("DK", "SE", "DE", "NL", "FR", "FI")
CURRENCIES = {
    "DKK": ("Danish Krone", "1"),
    "EUR": ("Euro", "7.46"),
    "USD": ("US Dollar", "6.85"),
    "SEK": ("Swedish Krona", "0.64"),
    "NOK": ("Norwegian Krone", "0.63"),
    "GBP": ("British Pound", "8.70"),
}
# key: (name, abbreviation, rate, sales, purchases)
TAX_RATES = {
    "sales25": ("Salgsmoms 25%", "S25", "0.25", True, False),
    "euGoods": ("EU-salg af varer", "EUV", "0", True, False),
    "euServices": ("EU-salg af ydelser", "EUY", "0", True, False),
    "export": ("Salg uden for EU", "EKS", "0", True, False),
    "exempt": ("Momsfri salg", "FRI", "0", True, False),
    "purchase25": ("Købsmoms 25%", "K25", "0.25", False, True),
}
PURCHASE_RATES = {
    "purchaseEuGoods": ("EU-køb af varer (omvendt betalingspligt)", "EUKV", "0", False, True),
    "purchaseEuServices": ("EU-køb af ydelser (omvendt betalingspligt)", "EUKY", "0", False, True),
    "purchaseAbroad": ("Køb uden for EU", "UEUK", "0", False, True),
    "purchaseReverse": ("Indenlandsk omvendt betalingspligt", "OBK", "0", False, True),
    "purchaseExempt": ("Momsfri køb", "KFRI", "0", False, True),
}
"""Purchase rates a new company has besides ``K25`` [I names, abbreviations and values]: the reverse-charged ones
are 0 % on the bill here; Billy's self-assessed VAT on them (in and out) is its own postings, not modelled."""
EXPENSE_ACCOUNTS = {
    "goodsBought": (2010, "Varekøb", {"nature": "expense"}),
    "officeSupplies": (3610, "Kontorartikler", {"nature": "expense"}),
    "payables": (6700, "Kreditorer", {"nature": "liability", "systemRole": "accountsPayable"}),
}
"""Seeded after everything else, so the ids of the older reference data stay what they were."""
# ruleset key: (name, abbreviation, fallback rate, [(country, group, contactType, rate), ...])
RULESETS = {
    "goods": (
        "Salg af varer",
        "VARER",
        "export",
        [("DK", None, None, "sales25"), (None, "EU", "company", "euGoods"), (None, "EU", "person", "sales25")],
    ),
    "services": (
        "Salg af ydelser",
        "YDELSER",
        "export",
        [("DK", None, None, "sales25"), (None, "EU", "company", "euServices"), (None, "EU", "person", "sales25")],
    ),
    "exempt": ("Momsfri", "FRI", "exempt", []),
}


def seed_organization(store: Store, org: Organization, name: str, user_email: str) -> None:
    now = store.now()
    ids: dict[str, str] = {}
    _globals(org)
    user_id = store.new_id()
    org.table("users")[user_id] = {
        "id": user_id, "createdTime": now, "name": "Koppel Demo", "email": user_email, "phone": None,
        "profilePicUrl": None, "isStaff": False, "isSupporter": False, "isAdmin": False,
        "isSupportAccessAllowed": False,
    }  # fmt: skip
    for key, (rate_name, abbreviation, rate, sales, purchases) in TAX_RATES.items():
        ids[key] = _put(store, org, "taxRates", {
            "organizationId": org.id, "name": rate_name, "abbreviation": abbreviation, "description": None,
            "rate": Decimal(rate), "appliesToSales": sales, "appliesToPurchases": purchases, "isPredefined": True,
            "isActive": True, "netAmountMetaFieldId": None,
        })  # fmt: skip
    for key, (set_name, abbreviation, fallback, rules) in RULESETS.items():
        ruleset_id = ids["ruleset:" + key] = _put(store, org, "salesTaxRulesets", {
            "organizationId": org.id, "name": set_name, "abbreviation": abbreviation, "description": None,
            "fallbackTaxRateId": ids[fallback], "isPredefined": True,
        })  # fmt: skip
        for priority, (country, group, contact_type, rate_key) in enumerate(rules, start=1):
            _put(store, org, "salesTaxRules", {
                "rulesetId": ruleset_id, "countryId": country, "stateId": None, "countryGroupId": group,
                "contactType": contact_type, "taxRateId": ids[rate_key], "priority": priority,
            })  # fmt: skip
    for key, (account_no, account_name, extra) in _accounts(ids).items():
        ids["account:" + key] = _put(store, org, "accounts", {
            "organizationId": org.id, "name": account_name, "accountNo": account_no, "description": None,
            "groupId": None, "natureId": extra.pop("nature"), "systemRole": None, "currencyId": "DKK",
            "taxRateId": None, "isPaymentEnabled": False, "isBankAccount": False, "isArchived": False, **extra,
        })  # fmt: skip
    org.table("organizations")[org.id] = {
        "id": org.id, "ownerUserId": user_id, "createdTime": now, "name": name, "url": None, "street": None,
        "zipcode": "1171", "city": "København K", "countryId": "DK", "phone": None, "fax": None, "email": user_email,
        "registrationNo": None, "baseCurrencyId": "DKK", "fiscalYearEndMonth": 12, "firstFiscalYearStart": None,
        "firstFiscalYearEnd": None, "localeId": "da_DK", "isTrial": False, "isTerminated": False, "isLocked": False,
        "hasVat": True, "vatPeriod": "quarterly", "invoiceNoMode": "sequential", "nextInvoiceNo": 1,
        "paymentTermsMode": "net", "paymentTermsDays": 8, "defaultTaxMode": "excl",
        "defaultSalesAccountId": ids["account:sales"], "defaultSalesTaxRulesetId": ids["ruleset:goods"],
        "defaultInvoiceBankAccountId": ids["account:bank"], "defaultBankFeeAccountId": ids["account:fees"],
        "defaultBillBankAccountId": ids["account:bank"], "emailAttachmentDeliveryMode": "link",
    }  # fmt: skip
    for key, (rate_name, abbreviation, rate, sales, purchases) in PURCHASE_RATES.items():
        ids[key] = _put(store, org, "taxRates", {
            "organizationId": org.id, "name": rate_name, "abbreviation": abbreviation, "description": None,
            "rate": Decimal(rate), "appliesToSales": sales, "appliesToPurchases": purchases, "isPredefined": True,
            "isActive": True, "netAmountMetaFieldId": None,
        })  # fmt: skip
    for account_no, account_name, extra in EXPENSE_ACCOUNTS.values():
        _put(store, org, "accounts", {
            "organizationId": org.id, "name": account_name, "accountNo": account_no, "description": None,
            "groupId": None, "natureId": extra["nature"], "systemRole": extra.get("systemRole"), "currencyId": "DKK",
            "taxRateId": None, "isPaymentEnabled": False, "isBankAccount": False, "isArchived": False,
        })  # fmt: skip


def _accounts(ids: dict[str, str]) -> dict[str, tuple[int, str, dict[str, Any]]]:
    return {
        "sales": (1110, "Salg af varer/ydelser m/moms", {"nature": "revenue"}),
        "salesAbroad": (1120, "Salg af varer/ydelser u/moms", {"nature": "revenue"}),
        "fees": (3620, "Gebyrer", {"nature": "expense"}),
        "bank": (5820, "Bankkonto", {"nature": "asset", "isPaymentEnabled": True, "isBankAccount": True}),
        "bankEur": (5830, "Bankkonto EUR", {"nature": "asset", "isPaymentEnabled": True, "currencyId": "EUR"}),
        "receivables": (5600, "Debitorer", {"nature": "asset", "systemRole": "accountsReceivable"}),
        "vat": (7250, "Salgsmoms", {"nature": "liability", "taxRateId": ids["sales25"]}),
    }


def _globals(org: Organization) -> None:
    for code, country in COUNTRIES.items():
        org.table("countries")[code] = {
            "id": code, "name": country, "hasStates": code == "US", "hasFiniteStates": code == "US",
            "hasFiniteZipcodes": code == "DK", "icon": None, "localeId": None,
        }  # fmt: skip
    for code, (currency, rate) in CURRENCIES.items():
        org.table("currencies")[code] = {"id": code, "name": currency, "exchangeRate": Decimal(rate)}
    org.table("countryGroups")["EU"] = {"id": "EU", "name": "EU", "icon": None, "memberCountryIds": ",".join(EU)}


def _put(store: Store, org: Organization, plural: str, record: dict[str, Any]) -> str:
    ident = store.new_id()
    org.table(plural)[ident] = {"id": ident, **record}
    return ident


def tax_rate_for(org: Organization, ruleset_id: str | None, contact: dict[str, Any]) -> dict[str, Any] | None:
    """The rate a product's ruleset gives for this contact: the first matching rule by priority, else the
    ruleset's fallback [I: matching order; the rule fields country/countryGroup/contactType/priority are V]."""
    ruleset = org.get("salesTaxRulesets", ruleset_id)
    if ruleset is None:
        return None
    members = org.table("countryGroups")
    rules = sorted(org.children("salesTaxRules", "rulesetId", ruleset["id"]), key=lambda r: r["priority"] or 0)
    for rule in rules:
        if rule["countryId"] and rule["countryId"] != contact["countryId"]:
            continue
        group = members.get(rule["countryGroupId"] or "")
        if group and contact["countryId"] not in group["memberCountryIds"].split(","):
            continue
        if rule["contactType"] and rule["contactType"] != contact["type"]:
            continue
        return org.get("taxRates", rule["taxRateId"])
    return org.get("taxRates", ruleset["fallbackTaxRateId"])
