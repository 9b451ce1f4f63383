"""What a QuickBooks Online company tells Koppel about itself once connected (``after_connect``): its tax codes and
their rates, the Item to book on, its home currency and whether it takes other currencies. A mapping a person made
stays as long as the company still has what it names. Also the empty company ``koppel preview`` plays."""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from koppel.connectors.kit.console import named_chart
from koppel.connectors.quickbooks.settings import QuickbooksSettings, rate_key

if TYPE_CHECKING:
    from koppel.connectors.quickbooks.target import QuickbooksTarget

NOT_DOMESTIC = re.compile(r"\b(EC|EU|ECG|ECS|RC|DRC|reverse|exempt|export|outside|no vat|import|postponed)\b", re.I)
"""A code whose name says it is not the plain domestic code of its rate ("0.0% ECG", "Exempt", "20.0% RC")."""
EC_GOODS = re.compile(r"\bECG\b|EC Goods", re.I)
SALES_ITEM_TYPES = ("Service", "NonInventory")
"""The Items a sale is booked on: an Inventory Item would also move stock the shop keeps elsewhere."""


def read_company(target: QuickbooksTarget) -> dict[str, Any]:
    client, settings = target.client, target.settings
    codes = client.query("SELECT * FROM TaxCode MAXRESULTS 1000").get("TaxCode") or []
    rates = client.query("SELECT * FROM TaxRate MAXRESULTS 1000").get("TaxRate") or []
    items = client.query("SELECT * FROM Item WHERE Active = true MAXRESULTS 1000").get("Item") or []
    info = client.call("GET", f"/companyinfo/{client.realm_id}").get("CompanyInfo") or {}
    prefs = client.call("GET", "/preferences").get("Preferences") or {}
    currency = prefs.get("CurrencyPrefs") or {}
    code_rates = tax_code_rates(codes, rates)
    accounts = client.query("SELECT * FROM Account WHERE Active = true MAXRESULTS 1000").get("Account") or []
    return {
        **purchase_chart(codes, rates, accounts, settings),
        **payment_accounts(accounts, settings),
        "tax_code_rates": code_rates,
        "tax_codes": tax_codes_by_rate(codes, code_rates, settings.tax_codes),
        "treatment_tax_codes": _treatments(codes, code_rates, settings),
        "item_id": _item(items, settings),
        "home_currency": str((currency.get("HomeCurrency") or {}).get("value") or settings.home_currency),
        "multicurrency": bool(currency.get("MultiCurrencyEnabled", False)),
        "country": str(info.get("Country") or ""),
        "chart": named_chart(
            items={str(i["Id"]): str(i.get("Name") or i["Id"]) for i in items if i.get("Type") in SALES_ITEM_TYPES},
            ledgers={str(a["Id"]): _account_name(a) for a in _costs(accounts)},
            tax_codes={str(c["Id"]): str(c.get("Name") or c["Id"]) for c in codes if c.get("Active") is not False},
        ),
    }


def _account_name(account: dict[str, Any]) -> str:
    number = str(account.get("AcctNum") or "")
    return f"{number} {account.get('Name', '')}".strip() if number else str(account.get("Name") or account["Id"])


def tax_code_rates(
    codes: list[dict[str, Any]], rates: list[dict[str, Any]], side: str = "SalesTaxRateList"
) -> dict[str, dict[str, str]]:
    """Active TaxCode id → {TaxRate id: percent} of its sales rates (``side``: or its PurchaseTaxRateList)."""
    percent = {str(rate["Id"]): format(Decimal(str(rate.get("RateValue", 0))).normalize(), "f") for rate in rates}
    found: dict[str, dict[str, str]] = {}
    for code in codes:
        if code.get("Active") is False:
            continue
        details = (code.get(side) or {}).get("TaxRateDetail") or []
        refs = [str((d.get("TaxRateRef") or {}).get("value") or "") for d in details]
        found[str(code["Id"])] = {ref: percent[ref] for ref in refs if ref in percent}
    return found


def tax_codes_by_rate(
    codes: list[dict[str, Any]], code_rates: dict[str, dict[str, str]], mapped: dict[str, str]
) -> dict[str, str]:
    """Rate → code where the company has one plain domestic code of that one rate; the person's ``mapped`` kept."""
    candidates: dict[str, list[str]] = defaultdict(list)
    for code in codes:
        ident, rates = str(code["Id"]), code_rates.get(str(code["Id"]))
        if (
            rates
            and len(rates) == 1
            and not NOT_DOMESTIC.search(f"{code.get('Name', '')} {code.get('Description', '')}")
        ):
            candidates[rate_key(next(iter(rates.values())))].append(ident)
    found = {rate: idents[0] for rate, idents in candidates.items() if len(idents) == 1}
    kept = {rate: code for rate, code in mapped.items() if code in code_rates}
    return {**found, **kept}


