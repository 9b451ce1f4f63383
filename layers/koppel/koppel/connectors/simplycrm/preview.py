"""``koppel preview --target simplycrm``: how a brand-new, empty Simply CRM answers vtiger's webservice (login,
describe, look-ups that find nothing, creates that get placeholder ids, an invoice's totals computed as vtiger
computes them), and how the booking request adds up. README.md in this folder has the API facts.

vtiger's webservice is one address whose operation is a parameter: of the query string for GET, of the form body for
POST. The answer reads it from either: ``body`` is the parsed form (a dict) and ``path`` may carry the query string.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from koppel.connectors.simplycrm.invoicing import held
from koppel.connectors.simplycrm.settings import SimplyCrmSettings
from koppel.money import ZERO

if TYPE_CHECKING:
    from collections.abc import Callable

PREVIEW_URL = "https://preview.simply-crm.invalid"
PREFIXES = {"Accounts": "3", "Contacts": "4", "Products": "6", "Invoice": "16", "Currency": "21"}
"""A stock install's module id prefixes [I, the sandbox's]; the preview's placeholder ids carry them."""
_NUMBERS = {"Accounts": ("account_no", "ACC"), "Contacts": ("contact_no", "CON"), "Products": ("product_no", "PRO"),
            "Invoice": ("invoice_no", "INV")}  # fmt: skip
_FIELDS = {
    "Accounts": ("accountname", "email1", "phone", "website", "bill_street", "bill_code", "bill_city", "bill_country"),
    "Contacts": ("firstname", "lastname", "email", "phone", "mobile", "mailingstreet", "mailingzip", "mailingcity",
                 "mailingcountry", "account_id"),
    "Products": ("productname", "productcode", "unit_price", "description"),
    "Invoice": ("subject", "invoicestatus", "description"),
}  # fmt: skip


def preview_settings() -> dict[str, Any]:
    """The standard settings: organizations as customers, ``subject`` as the number field, Approved."""
    return {"url": PREVIEW_URL}


def _operation(path: str, body: Any) -> dict[str, str]:
    fields = dict(parse_qsl(urlsplit(path).query))
    if isinstance(body, dict):
        fields |= {str(key): str(value) for key, value in body.items()}
    return fields


def _describe(module: str) -> dict[str, Any]:
    fields = [{"name": name, "type": {"name": "string"}, "editable": True} for name in _FIELDS.get(module, ())]
    return {"name": module, "idPrefix": PREFIXES.get(module, ""), "fields": fields}


def _ok(result: Any, status: int = 200) -> tuple[Any, int]:
    return {"success": True, "result": result}, status


class PreviewCrm:
    """``PreviewAnswer`` for an empty CRM; stateless (a created record's answer is built from what was sent)."""

    def __call__(self, method: str, path: str, body: Any, new_id: int) -> tuple[Any, int] | None:
        params = _operation(path, body)
        operation = params.get("operation", "")
        if operation == "create":
            return self._create(params.get("elementType", ""), params.get("element", "{}"), new_id)
        answers: dict[str, Callable[[], Any]] = {
            "getchallenge": lambda: {"token": "preview-challenge", "serverTime": 0, "expireTime": 300},
            "login": lambda: {"sessionName": "preview-session", "userId": "19x1", "version": "0.22"},
            "describe": lambda: _describe(params.get("elementType", "")),
            "query": lambda: self._query(params.get("query", "")),
            "revise": lambda: json.loads(params.get("element", "{}")),
            "retrieve": lambda: {"id": params.get("id", "")},
        }
        return _ok(answers[operation]()) if operation in answers else None

    @staticmethod
    def _query(select: str) -> list[dict[str, str]]:
        """Nothing is found, but the document's currency: the preview assumes it is set up (Settings > Currencies)."""
        if "FROM Currency" in select and "'" in select:
            code = select.split("'")[1]
            return [{"id": f"{PREFIXES['Currency']}x2", "currency_code": code, "currency_name": code}]
        return []

    @staticmethod
    def _create(module: str, element: str, new_id: int) -> tuple[Any, int]:
        record: dict[str, Any] = json.loads(element, parse_float=Decimal)
        record["id"] = f"{PREFIXES.get(module, '0')}x{new_id}"
        if module in _NUMBERS:
            field, prefix = _NUMBERS[module]
            record[field] = f"{prefix}{new_id}"
        if module == "Invoice":
            items = record.get("LineItems") or []
            record["LineItems"] = [{"id": f"33x{new_id}{n}", **item} for n, item in enumerate(items, start=1)]
            net, tax = _sums(record)
            adjustment = Decimal(str(record.get("txtAdjustment") or 0))
            pre_tax = net + tax if record.get("hdnTaxType") == "individual" else net  # vtiger's, taxes included
            record |= {"pre_tax_total": str(pre_tax), "hdnGrandTotal": str(net + tax + adjustment)}
            record["txtAdjustment"] = str(adjustment)
        return _ok(record, 201)


def _sums(invoice: dict[str, Any]) -> tuple[Decimal, Decimal]:
    per_rate = held(invoice).values()
    return sum((net for net, _ in per_rate), ZERO), sum((tax for _, tax in per_rate), ZERO)


def preview_totals(requests: list[dict[str, Any]]) -> tuple[Decimal, Decimal, Decimal]:
    """(Σ net lines, Σ VAT, total) of the Invoice a preview creates, as vtiger computes them: its taxes unrounded
    plus the adjustment; negative for a credit invoice (the status it is given after it reconciled)."""
    sent = [_operation(r["path"], r["body"]) for r in requests if r["method"] == "POST"]
    (created,) = [json.loads(s["element"], parse_float=Decimal) for s in sent if s.get("elementType") == "Invoice"]
    statuses = [json.loads(s["element"]).get("invoicestatus") for s in sent if s.get("operation") == "revise"]
    credit = bool(statuses) and statuses[-1] in SimplyCrmSettings(url=PREVIEW_URL).credit_statuses
    net, tax = _sums(created)
    vat = tax + Decimal(str(created.get("txtAdjustment") or 0))
    turn = Decimal(-1) if credit else Decimal(1)
    return turn * net, turn * vat, turn * (net + vat)
