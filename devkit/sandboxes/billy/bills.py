"""Bills (purchase invoices and supplier credit notes) with their lines, and the files and attachments on them.

[V, https://www.billy.dk/api/ bills / billLines / attachments / files]:
- bill: ``contactId`` required and immutable, ``entryDate`` required, ``dueDate`` settable, ``state`` defaults
  to ``draft``, ``suppliersInvoiceNo`` (the supplier's own number, a string), ``taxMode`` ``incl`` | ``excl``
  (default: the company's ``defaultTaxMode``), ``currencyId``, ``exchangeRate``, ``voucherNo``, ``type``
  (immutable), ``creditedBillId`` (immutable); ``amount``, ``tax``, ``balance``, ``isPaid`` and
  ``lineDescription`` are read-only; ``lines`` and ``attachments`` are has-many. The list filters include
  ``contactId``, ``suppliersInvoiceNo``, ``state``, ``isPaid``, ``creditedBillId`` and the entry/due date ranges.
- bill line: ``accountId``, ``taxRateId``, ``description`` and ``amount`` required; ``tax`` read-only.
- attachment: ``ownerReference`` (``bill:<id>``, a belongs-to-reference) and ``fileId`` required, immutable.
- file: uploaded as the raw body of ``POST /v2/files`` named by ``X-Filename``; ``fileName``, ``fileSize``,
  ``fileType``, ``isPdf``, ``downloadUrl`` are read-only. ``X-Create-Attachment: true`` also answers an
  attachment of the file (the docs' example).
[I]: ``type`` ``bill`` | ``creditNote`` (as invoices; the enum is not listed) and a credit note's positive
amounts; a bill is refused for a contact that is not ``isSupplier`` ("can have bills"); a line's tax rate must
apply to purchases; ``suppliersInvoiceNo`` is not unique (the docs say nothing of it, one number may come from
two suppliers); ``dueDate`` defaults to the entry date plus the contact's (else the company's) terms; the line
``amount`` is in the bill's tax mode and ``tax`` is computed per line, half up; a reverse-charge purchase rate
(the sandbox's are 0 %) adds no tax to the bill; only the draft → approved state change; approved bills can't
be changed or deleted; at least one line; a file needs ``X-Filename`` and a body.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.billy.amounts import ZERO
from devkit.sandboxes.billy.invoices import check_credit, check_mode_and_currency
from devkit.sandboxes.billy.schema import WRITABLE
from devkit.sandboxes.billy.wire import bad_request, cents, invalid, money, parse_date, require

if TYPE_CHECKING:
    from devkit.sandboxes.billy.changes import Changes
    from devkit.sandboxes.billy.store import Record

OWNERS = {"bill": "bills", "invoice": "invoices"}
"""What an attachment can belong to here (daybook transactions are not modelled)."""


def create(work: Changes, body: dict[str, Any], cid: str) -> Record:
    org = work.org
    require(body, ("contactId", "entryDate"), cid)
    contact = org.get("contacts", body["contactId"])
    if contact is None:
        raise invalid("The contact does not exist.", {"contactId": "Unknown contact."}, cid)
    if not contact.get("isSupplier"):
        raise invalid("The contact is not a supplier.", {"contactId": "The contact is not a supplier."}, cid)
    kind = body.get("type", "bill")
    if kind not in ("bill", "creditNote"):
        raise invalid("type must be bill or creditNote.", {"type": "Invalid value."}, cid)
    settings = org.record
    bill: Record = {
        "id": work.store.new_id(), "organizationId": org.id, "type": kind, "createdTime": work.store.now(),
        "approvedTime": None, "contactId": contact["id"], "contactName": contact["name"], "entryDate": None,
        "paymentAccountId": None, "paymentDate": None, "dueDate": None, "isBare": False, "state": "draft",
        "suppliersInvoiceNo": None, "taxMode": settings["defaultTaxMode"], "voucherNo": None, "amount": ZERO,
        "tax": ZERO, "grossAmount": ZERO, "currencyId": settings["baseCurrencyId"], "exchangeRate": None,
        "balance": ZERO, "isPaid": False, "lineDescription": "", "creditedBillId": None, "source": "api",
        "subject": None,
    }  # fmt: skip
    _assign(work, bill, {k: v for k, v in body.items() if k not in ("state", "lines")}, cid)
    if bill["dueDate"] is None:
        days = contact.get("paymentTermsDays")
        bill["dueDate"] = bill["entryDate"] + timedelta(
            days=int(days if days is not None else settings["paymentTermsDays"])
        )
    check_credit(work, bill, cid, "bills", "bill")
    lines = body.get("lines")
    if not isinstance(lines, list) or not lines:
        raise invalid("At least one line must be supplied.", {"lines": "At least one line is required."}, cid)
    work.put("bills", bill)
    for priority, line in enumerate(lines, start=1):
        add_line(work, bill, line, cid, priority)
    if body.get("state", "draft") != "draft":
        _set_state(work, bill, body["state"], cid)
    refresh(work, bill)
    return bill


def update(work: Changes, bill: Record, body: dict[str, Any], cid: str) -> Record:
    for key in ("type", "contactId", "creditedBillId"):
        if key in body and str(body[key]) != str(bill[key]):
            raise invalid(f"{key} can't be changed once the bill is created.", {key: "Immutable."}, cid)
    changes = {k: v for k, v in body.items() if k in WRITABLE["bills"] and k != "state"}
    if bill["state"] != "draft" and (changes or "lines" in body):
        field = next(iter(changes), "lines")
        raise invalid("An approved bill can't be changed.", {field: "The bill is approved."}, cid)
    _assign(work, bill, changes, cid)
    if "lines" in body:
        if not isinstance(body["lines"], list) or not body["lines"]:
            raise invalid("At least one line must be supplied.", {"lines": "At least one line is required."}, cid)
        for old in work.org.children("billLines", "billId", bill["id"]):
            work.delete("billLines", old["id"])
        for priority, line in enumerate(body["lines"], start=1):
            add_line(work, bill, line, cid, priority)
    if "state" in body and body["state"] != bill["state"]:
        _set_state(work, bill, body["state"], cid)
    refresh(work, bill)
    return bill


def delete(work: Changes, ident: str) -> None:
    bill = work.org.get("bills", ident)
    if bill is not None and bill["state"] != "draft":
        raise invalid("Approved bills can't be deleted.", {"state": "The bill is approved."}, "bill")
    for line in work.org.children("billLines", "billId", ident):
        work.delete("billLines", line["id"])
    work.delete("bills", ident)  # idempotent, as every DELETE [V]


def add_line(work: Changes, bill: Record, data: dict[str, Any], cid: str, priority: int) -> Record:
    require(data, ("accountId", "taxRateId", "description", "amount"), cid)
    account = work.org.get("accounts", data["accountId"])
    if account is None or account.get("isArchived"):
        raise invalid("The account does not exist.", {"accountId": "Unknown account."}, cid)
    rate = work.org.get("taxRates", data["taxRateId"])
    if rate is None or not rate.get("appliesToPurchases") or not rate.get("isActive", True):
        raise invalid("The tax rate can't be used for purchases.", {"taxRateId": "Not a purchase tax rate."}, cid)
    line: Record = {
        "id": work.store.new_id(), "billId": bill["id"], "accountId": account["id"], "taxRateId": rate["id"],
        "description": str(data["description"]), "amount": money(data["amount"], "amount", cid), "tax": ZERO,
        "priority": data.get("priority", priority),
    }  # fmt: skip
    return work.put("billLines", line)


def refresh(work: Changes, bill: Record) -> None:
    """Billy's arithmetic on the bill: each line's tax, the bill's net, tax, gross and balance."""
    lines = sorted(work.org.children("billLines", "billId", bill["id"]), key=lambda line: line["priority"] or 0)
    net_total = tax_total = ZERO
    for line in lines:
        rate = (work.org.get("taxRates", line["taxRateId"]) or {}).get("rate") or ZERO
        net, line["tax"] = _split(line["amount"], Decimal(rate), bill["taxMode"])
        net_total, tax_total = net_total + net, tax_total + line["tax"]
        work.put("billLines", line)
    modifiers = work.org.children("balanceModifiers", "_subjectId", bill["id"])
    paid = sum((m["amount"] for m in modifiers if not m["isVoided"]), ZERO)
    bill.update(amount=net_total, tax=tax_total, grossAmount=net_total + tax_total)
    bill["balance"] = bill["grossAmount"] - paid
    bill["isPaid"] = bill["state"] == "approved" and bill["balance"] <= 0
    bill["lineDescription"] = ", ".join(line["description"] for line in lines)
    work.put("bills", bill)


