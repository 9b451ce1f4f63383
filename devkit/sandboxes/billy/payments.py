"""Bank payments on invoices (and refunds on credit notes), and the balance modifiers they leave on them.

[V, https://www.billy.dk/api/ "Posting a payment for an invoice" and bankPayments / balanceModifiers]: ``POST
/v2/bankPayments`` ``{"bankPayment": {entryDate, cashAmount, cashSide, cashAccountId, associations:
[{"subjectReference": "invoice:<id>"}]}}``; ``cashSide`` ``debit`` is a deposit (invoices), ``credit`` a withdrawal
(bills: ``bill:<id>``); ``cashAccount`` must have ``isPaymentEnabled``; ``contactId`` and ``subjectCurrencyId``
default from the subjects, which must share one currency; ``cashExchangeRate`` must be set when the account's currency
differs (1 subject currency = rate account currency), else it is 1; a ``feeAmount`` needs a ``feeAccountId``, and on a
deposit the fee also pays the subject (100 paid by 95 cash + 5 fee); an **overpayment is not refused: the excess goes
to the contact's balance**; the subjects' ``balance`` and ``isPaid`` follow; ``isVoided`` can be set once and never
undone; everything but ``isVoided`` is immutable.
[I]: a payment needs approved subjects; a supplier's credit note (a bill) is a deposit; a credit note is paid back
with ``cashSide: "credit"``; the excess is a ``contactBalancePostings`` record in the answer; approving a credit note
with ``creditedInvoiceId`` settles it against that invoice's balance (a balance modifier on each); ``DELETE`` removes
a payment like voiding it (the docs list delete; a third party saw 405 without a token — not modelled).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.billy import bills
from devkit.sandboxes.billy.amounts import ZERO
from devkit.sandboxes.billy.invoices import refresh as refresh_invoice
from devkit.sandboxes.billy.wire import cents, invalid, money, parse_date

if TYPE_CHECKING:
    from devkit.sandboxes.billy.changes import Changes
    from devkit.sandboxes.billy.store import Record

REQUIRED = ("entryDate", "cashAmount", "cashSide", "cashAccountId")
SUBJECTS = {"invoice": "invoices", "bill": "bills"}


def create(work: Changes, body: dict[str, Any], cid: str) -> Record:
    missing = {k: "This field is required." for k in REQUIRED if body.get(k) in (None, "")}
    if missing:
        raise invalid(f"{next(iter(missing))} is required.", missing, cid)
    account = work.org.get("accounts", body["cashAccountId"])
    if account is None or not account["isPaymentEnabled"]:
        raise invalid("The cash account must have isPaymentEnabled.", {"cashAccountId": "Not a payment account."}, cid)
    if body["cashSide"] not in ("debit", "credit"):
        raise invalid("cashSide must be debit or credit.", {"cashSide": "Invalid value."}, cid)
    subjects = _subjects(work, body, cid)
    currency = subjects[0]["currencyId"]
    rate = _rate(body, account, currency, cid)
    fee = money(body["feeAmount"], "feeAmount", cid) if body.get("feeAmount") is not None else ZERO
    if fee and work.org.get("accounts", body.get("feeAccountId")) is None:
        raise invalid("feeAccountId must be set when feeAmount is set.", {"feeAccountId": "Required."}, cid)
    cash = money(body["cashAmount"], "cashAmount", cid)
    payment: Record = {
        "id": work.store.new_id(), "organizationId": work.org.id, "contactId": subjects[0]["contactId"],
        "createdTime": work.store.now(), "entryDate": parse_date(body["entryDate"], "entryDate", cid),
        "cashAmount": cash, "cashSide": body["cashSide"], "cashAccountId": account["id"], "cashExchangeRate": rate,
        "subjectCurrencyId": currency, "feeAmount": fee or None, "feeAccountId": body.get("feeAccountId"),
        "isVoided": False,
    }  # fmt: skip
    applied = cents(((cash + fee) if body["cashSide"] == "debit" else (cash - fee)) / rate)
    work.put("bankPayments", payment)
    left = _apply(work, payment, subjects, applied)
    if left > 0:
        _overpaid(work, payment, left, cid)
    return payment


def update(work: Changes, payment: Record, body: dict[str, Any], cid: str) -> Record:
    for key, value in body.items():
        if key in ("id", "_clientId", "isVoided") or payment.get(key) == value:
            continue
        raise invalid(f"{key} can't be changed on a bank payment.", {key: "Immutable."}, cid)
    if "isVoided" in body and bool(body["isVoided"]) != payment["isVoided"]:
        if payment["isVoided"]:
            raise invalid("A voided payment can't be reinstated.", {"isVoided": "Already voided."}, cid)
        void(work, payment)
    return payment


def void(work: Changes, payment: Record) -> None:
    payment["isVoided"] = True
    work.put("bankPayments", payment)
    for modifier in work.org.children("balanceModifiers", "_paymentId", payment["id"]):
        modifier["isVoided"] = True
        work.put("balanceModifiers", modifier)
        _refresh_subject(work, modifier["_subjectId"])


def delete(work: Changes, ident: str) -> None:
    payment = work.org.get("bankPayments", ident)
    if payment is not None:
        for modifier in work.org.children("balanceModifiers", "_paymentId", ident):
            work.delete("balanceModifiers", modifier["id"])
            _refresh_subject(work, modifier["_subjectId"])
    work.delete("bankPayments", ident)


def settle_new_credit_notes(work: Changes) -> None:
    """Credit notes this piece of work approved settle against the invoices they credit [I]."""
    for invoice in list(work.changed.get("invoices", {}).values()):
        if invoice["type"] == "creditNote" and invoice["state"] == "approved" and not invoice.get("_settled"):
            invoice["_settled"] = True
            settle_credit_note(work, invoice)


def settle_credit_note(work: Changes, credit_note: Record) -> None:
    """On approval, a credit note for an invoice takes what it can off that invoice's balance [I]."""
    target = work.org.get("invoices", credit_note.get("creditedInvoiceId"))
    if target is None or target["state"] != "approved":
        return
    amount = min(credit_note["balance"], target["balance"])
    if amount <= 0:
        return
    for subject, other in ((target, credit_note), (credit_note, target)):
        _modifier(work, f"invoice:{other['id']}", subject, amount, credit_note["entryDate"], None)
        _refresh_subject(work, subject["id"])


