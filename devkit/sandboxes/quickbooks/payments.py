"""Payments: received money applied to invoices through ``Line[].LinkedTxn`` (``TxnType: "Invoice"``); the same
rules apply a supplier's ``BillPayment`` to its bills (bill_payments.py adds what only a bill payment has).

Applying lowers the invoice's ``Balance`` (paid when it reaches 0) and adds ``{"TxnId", "TxnType": "Payment"}``
to the invoice's ``LinkedTxn``; voiding or deleting the payment gives the balance back [V: field names, XSD;
I: the exact bookkeeping]. What is not applied stays ``UnappliedAmt``. Refusals [I: wording]: a line for more
than the invoice's open balance, lines adding up to more than ``TotalAmt``, an invoice of another customer or a
voided one; a linked credit memo is not supported by the sandbox.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.quickbooks import seed
from devkit.sandboxes.quickbooks.sales import ZERO, number
from devkit.sandboxes.quickbooks.wire import business, cents, required

if TYPE_CHECKING:
    from datetime import date

    from devkit.sandboxes.quickbooks.store import Company


PAID_BY = {"Payment": "Invoice", "BillPayment": "Bill"}
"""A payment entity → the transaction its lines pay (a customer's invoice, a supplier's bill: bill_payments.py)."""


def applications(payment: dict[str, Any], paid: str = "Invoice") -> list[tuple[str, Decimal]]:
    """``(form id, amount)`` for every form of kind ``paid`` a payment pays."""
    found = []
    for line in payment.get("Line", []):
        for link in line.get("LinkedTxn", []):
            if link.get("TxnType") == paid:
                found.append((str(link["TxnId"]), Decimal(line["Amount"])))
    return found


PARTIES = {"Payment": ("Customer", "CustomerRef", "customer"), "BillPayment": ("Vendor", "VendorRef", "vendor")}
"""A payment entity → (who pays or is paid, its reference, how a refusal names it)."""


def prepare(
    company: Company, body: dict[str, Any], today: date, previous: dict[str, Any] | None = None, entity: str = "Payment"
) -> Any:
    """A ``Payment`` (or, for bill_payments.py, a ``BillPayment``) checked against the forms its lines pay."""
    row = copy.deepcopy(body)
    row.pop("sparse", None)
    kind, key, _ = PARTIES[entity]
    party = company.ref(kind, row.get(key), key)
    row[key] = {"value": party["Id"], "name": party["DisplayName"]}
    total = number(row.get("TotalAmt"), "TotalAmt")
    if total is None:
        raise required("TotalAmt")
    row["TotalAmt"] = cents(total)
    given_back = dict(applications(previous, PAID_BY[entity])) if previous else {}
    applied = ZERO
    for line in row.get("Line", []):
        amount = number(line.get("Amount"), "Line.Amount")
        if amount is None:
            raise required("Line.Amount")
        line["Amount"] = cents(amount)
        for link in line.get("LinkedTxn", []):
            _check_link(company, link, entity, party["Id"], line["Amount"], given_back)
        applied += line["Amount"]
    if applied > row["TotalAmt"]:
        raise business("The amount applied to transactions is more than the payment amount.", "TotalAmt")
    if entity == "Payment":
        row["UnappliedAmt"] = row["TotalAmt"] - applied
    row["TxnDate"] = str(row.get("TxnDate") or today.isoformat())
    row.setdefault("CurrencyRef", seed.currency_ref(company.currency))
    return row


def _check_link(
    company: Company, link: dict[str, Any], entity: str, party_id: str, amount: Decimal, given_back: dict[str, Decimal]
) -> None:
    paid, (_, key, word) = PAID_BY[entity], PARTIES[entity]
    if link.get("TxnType") != paid:
        detail = f"The sandbox applies a {entity} to {paid.lower()}s only, not to {link.get('TxnType')}."
        raise business(detail, "LinkedTxn")
    form = company.ref(paid, {"value": link.get("TxnId")}, "LinkedTxn.TxnId")
    if form[key]["value"] != party_id:
        raise business(f"The transaction you are paying belongs to another {word}.", "LinkedTxn")
    if form.get("PrivateNote") == "Voided" and not form["TotalAmt"]:
        raise business("You cannot apply a payment to a voided transaction.", "LinkedTxn")
    open_balance = Decimal(form["Balance"]) + given_back.get(form["Id"], ZERO)
    if amount > open_balance:
        raise business(f"The payment amount {amount} is more than the open balance {open_balance}.", "Line.Amount")


def apply(company: Company, payment: dict[str, Any], sign: int, now: Any, entity: str = "Payment") -> None:
    """Apply (sign 1) or give back (sign -1) a payment's amounts on the forms it pays (a ``Payment`` on invoices,
    a ``BillPayment`` on bills); each form changes and lists the payment in its ``LinkedTxn``."""
    paid = PAID_BY[entity]
    for form_id, amount in applications(payment, paid):
        form = company.table(paid).get(form_id)
        if form is None:
            continue
        form["Balance"] = Decimal(form["Balance"]) - sign * amount
        links = [link for link in form.get("LinkedTxn", []) if link.get("TxnId") != payment["Id"]]
        if sign > 0:
            links.append({"TxnId": payment["Id"], "TxnType": entity})
        form["LinkedTxn"] = links
        company.touch(paid, form, now)


def paid(invoice: dict[str, Any]) -> Decimal:
    """What payments have taken off an invoice so far."""
    return Decimal(invoice.get("TotalAmt", 0)) - Decimal(invoice.get("Balance", 0))