def _split(amount: Decimal, rate: Decimal, tax_mode: str) -> tuple[Decimal, Decimal]:
    if tax_mode == "incl":
        net = cents(amount / (1 + rate))
        return net, amount - net
    return amount, cents(amount * rate)


def _set_state(work: Changes, bill: Record, state: str, cid: str) -> None:
    if bill["state"] != "draft" or state != "approved":
        raise invalid("The only possible state change is from draft to approved.", {"state": "Invalid."}, cid)
    bill["state"], bill["approvedTime"] = "approved", work.store.now()


def _assign(work: Changes, bill: Record, data: dict[str, Any], cid: str) -> None:
    for key in WRITABLE["bills"] & data.keys():
        bill[key] = data[key]
    for key in ("entryDate", "dueDate"):
        if data.get(key) is not None:
            bill[key] = parse_date(data[key], key, cid)
    if data.get("suppliersInvoiceNo") is not None:
        bill["suppliersInvoiceNo"] = str(data["suppliersInvoiceNo"])
    check_mode_and_currency(work, bill, cid)


# -- files and attachments ------------------------------------------------------------------------------------------
def upload(work: Changes, name: str | None, content_type: str, data: bytes, attach: bool) -> Record:
    """``POST /v2/files``: the raw body is the file; answers the file (and an attachment of it when asked)."""
    if not name:
        raise bad_request("The X-Filename header is required.")
    if not data:
        raise bad_request("The request body must be the file.")
    ident = work.store.new_id()
    file: Record = {
        "id": ident, "createdTime": work.store.now(), "fileName": name, "fileSize": len(data),
        "fileType": content_type or "application/octet-stream", "isImage": content_type.startswith("image/"),
        "isPdf": content_type == "application/pdf" or name.lower().endswith(".pdf"), "imageWidth": None,
        "imageHeight": None, "downloadUrl": f"https://download.billy.example/{ident}/{name}", "_data": data,
    }  # fmt: skip
    work.put("files", file)
    if attach:
        work.put("attachments", _attachment(work, ident, None, None))
    return file


