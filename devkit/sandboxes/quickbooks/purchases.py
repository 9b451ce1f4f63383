"""Bills and vendor credits (a supplier's invoice and credit note) as a non-US QuickBooks company checks them.

Shape [V: Finance.xsd of Intuit's Java SDK, ``Bill``/``VendorCredit`` extend ``PurchaseByVendor``]: ``VendorRef``,
``APAccountRef``, ``Line[]``, ``DocNumber``, ``TxnDate``, ``GlobalTaxCalculation``, ``TxnTaxDetail``,
``CurrencyRef``, ``PrivateNote``; a Bill also has ``DueDate`` and ``SalesTermRef``. Lines are
``AccountBasedExpenseLineDetail`` ``{AccountRef, TaxCodeRef}`` (an ``ItemBasedExpenseLineDetail`` is refused here:
left out of the sandbox).
Refusals, in the shapes of sales.py: a missing ``VendorRef``/``Line``/``AccountRef``/``Amount`` is 2020 [V: required
per Intuit's Bill reference]; a reference to nothing or an inactive name 2500; a line without a tax code the same
6000 as a sales line [I]; a DocNumber over 21 characters 2050 [I].
Tax: per tax code on the code's ``PurchaseTaxRateList`` (sales forms use its ``SalesTaxRateList``), rounded half up
per rate [I]; a self-assessing code (intra-EU, reverse charge) holds a rate and its opposite, which cancel (seed.py).
``DueDate`` defaults to TxnDate + the DueDays of the bill's ``SalesTermRef``, else the vendor's ``TermRef``, else
none: due on TxnDate [I]. ``APAccountRef`` defaults to the company's Accounts Payable account [V: documented as
"if not specified, the default A/P account is used"; I: the fault when it has none].
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.quickbooks.sales import NO_VAT_RATE, ZERO, SalesForm, _date, _stated_tax, number
from devkit.sandboxes.quickbooks.wire import business, cents, required, validation

if TYPE_CHECKING:
    from datetime import date

    from devkit.sandboxes.quickbooks.store import Company

PURCHASES = ("Bill", "VendorCredit")
EXPENSE_LINE = "AccountBasedExpenseLineDetail"


class PurchaseForm(SalesForm):
    """Checks and completes one Bill or VendorCredit body for a company."""

    detail_type = EXPENSE_LINE
    rate_list = "PurchaseTaxRateList"

    def __init__(self, company: Company, entity: str, *, require_mode: bool = True, today: date) -> None:
        super().__init__(company, entity, require_mode=require_mode, today=today)

    def prepare(self, body: dict[str, Any], paid: Decimal = ZERO) -> dict[str, Any]:
        row = copy.deepcopy(body)
        row.pop("sparse", None)
        vendor = self.company.ref("Vendor", row.get("VendorRef"), "VendorRef")
        row["VendorRef"] = {"value": vendor["Id"], "name": vendor["DisplayName"]}
        row["APAccountRef"] = self._payable(row.get("APAccountRef"))
        mode, lines = self._mode_and_lines(row)
        row["Line"] = [self._expense_line(line, index) for index, line in enumerate(lines, start=1)]
        subtotal = sum((line["Amount"] for line in row["Line"]), ZERO)
        tax_lines = self._tax(row["Line"], subtotal, ZERO, mode)
        stated = _stated_tax(row)
        for line in tax_lines:
            line["Amount"] = stated.get(line["TaxLineDetail"]["TaxRateRef"]["value"], line["Amount"])
        total_tax = sum((line["Amount"] for line in tax_lines), ZERO)
        row["TxnTaxDetail"] = {"TotalTax": total_tax, "TaxLine": tax_lines}
        row["TotalAmt"] = subtotal + total_tax
        row["Balance"] = row["TotalAmt"] - paid
        row.setdefault("LinkedTxn", [])
        self._purchase_dates(row, vendor)
        return row

    def _payable(self, ref: Any) -> dict[str, Any]:
        if ref:
            account = self.company.ref("Account", ref, "APAccountRef")
        else:
            payable = [a for a in self.company.table("Account").values() if a.get("AccountType") == "Accounts Payable"]
            if not payable:
                raise business("Select an accounts payable account for this transaction.", "APAccountRef")
            account = payable[0]
        return {"value": account["Id"], "name": account["Name"]}

    def _expense_line(self, line: Any, index: int) -> dict[str, Any]:
        kind = line.get("DetailType") if isinstance(line, dict) else None
        if kind != EXPENSE_LINE:
            raise required("Line.DetailType") if kind is None else business(f"Unsupported line type {kind}")
        line = copy.deepcopy(line)
        detail = line.get(EXPENSE_LINE) or {}
        account = self.company.ref("Account", detail.get("AccountRef"), f"Line.{EXPENSE_LINE}.AccountRef")
        detail["AccountRef"] = {"value": account["Id"], "name": account["Name"]}
        if not (detail.get("TaxCodeRef") or {}).get("value"):
            raise business(NO_VAT_RATE, f"Line.{EXPENSE_LINE}.TaxCodeRef")
        code = self.company.ref("TaxCode", detail["TaxCodeRef"], f"Line.{EXPENSE_LINE}.TaxCodeRef")
        if not code[self.rate_list]["TaxRateDetail"] and code.get("Taxable"):
            raise business(f"The tax code {code['Name']} cannot be used on purchases.", f"Line.{EXPENSE_LINE}")
        detail["TaxCodeRef"] = {"value": code["Id"]}
        detail.setdefault("BillableStatus", "NotBillable")
        amount = number(line.get("Amount"), "Line.Amount")
        if amount is None:
            raise required("Line.Amount")
        return {**line, "Id": str(index), "LineNum": index, "Amount": cents(amount), EXPENSE_LINE: detail}

    def _purchase_dates(self, row: dict[str, Any], vendor: dict[str, Any]) -> None:
        txn_date = _date(row.get("TxnDate"), "TxnDate") or self.today
        row["TxnDate"] = txn_date.isoformat()
        doc_number = str(row.get("DocNumber") or "")
        if len(doc_number) > 21:
            detail = f"String length specified does not match the supported length. Min:0 Max:21 supplied:{doc_number}"
            raise validation("2050", "Length exceeds limit", detail, "DocNumber")
        if self.entity != "Bill":
            row.pop("DueDate", None)  # a VendorCredit has none (Finance.xsd)
            return
        term_ref = row.get("SalesTermRef") or vendor.get("TermRef")
        days = 0
        if term_ref:
            term = self.company.ref("Term", term_ref, "SalesTermRef")
            row["SalesTermRef"] = {"value": term["Id"], "name": term["Name"]}
            days = int(term.get("DueDays") or 0)
        due = _date(row.get("DueDate"), "DueDate")
        row["DueDate"] = (due or txn_date.fromordinal(txn_date.toordinal() + days)).isoformat()


def vendor_balance(company: Company, vendor_id: str) -> Decimal:
    """What the company owes a vendor: its open bills less its vendor credits' balance [I]."""
    owed = ZERO
    for entity, sign in (("Bill", 1), ("VendorCredit", -1)):
        for form in company.table(entity).values():
            if form["VendorRef"]["value"] == vendor_id:
                owed += sign * Decimal(form["Balance"])
    return owed
