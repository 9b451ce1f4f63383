"""Bill payments: money paid to a supplier, applied to its bills through ``Line[].LinkedTxn`` (``TxnType: "Bill"``).

Shape [V: Finance.xsd ``BillPayment``]: ``VendorRef``, ``APAccountRef``, ``PayType`` (``Check`` or ``CreditCard``)
with ``CheckPayment{BankAccountRef, PrintStatus}`` or ``CreditCardPayment{CCAccountRef}``, ``TotalAmt``,
``Line[]{Amount, LinkedTxn[]{TxnId, TxnType}}``, ``TxnDate``, ``CurrencyRef``, ``PrivateNote``. Required to create
[I: Intuit's BillPayment reference as third parties copy it]: ``VendorRef``, ``PayType``, ``TotalAmt``, ``Line``,
and the account of the pay type. Applying lowers the bill's ``Balance`` (paid at 0) and adds
``{"TxnId", "TxnType": "BillPayment"}`` to its ``LinkedTxn``; voiding or deleting gives it back. The lines are
checked as a customer's payment's are (payments.py): a line for more than the bill's open balance, lines adding up
to more than ``TotalAmt`` or a bill of another vendor are refused; a linked vendor credit or journal entry is not
supported by the sandbox. Refused here [I: wording]: a bank account not of type Bank, a card account not of type
Credit Card (6000, as QuickBooks words every business rule), a PayType other than the two (2170).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devkit.sandboxes.quickbooks import payments
from devkit.sandboxes.quickbooks.wire import business, required, validation

if TYPE_CHECKING:
    from datetime import date

    from devkit.sandboxes.quickbooks.store import Company

PAY_TYPES = {"Check": ("CheckPayment", "BankAccountRef", "Bank"),
             "CreditCard": ("CreditCardPayment", "CCAccountRef", "Credit Card")}  # fmt: skip
"""PayType → (its detail, the account reference in it, the AccountType that account must have)."""


def prepare(company: Company, body: dict[str, Any], today: date, previous: dict[str, Any] | None = None) -> Any:
    if isinstance(body, dict) and not body.get("Line"):
        raise required("Line")
    row = payments.prepare(company, body, today, previous, "BillPayment")
    _pay_type(company, row)
    return row


def _pay_type(company: Company, row: dict[str, Any]) -> None:
    pay_type = row.get("PayType")
    if pay_type is None:
        raise required("PayType")
    if pay_type not in PAY_TYPES:
        detail = f"Invalid enumeration value {pay_type} for PayType: Check or CreditCard"
        raise validation("2170", "Invalid Enumeration", detail, "PayType")
    detail_name, ref_name, account_type = PAY_TYPES[pay_type]
    detail = row.get(detail_name) or {}
    account = company.ref("Account", detail.get(ref_name), f"{detail_name}.{ref_name}")
    if account.get("AccountType") != account_type:
        raise business(f"A {pay_type} bill payment must be paid from a {account_type} account.", ref_name)
    detail[ref_name] = {"value": account["Id"], "name": account["Name"]}
    if pay_type == "Check":
        detail.setdefault("PrintStatus", "NeedToPrint")  # [I] QuickBooks' own default for a check
    row[detail_name] = detail
    for other, _, _ in PAY_TYPES.values():
        if other != detail_name:
            row.pop(other, None)
