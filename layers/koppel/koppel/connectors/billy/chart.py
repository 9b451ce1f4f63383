"""What a Billy organization tells Koppel about itself once connected (``after_connect``): its id, base currency
and country, which sales-tax ruleset books each VAT rate, the sales account and a payment-enabled cash account. A
mapping a person made stays as long as the organization still has what it names. Also the empty organization
``koppel preview`` plays.

A ruleset books rate R when it gives R to a customer in the organization's own country, company and person alike
(its first matching rule by priority, else its fallback rate) [V rule fields, https://www.billy.dk/api/; I the
matching order]. Where several do, the organization's default sales ruleset wins, else the first by name. The
default ruleset also books intra-EU sales and exports when it gives them 0 % (Billy's "Salg af varer" does [I]).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from koppel.connectors.billy import mapping, reconcile
from koppel.connectors.billy.settings import rate_key
from koppel.connectors.kit.console import named_chart
from koppel.money import cents

if TYPE_CHECKING:
    from koppel.connectors.billy.settings import BillySettings
    from koppel.connectors.billy.target import BillyTarget

PERCENT = Decimal(100)


OUTSIDE_EU_PROBE = "US"
"""A country outside every group the organization's country is in: what the default ruleset gives an export."""


@dataclass(frozen=True)
class TaxRules:
    """The organization's sales tax rates and country groups: the rate a ruleset gives a contact."""

    rates: dict[str, dict[str, Any]]
    groups: dict[str, frozenset[str]]

    def rate_for(self, ruleset: dict[str, Any], country: str, contact_type: str) -> str | None:
        """The first rule by priority that matches the contact's country (or group) and type, else the fallback."""
        rules = sorted(
            (r for r in ruleset.get("rules") or [] if isinstance(r, dict)), key=lambda r: r.get("priority") or 0
        )
        chosen = str(ruleset.get("fallbackTaxRateId") or "")
        for rule in rules:
            group = rule.get("countryGroupId")
            if rule.get("countryId") not in (None, country) or rule.get("contactType") not in (None, contact_type):
                continue
            if group and country not in self.groups.get(str(group), frozenset()):
                continue
            chosen = str(rule.get("taxRateId") or "")
            break
        rate = self.rates.get(chosen)
        return rate_key(Decimal(str(rate["rate"])) * PERCENT) if rate and rate.get("rate") is not None else None


def read_organization(target: BillyTarget) -> dict[str, Any]:
    client, settings = target.client, target.settings
    org = client.call("GET", "/organization").get("organization") or {}
    rates = {str(r["id"]): r for r in client.list_all("taxRates") if isinstance(r, dict) and "id" in r}
    groups = {
        str(g["id"]): frozenset(str(g.get("memberCountryIds") or "").split(","))
        for g in client.list_all("countryGroups")
        if isinstance(g, dict) and "id" in g
    }
    rules = TaxRules(rates, groups)
    rulesets = client.list_all("salesTaxRulesets", {"include": "salesTaxRuleset.rules:embed"})
    accounts = client.list_all("accounts")
    country = str(org.get("countryId") or settings.organization_country)
    default = next((r for r in rulesets if str(r.get("id")) == str(org.get("defaultSalesTaxRulesetId"))), None)
    ruleset_ids = {str(r.get("id")) for r in rulesets}
    kept = {rate: ident for rate, ident in settings.tax_rulesets.items() if ident in ruleset_ids}
    kept_treatments = {key: ident for key, ident in settings.treatment_rulesets.items() if ident in ruleset_ids}
    account_ids = {str(a.get("id")) for a in accounts if not a.get("isArchived")}
    sales = settings.sales_account_id if settings.sales_account_id in account_ids else ""
    return {
        "organization_id": str(org.get("id") or ""),
        "organization_currency": str(org.get("baseCurrencyId") or settings.organization_currency),
        "organization_country": country,
        "tax_rulesets": {**rulesets_by_rate(rulesets, rules, country, default), **kept},
        "treatment_rulesets": {**treatments(default, rules, country), **kept_treatments},
        "tax_rates": sales_rates(rates),
        "sales_account_id": sales or str(org.get("defaultSalesAccountId") or ""),
        "cash_account_id": _cash_account(accounts, org, settings.cash_account_id),
        "purchase_cash_account_id": _bill_account(accounts, org, settings.purchase_cash_account_id),
        **purchase_settings(rates, accounts, settings),
        "chart": named_chart(
            ledgers={
                str(a["id"]): f"{a.get('accountNo') or ''} {a.get('name') or ''}".strip()
                for a in accounts
                if "id" in a and a.get("natureId") in ("revenue", "expense") and not a.get("isArchived")
            },
            rulesets={str(r["id"]): str(r.get("name") or r["id"]) for r in rulesets if "id" in r},
            tax_codes={i: _rate_name(r) for i, r in rates.items() if r.get("isActive", True)},
        ),
    }