def _treatments(
    codes: list[dict[str, Any]], code_rates: dict[str, dict[str, str]], settings: QuickbooksSettings
) -> dict[str, str]:
    kept: dict[str, str] = {k: code for k, code in settings.treatment_tax_codes.items() if code in code_rates}
    ec_goods = [str(c["Id"]) for c in codes if str(c["Id"]) in code_rates and EC_GOODS.search(str(c.get("Name", "")))]
    if "intra_eu" not in kept and len(ec_goods) == 1:
        kept["intra_eu"] = ec_goods[0]
    return kept


PURCHASE_CATEGORIES = {
    "reverse_charge": re.compile(r"\bRC\b|\bDRC\b|reverse|verlegd", re.I),
    "intra_eu": re.compile(r"\bECG\b|EC Goods|intra|\bICP\b", re.I),
    "export": re.compile(r"import|invoer|outside the EU|buiten de EU", re.I),
    "exempt": re.compile(r"exempt|vrijgesteld", re.I),
    "outside_scope": re.compile(r"no vat|outside the scope|geen btw", re.I),
}
"""How the company's own purchase codes are recognised by name and description (English and Dutch)."""
COST_ACCOUNT = re.compile(r"^(inkopen|inkoop|purchases|cost of (sales|goods sold)|kostprijs)", re.I)


def purchase_chart(
    codes: list[dict[str, Any]], rates: list[dict[str, Any]], accounts: list[dict[str, Any]], s: QuickbooksSettings
) -> dict[str, Any]:
    """The purchase side: codes by rate and by category where the company has exactly one of each (a person's
    mapping kept while the code exists), and the cost account purchases are booked on."""
    code_rates = tax_code_rates(codes, rates, "PurchaseTaxRateList")
    usable = [c for c in codes if code_rates.get(str(c["Id"]))]
    categories: dict[str, str] = {k: c for k, c in s.purchase_category_tax_codes.items() if c in code_rates}
    for category, pattern in PURCHASE_CATEGORIES.items():
        named = [str(c["Id"]) for c in usable if pattern.search(f"{c.get('Name', '')} {c.get('Description', '')}")]
        if category not in categories and len(named) == 1:
            categories[category] = named[0]
    by_rate = tax_codes_by_rate(usable, code_rates, s.purchase_tax_codes)
    costs = _costs(accounts)
    ids = {str(a["Id"]) for a in costs}
    named = [str(a["Id"]) for a in costs if COST_ACCOUNT.search(str(a.get("Name", "")))]
    first = sorted(ids, key=lambda i: (len(i), i))
    account = s.expense_account_id if s.expense_account_id in ids else (named or first or [""])[0]
    return {
        "purchase_tax_code_rates": code_rates,
        "purchase_tax_codes": by_rate,
        "purchase_category_tax_codes": categories,
        "expense_account_id": account,
    }


