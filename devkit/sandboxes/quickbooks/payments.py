"""Payments: received money applied to invoices through ``Line[].LinkedTxn`` (``TxnType: "Invoice"``).

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


def applications(payment: dict[str, Any]) -> list[tuple[str, Decimal]]:
    """``(invoice id, amount)`` for every invoice a payment pays."""
    found = []
    for line in payment.get("Line", []):
        for link in line.get("LinkedTxn", []):
            if link.get("TxnType") == "Invoice":
                found.append((str(link["TxnId"]), Decimal(line["Amount"])))
    return found


def prepare(company: Company, body: dict[str, Any], today: date, previous: dict[str, Any] | None = None) -> Any:
    row = copy.deepcopy(body)
    row.pop("sparse", None)
    customer = company.ref("Customer", row.get("CustomerRef"), "CustomerRef")
    row["CustomerRef"] = {"value": customer["Id"], "name": customer["DisplayName"]}
    total = number(row.get("TotalAmt"), "TotalAmt")
    if total is None:
        raise required("TotalAmt")
    row["TotalAmt"] = cents(total)
    given_back = dict(applications(previous)) if previous else {}
    applied = ZERO
    for line in row.get("Line", []):
        amount = number(line.get("Amount"), "Line.Amount")
        if amount is None:
            raise required("Line.Amount")
        line["Amount"] = cents(amount)
        for link in line.get("LinkedTxn", []):
            _check_link(company, link, customer["Id"], line["Amount"], given_back)
        applied += line["Amount"]
    if applied > row["TotalAmt"]:
        raise business("The amount applied to transactions is more than the payment amount.", "TotalAmt")
    row["UnappliedAmt"] = row["TotalAmt"] - applied
    row["TxnDate"] = str(row.get("TxnDate") or today.isoformat())
    row.setdefault("CurrencyRef", seed.currency_ref(company.currency))
    return row


def _check_link(
    company: Company, link: dict[str, Any], customer_id: str, amount: Decimal, given_back: dict[str, Decimal]
) -> None:
    if link.get("TxnType") != "Invoice":
        raise business(f"The sandbox applies payments to invoices only, not to {link.get('TxnType')}.", "LinkedTxn")
    invoice = company.ref("Invoice", {"value": link.get("TxnId")}, "LinkedTxn.TxnId")
    if invoice["CustomerRef"]["value"] != customer_id:
        raise business("The transaction you are paying belongs to another customer.", "LinkedTxn")
    if invoice.get("PrivateNote") == "Voided" and not invoice["TotalAmt"]:
        raise business("You cannot apply a payment to a voided transaction.", "LinkedTxn")
    open_balance = Decimal(invoice["Balance"]) + given_back.get(invoice["Id"], ZERO)
    if amount > open_balance:
        raise business(f"The payment amount {amount} is more than the open balance {open_balance}.", "Line.Amount")


def apply(company: Company, payment: dict[str, Any], sign: int, now: Any) -> None:
    """Apply (sign 1) or give back (sign -1) a payment's amounts on its invoices; each invoice changes."""
    for invoice_id, amount in applications(payment):
        invoice = company.table("Invoice").get(invoice_id)
        if invoice is None:
            continue
        invoice["Balance"] = Decimal(invoice["Balance"]) - sign * amount
        links = [link for link in invoice.get("LinkedTxn", []) if link.get("TxnId") != payment["Id"]]
        if sign > 0:
            links.append({"TxnId": payment["Id"], "TxnType": "Payment"})
        invoice["LinkedTxn"] = links
        company.touch("Invoice", invoice, now)


def paid(invoice: dict[str, Any]) -> Decimal:
    """What payments have taken off an invoice so far."""
    return Decimal(invoice.get("TotalAmt", 0)) - Decimal(invoice.get("Balance", 0))