def _rate_name(rate: dict[str, Any]) -> str:
    """Billy's name, with the percentage where the name does not say it: "Moms af køb (25 %)"."""
    name = str(rate.get("name") or rate.get("abbreviation") or "")
    if "%" in name or rate.get("rate") is None:
        return name
    return f"{name} ({format((Decimal(str(rate['rate'])) * PERCENT).normalize(), 'f')} %)".strip()


CATEGORY_RATES = {"reverse_charge": "OBK", "intra_eu": "EUKV", "export": "UEUK", "exempt": "KFRI",
                  "zero_rated": "KFRI", "outside_scope": "KFRI"}  # fmt: skip
"""Billy's predefined purchase rate for each VAT category, by abbreviation [I: Billy publishes neither names nor
abbreviations; EU services (EUKY) are mapped by hand]."""


def purchase_settings(
    rates: dict[str, dict[str, Any]], accounts: list[dict[str, Any]], settings: BillySettings
) -> dict[str, Any]:
    """Purchase tax rates by percentage above 0 (the one active purchase rate of it that is no category's own), by VAT
    category (the predefined ones), and the expense account with the lowest number; a person's mapping is kept
    while Billy still has what it names."""
    usable = {i: r for i, r in rates.items() if r.get("appliesToPurchases") and r.get("isActive", True)}
    own = set(CATEGORY_RATES.values())
    by_rate: dict[str, list[str]] = defaultdict(list)
    for ident, rate in usable.items():
        if rate.get("abbreviation") not in own and rate.get("rate"):  # 0 %: always a category's own rate
            by_rate[rate_key(Decimal(str(rate["rate"])) * PERCENT)].append(ident)
    by_abbreviation = {str(r.get("abbreviation")): i for i, r in usable.items()}
    categories = {kind: by_abbreviation[a] for kind, a in CATEGORY_RATES.items() if a in by_abbreviation}
    expenses = sorted(
        (int(a.get("accountNo") or 0), str(a["id"])) for a in accounts
        if a.get("natureId") == "expense" and not a.get("isArchived") and "id" in a
    )  # fmt: skip
    kept_expense = settings.expense_account_id in {ident for _, ident in expenses}
    return {
        "purchase_tax_rates": {
            **{rate: idents[0] for rate, idents in by_rate.items() if len(idents) == 1},
            **{rate: ident for rate, ident in settings.purchase_tax_rates.items() if ident in usable},
        },
        "purchase_category_tax_rates": {
            **categories,
            **{kind: ident for kind, ident in settings.purchase_category_tax_rates.items() if ident in usable},
        },
        "expense_account_id": settings.expense_account_id if kept_expense else (expenses[0][1] if expenses else ""),
    }


def rulesets_by_rate(
    rulesets: list[dict[str, Any]], rules: TaxRules, country: str, default: dict[str, Any] | None
) -> dict[str, str]:
    """Rate → a ruleset that gives it at home to a company and a person alike; the default one wins a tie."""
    candidates: dict[str, list[tuple[bool, str, str]]] = defaultdict(list)
    for ruleset in rulesets:
        given = {rules.rate_for(ruleset, country, kind) for kind in ("company", "person")}
        if len(given) == 1 and None not in given:
            ident = str(ruleset["id"])
            preferred = default is not None and ident == str(default.get("id"))
            candidates[str(next(iter(given)))].append((not preferred, str(ruleset.get("name") or ""), ident))
    return {rate: min(found)[2] for rate, found in candidates.items()}