def _costs(accounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The accounts a purchase line or foreign VAT is booked on: active, classified Expense."""
    return [a for a in accounts if a.get("Classification") == "Expense" and a.get("Active") is not False]


def payment_accounts(accounts: list[dict[str, Any]], s: QuickbooksSettings) -> dict[str, str]:
    """Where a purchase paid when it was bought is paid from: a person's accounts while they are of their type, else
    the company's first checking account (else its first bank account that is not cash) and its one cash account."""

    def ids(account_type: str, sub_types: tuple[str, ...] = ()) -> list[str]:
        found = [a for a in accounts if a.get("AccountType") == account_type and a.get("Active") is not False]
        found = [a for a in found if not sub_types or a.get("AccountSubType") in sub_types]
        return sorted((str(a["Id"]) for a in found), key=lambda i: (len(i), i))

    banks, cash = ids("Bank"), ids("Bank", ("CashOnHand",))
    plain = ids("Bank", ("Checking",)) or [i for i in banks if i not in cash]
    return {
        "purchase_payment_account_id": s.purchase_payment_account_id if s.purchase_payment_account_id in banks
        else (plain or [""])[0],
        "purchase_cash_account_id": s.purchase_cash_account_id if s.purchase_cash_account_id in banks
        else (cash[0] if len(cash) == 1 else ""),
        "purchase_card_account_id": s.purchase_card_account_id if s.purchase_card_account_id in ids("Credit Card")
        else "",
    }  # fmt: skip


def _item(items: list[dict[str, Any]], settings: QuickbooksSettings) -> str:
    """The person's Item while it is active, else the company's "Sales" or "Services" Item, else its first service."""
    usable = [i for i in items if i.get("Type") in SALES_ITEM_TYPES]
    ids = {str(i["Id"]) for i in usable}
    if settings.item_id in ids:
        return settings.item_id
    named = [str(i["Id"]) for i in usable if str(i.get("Name", "")).casefold() in ("sales", "services")]
    return (named or sorted(ids, key=lambda i: (len(i), i)) or [""])[0]


# -- `koppel preview`: an empty company ------------------------------------------------------------------------------
PREVIEW_CODES = {
    "2": ("1", "20"),
    "3": ("3", "5"),
    "4": ("5", "0"),
    "5": ("7", "0"),
    "6": ("9", "0"),
    "8": ("17", "0"),
    "9": ("13", "21"),
    "10": ("15", "9"),
}
"""TaxCode id → (TaxRate id, percent): the UK codes 20.0% S, 5.0% R, 0.0% Z, Exempt, 0.0% ECG and a reverse charge
code, and two codes at the Dutch 21 % and 9 % (QuickBooks is not sold in the Netherlands; they let a Dutch shop's
document preview). Purchases use the same percentages (a self-assessing code's two rates cancel to 0)."""


def preview_settings() -> dict[str, Any]:
    return {
        "tax_codes": {"20": "2", "5": "3", "0": "4", "21": "9", "9": "10"},
        "tax_code_rates": {code: {rate: pct} for code, (rate, pct) in PREVIEW_CODES.items()},
        "treatment_tax_codes": {"intra_eu": "6"},
        "item_id": "1",
        "home_currency": "EUR",
        "multicurrency": True,
        "purchase_tax_codes": {"20": "2", "5": "3", "0": "4", "21": "9", "9": "10"},
        "purchase_tax_code_rates": {code: {rate: pct} for code, (rate, pct) in PREVIEW_CODES.items()},
        "purchase_category_tax_codes": {"intra_eu": "6", "reverse_charge": "8", "exempt": "5"},
        "expense_account_id": "7",
        "purchase_payment_account_id": "3",
    }


def preview_answer(method: str, path: str, body: Any, new_id: int) -> tuple[Any, int] | None:
    """No customers, vendors, invoices or bills; what is created gets the next id, a form QuickBooks' own totals."""
    entity = path.rstrip("/").rsplit("/", 1)[-1]
    if method == "GET" and entity == "query":
        return {"QueryResponse": {}}, 200
    if method == "GET" and "/customer/" in path:
        return {"Customer": {"Id": entity, "SyncToken": "0", "DisplayName": "preview", "Active": True}}, 200
    if method != "POST" or not isinstance(body, dict):
        return None
    created = {"Id": str(new_id), "SyncToken": "0"}
    answers = {
        "upload": {"AttachableResponse": [{"Attachable": created}]},  # the multipart body is recorded as a file
        **{entity: {name: {**body, **created, "Active": True}} for entity, name in _NAMES.items()},
        **{entity: {name: {**body, **created, "TotalAmt": _preview_total(body)}} for entity, name in _FORMS.items()},
        **{entity: {name: {**body, **created}} for entity, name in _PAYMENTS.items()},
    }
    return (answers[entity], 201) if entity in answers else None


_NAMES = {"customer": "Customer", "vendor": "Vendor"}
_FORMS = {"invoice": "Invoice", "creditmemo": "CreditMemo", "bill": "Bill", "vendorcredit": "VendorCredit"}
_PAYMENTS = {"billpayment": "BillPayment"}


def _preview_total(body: dict[str, Any]) -> Decimal:
    bases: dict[str, Decimal] = defaultdict(Decimal)
    for line in body.get("Line") or []:
        kind = line.get("DetailType")
        if kind in ("SalesItemLineDetail", "AccountBasedExpenseLineDetail"):
            bases[line[kind]["TaxCodeRef"]["value"]] += Decimal(str(line["Amount"]))
    stated = (body.get("TxnTaxDetail") or {}).get("TotalTax")
    percent = {code: Decimal(pct) for code, (_, pct) in PREVIEW_CODES.items()}
    tax = sum((base * percent.get(code, Decimal(0)) / 100).quantize(Decimal("0.01"), "ROUND_HALF_UP")
              for code, base in bases.items())  # fmt: skip
    return sum(bases.values(), Decimal(0)) + (Decimal(str(stated)) if stated is not None else tax)
