"""What a Billy organization tells Koppel about itself once connected (``after_connect``): its id, base currency
and country, which sales-tax ruleset books each VAT rate, the sales account and a payment-enabled cash account. A
mapping a person made stays as long as the organization still has what it names. Also the empty organization
``koppel preview`` plays.

A ruleset books rate R when it gives R to a customer in the organization's own country, company and person alike
(its first matching rule by priority, else its fallback rate) [V rule fields, https://www.billy.dk/api/; I the
matching order]. Where several do, the organization's default sales ruleset wins, else the first by name.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from koppel.connectors.billy import mapping, reconcile
from koppel.connectors.billy.settings import rate_key

if TYPE_CHECKING:
    from koppel.connectors.billy.target import BillyTarget

PERCENT = Decimal(100)


def read_organization(target: BillyTarget) -> dict[str, Any]:
    client, settings = target.client, target.settings
    org = client.call("GET", "/organization").get("organization") or {}
    rates = {str(r["id"]): r for r in client.list_all("taxRates") if isinstance(r, dict) and "id" in r}
    rulesets = client.list_all("salesTaxRulesets", {"include": "salesTaxRuleset.rules:embed"})
    accounts = client.list_all("accounts")
    country = str(org.get("countryId") or settings.organization_country)
    found = rulesets_by_rate(rulesets, rates, country, str(org.get("defaultSalesTaxRulesetId") or ""))
    ruleset_ids = {str(r.get("id")) for r in rulesets}
    kept = {rate: ident for rate, ident in settings.tax_rulesets.items() if ident in ruleset_ids}
    account_ids = {str(a.get("id")) for a in accounts if not a.get("isArchived")}
    sales = settings.sales_account_id if settings.sales_account_id in account_ids else ""
    return {
        "organization_id": str(org.get("id") or ""),
        "organization_currency": str(org.get("baseCurrencyId") or settings.organization_currency),
        "organization_country": country,
        "tax_rulesets": {**found, **kept},
        "tax_rates": sales_rates(rates),
        "sales_account_id": sales or str(org.get("defaultSalesAccountId") or ""),
        "cash_account_id": _cash_account(accounts, org, settings.cash_account_id),
    }


def rulesets_by_rate(
    rulesets: list[dict[str, Any]], rates: dict[str, dict[str, Any]], country: str, default_id: str
) -> dict[str, str]:
    candidates: dict[str, list[tuple[bool, str, str]]] = defaultdict(list)
    for ruleset in rulesets:
        given = {_domestic_rate(ruleset, rates, country, kind) for kind in ("company", "person")}
        if len(given) == 1 and None not in given:
            rate = next(iter(given))
            ident = str(ruleset["id"])
            candidates[str(rate)].append((ident != default_id, str(ruleset.get("name") or ""), ident))
    return {rate: min(found)[2] for rate, found in candidates.items()}


def sales_rates(rates: dict[str, dict[str, Any]]) -> dict[str, str]:
    """VAT rate → the one active sales tax rate of that percentage (only where there is exactly one)."""
    by_rate: dict[str, list[str]] = defaultdict(list)
    for ident, rate in rates.items():
        if rate.get("appliesToSales") and rate.get("isActive", True) and rate.get("rate") is not None:
            by_rate[rate_key(Decimal(str(rate["rate"])) * PERCENT)].append(ident)
    return {rate: idents[0] for rate, idents in by_rate.items() if len(idents) == 1}


def _domestic_rate(
    ruleset: dict[str, Any], rates: dict[str, dict[str, Any]], country: str, contact_type: str
) -> str | None:
    rules = sorted((r for r in ruleset.get("rules") or [] if isinstance(r, dict)), key=lambda r: r.get("priority") or 0)
    chosen = str(ruleset.get("fallbackTaxRateId") or "")
    for rule in rules:
        if rule.get("countryId") not in (None, country) or rule.get("contactType") not in (None, contact_type):
            continue
        if rule.get("countryGroupId") and not rule.get("countryId"):
            continue  # a group rule (EU): the home country may be a member, but a country rule comes first
        chosen = str(rule.get("taxRateId") or "")
        break
    rate = rates.get(chosen)
    return rate_key(Decimal(str(rate["rate"])) * PERCENT) if rate and rate.get("rate") is not None else None


def _cash_account(accounts: list[dict[str, Any]], org: dict[str, Any], kept: str) -> str:
    usable = [a for a in accounts if a.get("isPaymentEnabled") and not a.get("isArchived")]
    ids = [str(a.get("id")) for a in usable]
    if kept in ids:
        return kept
    default = str(org.get("defaultInvoiceBankAccountId") or "")
    return default if default in ids else (ids[0] if ids else "")


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
    }


class PreviewOrganization:
    """How an empty organization answers: empty lists, ids for what is created, and an invoice with Billy's own
    arithmetic (each line at the rate of its product's ruleset, remembered from the product's creation)."""

    def __init__(self) -> None:
        self._product_rates: dict[str, Decimal] = {}

    def __call__(self, method: str, path: str, body: Any, new_id: int) -> tuple[Any, int] | None:
        plural = path.rstrip("/").split("/")[2] if path.count("/") >= 2 else ""
        if method == "GET":
            return {"meta": {"paging": {"page": 1, "pageCount": 1, "total": 0}}, plural: []}, 200
        if method == "PUT" and plural == "invoices":
            return {"invoices": [{"id": path.rsplit("/", 1)[-1], "state": "approved"}]}, 200
        if method != "POST" or not isinstance(body, dict) or len(body) != 1:
            return None
        record = {**next(iter(body.values())), "id": f"{plural}-{new_id}"}
        if plural == "products":
            rates = {ident: Decimal(rate) for rate, ident in PREVIEW_RULESETS.items()}
            self._product_rates[record["id"]] = rates.get(str(record.get("salesTaxRulesetId")), Decimal(25))
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