def treatments(default: dict[str, Any] | None, rules: TaxRules, country: str) -> dict[str, str]:
    """The default ruleset books a treatment when it gives 0 % to it: an intra-EU sale to a company in another
    member state of the home country's group (Billy's "EU-salg" rates), an export outside the group."""
    if default is None:
        return {}
    found: dict[str, str] = {}
    home_groups = [members for members in rules.groups.values() if country in members]
    abroad = sorted({c for members in home_groups for c in members if c and c != country})
    if abroad and rules.rate_for(default, abroad[0], "company") == "0":
        found["intra_eu"] = str(default["id"])
    if all(rules.rate_for(default, OUTSIDE_EU_PROBE, kind) == "0" for kind in ("company", "person")):
        found["export"] = str(default["id"])
    return found


def sales_rates(rates: dict[str, dict[str, Any]]) -> dict[str, str]:
    """VAT rate → the one active sales tax rate of that percentage (only where there is exactly one)."""
    by_rate: dict[str, list[str]] = defaultdict(list)
    for ident, rate in rates.items():
        if rate.get("appliesToSales") and rate.get("isActive", True) and rate.get("rate") is not None:
            by_rate[rate_key(Decimal(str(rate["rate"])) * PERCENT)].append(ident)
    return {rate: idents[0] for rate, idents in by_rate.items() if len(idents) == 1}


def _payable(accounts: list[dict[str, Any]]) -> list[str]:
    return [str(a.get("id")) for a in accounts if a.get("isPaymentEnabled") and not a.get("isArchived")]


def _cash_account(accounts: list[dict[str, Any]], org: dict[str, Any], kept: str) -> str:
    ids = _payable(accounts)
    if kept in ids:
        return kept
    default = str(org.get("defaultInvoiceBankAccountId") or "")
    return default if default in ids else (ids[0] if ids else "")


def _bill_account(accounts: list[dict[str, Any]], org: dict[str, Any], kept: str) -> str:
    """A person's choice while it takes payments, else the organization's own account for paying bills
    (``defaultBillBankAccountId``); empty (the cash account is used) when neither takes payments."""
    ids = _payable(accounts)
    default = str(org.get("defaultBillBankAccountId") or "")
    return next((ident for ident in (kept, default) if ident and ident in ids), "")


# -- `koppel preview`: an empty organization -------------------------------------------------------------------------
PREVIEW_RULESETS = {"25": "ruleset-25", "21": "ruleset-21", "9": "ruleset-9", "0": "ruleset-0"}
"""A Danish organization's 25 % and 0 % rulesets, and two at the Dutch 21 % and 9 % (a Dutch shop's document
previews against them; in Billy a person would add such rulesets)."""


def preview_settings() -> dict[str, Any]:
    return {
        "organization_id": "organization-1",
        "organization_currency": "DKK",
        "organization_country": "DK",
        "tax_rulesets": dict(PREVIEW_RULESETS),
        "sales_account_id": "account-sales",
        "cash_account_id": "account-bank",
        "purchase_tax_rates": {rate: f"purchase-rate-{rate}" for rate in ("25", "21", "9")},
        "purchase_category_tax_rates": {kind: f"purchase-rate-{kind}" for kind in CATEGORY_RATES},
        "expense_account_id": "account-expenses",
    }


