"""The write operations of the v3 API on one company: create, full and sparse update, delete, void.

``POST /{entity}`` without ``Id`` creates; with ``Id`` and ``SyncToken`` it updates: ``"sparse": true``
changes only the fields sent, otherwise the body replaces the entity (fields left out are cleared, as
QuickBooks does) [V: documented]. ``?operation=delete`` answers ``{"<Entity>": {"status": "Deleted",
"domain": "QBO", "Id"}}``; ``?operation=void`` answers the voided entity (amounts 0, PrivateNote "Voided").
Transactions with payments applied cannot be deleted or voided until the payments are [I].
A customer's ``Balance`` is what its open invoices still owe, less its credit memos' remaining credit [I].
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.quickbooks import bill_payments, payments
from devkit.sandboxes.quickbooks.purchases import PURCHASES, PurchaseForm, vendor_balance
from devkit.sandboxes.quickbooks.sales import ZERO, SalesForm, void
from devkit.sandboxes.quickbooks.store import NAME_LISTS, TRANSACTIONS, Company
from devkit.sandboxes.quickbooks.wire import Fault, business, unsupported, validation

if TYPE_CHECKING:
    from datetime import datetime


class Books:
    """The rules of writing, with the options a test can switch."""

    def __init__(self, *, require_global_tax_calculation: bool = True, refuse_duplicate_docnumber: bool = False):
        self.require_global_tax_calculation = require_global_tax_calculation
        self.refuse_duplicate_docnumber = refuse_duplicate_docnumber

    def _form(self, company: Company, entity: str, now: datetime) -> SalesForm:
        return SalesForm(company, entity, require_mode=self.require_global_tax_calculation, today=now.date())

    def _prepare(self, company: Company, entity: str, body: dict[str, Any], now: datetime, old: Any = None) -> Any:
        if not isinstance(body, dict):
            raise validation("2010", "Request has invalid or unsupported property", "The body is not an object")
        ident = old["Id"] if old else None
        if entity in ("Invoice", "CreditMemo"):
            row = self._form(company, entity, now).prepare(body, payments.paid(old) if old else ZERO)
            self._docnumber(company, entity, row, ident)
            return row
        if entity in PURCHASES:
            form = PurchaseForm(company, entity, require_mode=self.require_global_tax_calculation, today=now.date())
            row = form.prepare(body, payments.paid(old) if old else ZERO)
            self._docnumber(company, entity, row, ident)
            return row
        if entity == "Payment":
            return payments.prepare(company, body, now.date(), old)
        if entity == "BillPayment":
            return bill_payments.prepare(company, body, now.date(), old)
        return company.prepare_name(entity, body, ident)

    def _docnumber(self, company: Company, entity: str, row: dict[str, Any], ident: str | None) -> None:
        number = row.get("DocNumber")
        if not number or not self.refuse_duplicate_docnumber:
            return
        vendor = (row.get("VendorRef") or {}).get("value")  # a supplier's number is unique per supplier only
        for other in company.table(entity).values():
            same_vendor = vendor is None or (other.get("VendorRef") or {}).get("value") == vendor
            if other.get("DocNumber") == number and other["Id"] != ident and same_vendor:
                detail = (
                    "Duplicate Document Number Error : You must specify a different number. "
                    f"This number has already been used. DocNumber={number}"
                )
                raise Fault(400, "ValidationFault", ("6140", "Duplicate Document Number Error", detail, ""))

    # -- operations ------------------------------------------------------------------------------------------------
    def create(self, company: Company, entity: str, body: Any, now: datetime) -> dict[str, Any]:
        row = company.insert(entity, self._prepare(company, entity, body, now), now)
        if entity in payments.PAID_BY:
            payments.apply(company, row, 1, now, entity)
        self._balances(company, row)
        return row

    def update(self, company: Company, entity: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        old = company.check_token(entity, body)
        new = {**copy.deepcopy(old), **body} if body.get("sparse") else {**body}
        if entity in ("Invoice", "CreditMemo", "Bill"):
            new["LinkedTxn"] = old.get("LinkedTxn", [])  # payment links are QuickBooks' to keep
        if entity in payments.PAID_BY:
            payments.apply(company, old, -1, now, entity)
        try:
            prepared = self._prepare(company, entity, new, now, old)
        except Fault:
            if entity in payments.PAID_BY:
                payments.apply(company, old, 1, now, entity)
            raise
        row = company.replace(entity, old, prepared, now)
        if entity in payments.PAID_BY:
            payments.apply(company, row, 1, now, entity)
        self._balances(company, row)
        return row

    def _take_back(
        self, company: Company, entity: str, body: dict[str, Any], operation: str, now: datetime
    ) -> dict[str, Any]:
        """The transaction a delete or void names, its payments given back; refuses name lists and paid forms."""
        if entity not in TRANSACTIONS:
            raise unsupported(f"Operation {operation} is not supported for {entity}; make it inactive instead")
        row = company.check_token(entity, body)
        self._refuse_if_paid(entity, row)
        if entity in payments.PAID_BY:
            payments.apply(company, row, -1, now, entity)
        return row

    def delete(self, company: Company, entity: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        row = self._take_back(company, entity, body, "Delete", now)
        company.remove(entity, row["Id"], now)
        self._balances(company, row)
        return {"status": "Deleted", "domain": "QBO", "Id": row["Id"]}

    def void(self, company: Company, entity: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        row = self._take_back(company, entity, body, "Void", now)
        if entity in payments.PAID_BY:
            row["Line"] = [{**line, "Amount": ZERO} for line in row.get("Line", [])]
            row["TotalAmt"] = ZERO
            row.update({"UnappliedAmt": ZERO} if entity == "Payment" else {})
            row["PrivateNote"] = "Voided"
        else:
            void(row)
        company.touch(entity, row, now, "Void")
        self._balances(company, row)
        return row

    @staticmethod
    def _refuse_if_paid(entity: str, row: dict[str, Any]) -> None:
        paid_by = payments.PAID_BY
        if entity not in paid_by and any(link.get("TxnType") in paid_by for link in row.get("LinkedTxn", [])):
            raise business("This transaction has payments applied to it. Remove the payments first.", "LinkedTxn")

    @staticmethod
    def _balances(company: Company, row: dict[str, Any]) -> None:
        vendor_id = (row.get("VendorRef") or {}).get("value")
        vendor = company.table("Vendor").get(str(vendor_id)) if vendor_id else None
        if vendor is not None:
            vendor["Balance"] = vendor_balance(company, str(vendor_id))
        customer_id = (row.get("CustomerRef") or {}).get("value")
        customer = company.table("Customer").get(str(customer_id)) if customer_id else None
        if customer is None:
            return
        owed = ZERO
        for entity, sign in (("Invoice", 1), ("CreditMemo", -1)):
            for form in company.table(entity).values():
                if form["CustomerRef"]["value"] == customer_id:
                    owed += sign * Decimal(form["Balance"])
        customer["Balance"] = customer["BalanceWithJobs"] = owed

    def send(self, company: Company, entity: str, ident: str, send_to: str | None, now: datetime) -> dict[str, Any]:
        """E-mail a sales form [V: Intuit's Invoice reference]: EmailStatus EmailSent, DeliveryInfo filled, and
        BillEmail set to ``sendTo`` when given; without either address QuickBooks cannot send it [I: the fault]."""
        if entity not in ("Invoice", "CreditMemo"):
            raise unsupported(f"Operation send is not supported for {entity}")
        row = company.get(entity, ident)
        if send_to:
            row["BillEmail"] = {"Address": send_to}
        if not (row.get("BillEmail") or {}).get("Address"):
            raise business("Please supply an email address to send this transaction to.", "BillEmail")
        row["EmailStatus"] = "EmailSent"
        row["DeliveryInfo"] = {"DeliveryType": "Email", "DeliveryTime": now.isoformat()}
        company.touch(entity, row, now)
        return copy.deepcopy(row)

    def pdf(self, company: Company, entity: str, ident: str) -> bytes:
        """The form as a PDF (``Accept: application/pdf``); the sandbox's is a one-line stand-in [I: the layout]."""
        if entity not in ("Invoice", "CreditMemo"):
            raise unsupported(f"Operation pdf is not supported for {entity}")
        row = company.get(entity, ident)
        text = f"{entity} {row.get('DocNumber') or row['Id']} total {row['TotalAmt']}"
        return b"%PDF-1.4\n% " + text.encode() + b"\n%%EOF\n"

    def add_name(self, company: Company, entity: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        if entity not in (*NAME_LISTS, "Item", "Account", "Term"):
            raise ValueError(f"{entity} is not a name list")
        return self.create(company, entity, body, now)