# -- helpers --------------------------------------------------------------------------------------------------------
def _subjects(work: Changes, body: dict[str, Any], cid: str) -> list[Record]:
    associations = body.get("associations") or []
    if not associations:
        raise invalid("At least one association is required.", {"associations": "Required."}, cid)
    subjects = []
    for association in associations:
        kind, _, ident = str(association.get("subjectReference", "")).partition(":")
        subject = work.org.get(SUBJECTS[kind], ident) if kind in SUBJECTS else None
        if subject is None:
            raise invalid("Unknown subject.", {"associations": f"No such subject: {kind}:{ident}"}, cid)
        if subject["state"] != "approved":
            raise invalid(f"Only approved {kind}s can be paid.", {"associations": f"The {kind} is a draft."}, cid)
        deposit = (kind == "invoice") == (subject["type"] != "creditNote")  # money in: an invoice, a supplier's credit
        wanted_side = "debit" if deposit else "credit"
        if body["cashSide"] != wanted_side:
            raise invalid(f"A payment for this subject has cashSide {wanted_side}.", {"cashSide": "Wrong side."}, cid)
        subjects.append(subject)
    if len({s["currencyId"] for s in subjects}) > 1 or len({s["contactId"] for s in subjects}) > 1:
        message = "All associations must point to subjects of the same contact and currency."
        raise invalid(message, {"associations": "Mixed subjects."}, cid)
    return subjects


def _rate(body: dict[str, Any], account: Record, currency: str, cid: str) -> Decimal:
    if account["currencyId"] == currency:
        return Decimal(1)
    if body.get("cashExchangeRate") is None:
        message = "cashExchangeRate must be set when the account's currency differs from the subjects'."
        raise invalid(message, {"cashExchangeRate": "Required."}, cid)
    rate = money(body["cashExchangeRate"], "cashExchangeRate", cid)
    if rate <= 0:
        raise invalid("cashExchangeRate must be positive.", {"cashExchangeRate": "Invalid value."}, cid)
    return rate


def _apply(work: Changes, payment: Record, subjects: list[Record], amount: Decimal) -> Decimal:
    left = amount
    for subject in subjects:
        share = min(left, max(subject["balance"], ZERO))
        if share > 0:
            _modifier(work, f"bankPayment:{payment['id']}", subject, share, payment["entryDate"], payment["id"])
            _refresh_subject(work, subject["id"])
        left -= share
    return left


def _modifier(
    work: Changes, modifier: str, subject: Record, amount: Decimal, entry: Any, payment_id: str | None
) -> None:
    record = {
        "id": work.store.new_id(), "modifierReference": modifier, "subjectReference": _reference(work, subject),
        "amount": amount, "entryDate": entry, "realizedCurrencyDifference": ZERO, "isVoided": False,
        "_subjectId": subject["id"], "_paymentId": payment_id,
    }  # fmt: skip
    work.put("balanceModifiers", record)


def _overpaid(work: Changes, payment: Record, excess: Decimal, cid: str) -> None:
    if work.options.overpayment == "refuse":
        raise invalid("The payment is larger than the outstanding balance.", {"cashAmount": "Too large."}, cid)
    side = "credit" if payment["cashSide"] == "debit" else "debit"
    work.put("contactBalancePostings", {
        "id": work.store.new_id(), "contactId": payment["contactId"], "originatorReference":
        f"bankPayment:{payment['id']}", "createdTime": work.store.now(), "entryDate": payment["entryDate"],
        "amount": excess, "side": side, "currencyId": payment["subjectCurrencyId"], "isVoided": False,
    })  # fmt: skip


def _refresh_subject(work: Changes, subject_id: str) -> None:
    invoice, bill = work.org.get("invoices", subject_id), work.org.get("bills", subject_id)
    if invoice is not None:
        refresh_invoice(work, invoice)
    if bill is not None:
        bills.refresh(work, bill)


def _reference(work: Changes, subject: Record) -> str:
    return f"{'bill' if work.org.get('bills', subject['id']) else 'invoice'}:{subject['id']}"