class PreviewOrganization:
    """How an empty organization answers: empty lists, ids for what is created, and an invoice with Billy's own
    arithmetic (each line at the rate of its product's ruleset, remembered from the product's creation)."""

    def __init__(self) -> None:
        self._product_rates: dict[str, Decimal] = {}

    def __call__(self, method: str, path: str, body: Any, new_id: int) -> tuple[Any, int] | None:
        plural = path.rstrip("/").split("/")[2] if path.count("/") >= 2 else ""
        if method == "GET":
            return _read(plural, path), 200
        if method == "PUT" and plural in ("invoices", "bills"):
            return {plural: [{"id": path.rsplit("/", 1)[-1], "state": "approved"}]}, 200
        if method == "POST" and plural == "files":  # a raw upload, which the preview records as its type and size
            body = {"file": {"size": (body or {}).get("bytes", 0)}}
        if method != "POST" or not isinstance(body, dict) or len(body) != 1:
            return None
        record = {**next(iter(body.values())), "id": f"{plural}-{new_id}"}
        if plural == "products":
            rates = {ident: Decimal(rate) for rate, ident in PREVIEW_RULESETS.items()}
            self._product_rates[record["id"]] = rates.get(str(record.get("salesTaxRulesetId")), Decimal(25))
        if plural == "bills":
            return _bill(record), 201
        if plural != "invoices":
            return {plural: [record]}, 201
        return self._invoice(record), 201

    def _invoice(self, invoice: dict[str, Any]) -> dict[str, Any]:
        lines, amount, tax = [], Decimal(0), Decimal(0)
        for line in invoice.pop("lines", []):
            planned = mapping.Planned(
                "", "", "", self._product_rates.get(str(line.get("productId")), Decimal(25)),
                Decimal(str(line["quantity"])), Decimal(str(line["unitPrice"])),
                Decimal(str(line.get("discountValue") or 0)),
            )  # fmt: skip
            net, vat = reconcile.line_amounts(planned, invoice["taxMode"])
            lines.append({**line, "invoiceId": invoice["id"], "amount": net, "tax": vat})
            amount, tax = amount + net, tax + vat
        totals = {"amount": amount, "tax": tax, "grossAmount": amount + tax, "balance": amount + tax, "isPaid": False}
        return {"invoices": [{**invoice, **totals}], "invoiceLines": lines}


def _read(plural: str, path: str) -> dict[str, Any]:
    """Every list is empty; a bill read by its id is the one just booked, with nothing attached yet."""
    if plural == "bills" and path.count("/") == 3:
        return {"bill": {"id": path.rsplit("/", 1)[-1], "attachments": []}}
    return {"meta": {"paging": {"page": 1, "pageCount": 1, "total": 0}}, plural: []}


def _bill(bill: dict[str, Any]) -> dict[str, Any]:
    """A bill with Billy's arithmetic on it: each line's tax at the percentage its preview purchase rate names."""
    lines = []
    for priority, line in enumerate(bill.pop("lines", []), start=1):
        rate = str(line["taxRateId"]).removeprefix("purchase-rate-")
        percent = Decimal(rate) if rate.isdigit() else Decimal(0)
        amount = Decimal(str(line["amount"]))
        lines.append(
            {**line, "id": f"billLines-{priority}", "billId": bill["id"], "tax": cents(amount * percent / 100)}
        )
    amount, tax = sum((line["amount"] for line in lines), Decimal(0)), sum((line["tax"] for line in lines), Decimal(0))
    totals = {"amount": amount, "tax": tax, "grossAmount": amount + tax, "balance": amount + tax}
    return {"bills": [{**bill, **totals}], "billLines": lines}


def preview_totals(requests: list[dict[str, Any]]) -> tuple[Decimal, Decimal, Decimal]:
    """What an empty organization's invoice (or a supplier's bill) adds up to, replayed from ``koppel preview``'s
    requests: (Σ net, Σ VAT, the total), negative for a credit note. Billy computes them itself, so the requests are
    played again through a fresh empty organization, which gives the same placeholder ids as the preview did."""
    account, new_id = PreviewOrganization(), 1
    invoice: dict[str, Any] = {}
    for request in requests:
        answered = account(request["method"], request["path"].split("?")[0], request["body"], new_id)
        if answered is not None and answered[1] == 201:
            new_id += 1
            invoice = (answered[0].get("invoices") or answered[0].get("bills") or [invoice])[0]
    turn = Decimal(-1) if invoice.get("type") == "creditNote" else Decimal(1)
    return turn * invoice["amount"], turn * invoice["tax"], turn * invoice["grossAmount"]