def create_attachment(work: Changes, body: dict[str, Any], cid: str) -> Record:
    require(body, ("ownerReference", "fileId"), cid)
    kind, _, owner_id = str(body["ownerReference"]).partition(":")
    if kind not in OWNERS or work.org.get(OWNERS[kind], owner_id) is None:
        raise invalid("The owner does not exist.", {"ownerReference": "Unknown owner."}, cid)
    if work.org.get("files", body["fileId"]) is None:
        raise invalid("The file does not exist.", {"fileId": "Unknown file."}, cid)
    return work.put("attachments", _attachment(work, str(body["fileId"]), owner_id, body.get("priority")))


def update_attachment(work: Changes, attachment: Record, body: dict[str, Any], cid: str) -> Record:
    for key in ("ownerReference", "fileId"):
        if key in body and body[key] != attachment[key]:
            raise invalid(f"{key} can't be changed.", {key: "Immutable."}, cid)
    if "priority" in body:
        attachment["priority"] = body["priority"]
    return work.put("attachments", attachment)


def _attachment(work: Changes, file_id: str, owner_id: str | None, priority: Any) -> Record:
    owner = next((f"{k}:{owner_id}" for k, p in OWNERS.items() if work.org.get(p, owner_id)), None)
    return {
        "id": work.store.new_id(), "organizationId": work.org.id, "createdTime": work.store.now(),
        "ownerReference": owner, "fileId": file_id, "priority": priority, "_ownerId": owner_id,
    }  # fmt: skip
