"""Invoices and credit notes with their lines: create, update (and approve), delete; lines on their own.

[V, https://www.billy.dk/api/ invoices]: ``type`` ``invoice`` | ``creditNote`` (immutable; a credit note names
the invoice it credits in ``creditedInvoiceId``); ``contactId`` required and immutable; ``entryDate`` and
``paymentTermsDays`` required; ``state`` defaults to ``draft`` and the only change is draft → approved, never
back; ``invoiceNo`` must be unique, is given or assigned from the company's number model, and may not be
changed once the invoice exists; ``lines`` are required (at least one), embedded in the create, and a PUT with
``lines`` replaces them (the old ones come back in ``meta.deletedRecords``); ``taxRate`` of a line is read-only.
[I]: ``currencyId`` and ``paymentTermsDays`` default to the contact's / organization's; an approved invoice
only takes ``contactMessage``, ``sentState``, ``attContactPersonId``, ``externalId``; approved invoices can't be
deleted (void them in Billy's app); a line's VAT rate comes from its product's sales-tax ruleset and the
contact (country, type) — ``Options.line_tax_rate`` decides what a line's own ``taxRateId`` does.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.billy.amounts import DISCOUNT_MODES, ZERO, recompute
from devkit.sandboxes.billy.reference import tax_rate_for
from devkit.sandboxes.billy.schema import WRITABLE
from devkit.sandboxes.billy.wire import invalid, money, parse_date, require

if TYPE_CHECKING:
    from devkit.sandboxes.billy.changes import Changes
    from devkit.sandboxes.billy.store import Record

AFTER_APPROVAL = {"contactMessage", "sentState", "attContactPersonId", "externalId"}
SENT_STATES = ("unsent", "printed", "sent", "opened", "viewed")


def create(work: Changes, body: dict[str, Any], cid: str) -> Record:
    org = work.org
    require(body, ("contactId", "entryDate"), cid)
    contact = org.get("contacts", body["contactId"])
    if contact is None:
        raise invalid("The contact does not exist.", {"contactId": "Unknown contact."}, cid)
    kind = body.get("type", "invoice")
    if kind not in ("invoice", "creditNote"):
        raise invalid("type must be invoice or creditNote.", {"type": "Invalid value."}, cid)
    settings = org.record
    invoice: Record = {
        "id": work.store.new_id(), "organizationId": org.id, "type": kind, "createdTime": work.store.now(),
        "approvedTime": None, "contactId": contact["id"], "attContactPersonId": None, "entryDate": None,
        "paymentTermsMode": contact.get("paymentTermsMode") or settings["paymentTermsMode"],
        "paymentTermsDays": _default_days(contact, settings), "dueDate": None, "state": "draft",
        "sentState": "unsent", "invoiceNo": None, "taxMode": settings["defaultTaxMode"], "amount": ZERO,
        "tax": ZERO, "grossAmount": ZERO, "currencyId": contact.get("currencyId") or settings["baseCurrencyId"],
        "exchangeRate": None, "balance": ZERO, "isPaid": False, "creditedInvoiceId": None, "contactMessage": None,
        "lineDescription": "", "downloadUrl": None, "externalId": None, "orderNo": None,
    }  # fmt: skip
    _assign(work, invoice, {k: v for k, v in body.items() if k not in ("state", "lines")}, cid)
    check_credit(work, invoice, cid)
    lines = body.get("lines")
    if not isinstance(lines, list) or not lines:
        raise invalid("At least one line must be supplied.", {"lines": "At least one line is required."}, cid)
    if invoice["invoiceNo"] is None and work.options.invoice_no_on == "create":
        invoice["invoiceNo"] = next_number(work)
    work.put("invoices", invoice)
    for priority, line in enumerate(lines, start=1):
        add_line(work, invoice, line, cid, priority)
    if body.get("state", "draft") != "draft":
        set_state(work, invoice, body["state"], cid)
    refresh(work, invoice)
    return invoice


def update(work: Changes, invoice: Record, body: dict[str, Any], cid: str) -> Record:
    if body.get("id", invoice["id"]) != invoice["id"]:
        raise invalid("You can't change a record's ID.", {"id": "Immutable."}, cid)
    for key in ("type", "contactId", "invoiceNo"):
        if key in body and str(body[key]) != str(invoice[key]):
            raise invalid(f"{key} can't be changed once the invoice is created.", {key: "Immutable."}, cid)
    changes = {k: v for k, v in body.items() if k in WRITABLE["invoices"] and k not in ("state", "invoiceNo")}
    if invoice["state"] != "draft":
        refused = sorted(k for k in changes if k not in AFTER_APPROVAL and changes[k] != invoice.get(k))
        if refused or "lines" in body:
            field = (refused or ["lines"])[0]
            raise invalid("An approved invoice can't be changed.", {field: "The invoice is approved."}, cid)
    _assign(work, invoice, changes, cid)
    if "lines" in body:
        replace_lines(work, invoice, body["lines"], cid)
    if "state" in body and body["state"] != invoice["state"]:
        set_state(work, invoice, body["state"], cid)
    refresh(work, invoice)
    return invoice


def set_state(work: Changes, invoice: Record, state: str, cid: str) -> None:
    if invoice["state"] != "draft" or state != "approved":
        message = "The only possible state change is from draft to approved."
        raise invalid(message, {"state": "Invalid state change."}, cid)
    if not work.org.children("invoiceLines", "invoiceId", invoice["id"]):
        raise invalid("An invoice without lines can't be approved.", {"lines": "At least one line."}, cid)
    if invoice["invoiceNo"] is None:
        invoice["invoiceNo"] = next_number(work)
    invoice["state"] = "approved"
    invoice["approvedTime"] = work.store.now()
    work.put("invoices", invoice)


def delete(work: Changes, ident: str) -> None:
    invoice = work.org.get("invoices", ident)
    if invoice is not None and invoice["state"] != "draft":
        raise invalid("Approved invoices can't be deleted.", {"state": "The invoice is approved."}, "invoice")
    if invoice is not None:
        for line in work.org.children("invoiceLines", "invoiceId", ident):
            work.delete("invoiceLines", line["id"])
    work.delete("invoices", ident)  # idempotent: an unknown id is answered 200 as well [V]


# -- lines ----------------------------------------------------------------------------------------------------------
def add_line(work: Changes, invoice: Record, data: dict[str, Any], cid: str, priority: int | None = None) -> Record:
    require(data, ("productId", "unitPrice"), cid)
    product = work.org.get("products", data["productId"])
    if product is None:
        raise invalid("The product does not exist.", {"productId": "Unknown product."}, cid)
    line: Record = {
        "id": work.store.new_id(), "invoiceId": invoice["id"], "productId": product["id"],
        "description": product.get("description"), "quantity": Decimal(1), "unitPrice": ZERO, "amount": ZERO,
        "tax": ZERO, "taxRateId": None, "discountText": None, "discountMode": None, "discountValue": None,
        "priority": priority,
    }  # fmt: skip
    _assign_line(work, line, data, cid)
    line["taxRateId"] = _line_rate(work, invoice, product, data, cid)
    return work.put("invoiceLines", line)


def update_line(work: Changes, line: Record, data: dict[str, Any], cid: str) -> Record:
    invoice = _draft_of(work, line, cid)
    if "productId" in data and work.org.get("products", data["productId"]) is None:
        raise invalid("The product does not exist.", {"productId": "Unknown product."}, cid)
    _assign_line(work, line, data, cid)
    line["taxRateId"] = _line_rate(work, invoice, work.org.get("products", line["productId"]) or {}, data, cid)
    work.put("invoiceLines", line)
    refresh(work, invoice)
    return line


def delete_line(work: Changes, ident: str) -> None:
    line = work.org.get("invoiceLines", ident)
    if line is not None:
        invoice = _draft_of(work, line, "invoiceLine")
        work.delete("invoiceLines", ident)
        refresh(work, invoice)
    else:
        work.delete("invoiceLines", ident)


def replace_lines(work: Changes, invoice: Record, lines: Any, cid: str) -> None:
    if not isinstance(lines, list) or not lines:
        raise invalid("At least one line must be supplied.", {"lines": "At least one line is required."}, cid)
    for old in work.org.children("invoiceLines", "invoiceId", invoice["id"]):
        work.delete("invoiceLines", old["id"])
    for priority, line in enumerate(lines, start=1):
        add_line(work, invoice, line, cid, priority)


def refresh(work: Changes, invoice: Record) -> None:
    """Recompute the invoice and note it and its lines as changed (their amounts may have moved)."""
    paid = paid_on(work, invoice["id"])
    rounding = work.options.vat_rounding == "invoice"
    lines = work.org.children("invoiceLines", "invoiceId", invoice["id"])
    before = {line["id"]: (line["amount"], line["tax"]) for line in lines}
    for line in recompute(work.org, invoice, paid, rounding):
        if before.get(line["id"]) != (line["amount"], line["tax"]):
            work.put("invoiceLines", line)  # only lines whose amounts moved count as changed
    work.put("invoices", invoice)


def paid_on(work: Changes, invoice_id: str) -> Decimal:
    modifiers = work.org.children("balanceModifiers", "_subjectId", invoice_id)
    return sum((m["amount"] for m in modifiers if not m["isVoided"]), ZERO)


def next_number(work: Changes) -> str:
    settings = work.org.record
    used = {str(i["invoiceNo"]) for i in work.org.table("invoices").values()}
    number = settings["nextInvoiceNo"]
    while str(number) in used:
        number += 1
    settings["nextInvoiceNo"] = number + 1
    return str(number)


# -- helpers --------------------------------------------------------------------------------------------------------
def _default_days(contact: Record, settings: Record) -> int:
    days = contact.get("paymentTermsDays")
    return int(days if days is not None else settings["paymentTermsDays"])


def _assign(work: Changes, invoice: Record, data: dict[str, Any], cid: str) -> None:
    for key in WRITABLE["invoices"] & data.keys() - {"state"}:
        invoice[key] = data[key]
    if "entryDate" in data:
        invoice["entryDate"] = parse_date(data["entryDate"], "entryDate", cid)
    if data.get("invoiceNo") is not None:
        number = str(data["invoiceNo"])
        taken = any(str(i["invoiceNo"]) == number for i in work.org.table("invoices").values())
        if taken and invoice["id"] not in work.org.table("invoices"):
            raise invalid("Invoice numbers has to be unique.", {"invoiceNo": "The number is already used."}, cid)
        invoice["invoiceNo"] = number
    check_mode_and_currency(work, invoice, cid)
    if invoice["sentState"] not in SENT_STATES:
        raise invalid("Invalid sentState.", {"sentState": "Invalid value."}, cid)


def check_mode_and_currency(work: Changes, document: Record, cid: str) -> None:
    """An invoice's or a bill's ``taxMode`` and currency."""
    if document["taxMode"] not in ("incl", "excl"):
        raise invalid("taxMode must be incl or excl.", {"taxMode": "Invalid value."}, cid)
    if work.org.get("currencies", document["currencyId"]) is None:
        raise invalid("Unknown currency.", {"currencyId": "Unknown currency."}, cid)


def check_credit(
    work: Changes, document: Record, cid: str, plural: str = "invoices", singular: str = "invoice"
) -> None:
    """A credit note names an invoice (a bill) of its own contact in ``creditedInvoiceId`` (``creditedBillId``)."""
    key = f"credited{singular.capitalize()}Id"
    credited = document.get(key)
    if credited is None:
        return
    target = work.org.get(plural, credited)
    if document["type"] != "creditNote" or target is None or target["contactId"] != document["contactId"]:
        article = "an" if singular == "invoice" else "a"
        message = f"{key} must name {article} {singular} of the same contact, on a credit note."
        raise invalid(message, {key: f"Invalid {singular}."}, cid)


def _assign_line(work: Changes, line: Record, data: dict[str, Any], cid: str) -> None:
    for key in WRITABLE["invoiceLines"] & data.keys() - {"invoiceId"}:
        line[key] = data[key]
    for key in ("quantity", "unitPrice", "discountValue"):
        if key in data and (key != "discountValue" or data[key] is not None):
            line[key] = money(data[key], key, cid)
    if line["discountMode"] not in (None, *DISCOUNT_MODES):
        raise invalid("discountMode must be cash or percent.", {"discountMode": "Invalid value."}, cid)


def _line_rate(work: Changes, invoice: Record, product: Record, data: dict[str, Any], cid: str) -> str | None:
    given = data.get("taxRateId")
    if given is not None and work.options.line_tax_rate == "refuse":
        raise invalid("taxRateId is read-only.", {"taxRateId": "Read-only."}, cid)
    if given is not None and work.options.line_tax_rate == "accept":
        if work.org.get("taxRates", given) is None:
            raise invalid("Unknown tax rate.", {"taxRateId": "Unknown tax rate."}, cid)
        return str(given)
    contact = work.org.get("contacts", invoice["contactId"]) or {}
    ruleset = product.get("salesTaxRulesetId") or work.org.record["defaultSalesTaxRulesetId"]
    rate = tax_rate_for(work.org, ruleset, contact)
    return rate["id"] if rate else None


def _draft_of(work: Changes, line: Record, cid: str) -> Record:
    invoice = work.org.get("invoices", line["invoiceId"])
    if invoice is None or invoice["state"] != "draft":
        raise invalid("Lines of an approved invoice can't be changed.", {"invoiceId": "Approved."}, cid)
    return invoice
