"""Invoices and credit memos as a non-US QuickBooks company checks and completes them.

Refusals [V: codes and wording from public issues, see README]:
- a sales line whose ``Amount`` differs from ``Qty × UnitPrice`` rounded half up to the cent: 6070 (``Qty`` and
  ``UnitPrice`` taken at QuickBooks' 7 decimals first, see ``places``)
  "Amount calculation incorrect in the request." / "Amount is not equal to UnitPrice * Qty. Supplied value:…";
- a sales line without ``TaxCodeRef``: 6000 "A business validation error has occurred while processing your
  request" / "Business Validation Error: Make sure all your transactions have a VAT rate before you save.";
- no ``GlobalTaxCalculation``: the same 6000 by default [I: QuickBooks may instead fall back to the company's
  setting; ``require_global_tax_calculation=False`` models that, defaulting to TaxExcluded];
- a missing ``CustomerRef``/``Line``/``Amount``: 2020 Required param missing; a reference to nothing: 2500.
Computation [I: QuickBooks does not publish its algorithm]: lines are grouped by tax code; a discount line
(``PercentBased`` with ``DiscountPercent``, or a fixed ``Amount``) is spread over the groups in proportion
and comes off before tax; tax is rounded half up per tax rate and group. Line amounts are net of tax in
every mode: a user reports that QuickBooks takes line prices as tax-exclusive and that TaxInclusive only
changes how the form shows them (https://github.com/ruckus/quickbooks-ruby/issues/346), so TaxInclusive adds
each line's gross as ``TaxInclusiveAmt`` and otherwise computes like TaxExcluded; NotApplicable has no tax.
A line ``DiscountRate``/``DiscountAmt`` is expected to be already taken off the line ``Amount``.
``SubTotalLineDetail`` lines sent in are replaced by the computed one. ``TxnTaxDetail`` is computed, except that a
``TaxLine`` sent in states the tax of its ``TaxRateRef`` (an override: Intuit's Invoice reference says the tax
detail "can be calculated by QuickBooks business logic or you may supply it"; [I] how far it may differ).
``DueDate`` defaults to TxnDate + the term's DueDays (the invoice's ``SalesTermRef``, else the customer's,
else the company's default term).
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.quickbooks import seed
from devkit.sandboxes.quickbooks.wire import Fault, business, cents, required, validation

if TYPE_CHECKING:
    from devkit.sandboxes.quickbooks.store import Company

TAX_MODES = ("TaxExcluded", "TaxInclusive", "NotApplicable")
NO_VAT_RATE = "Make sure all your transactions have a VAT rate before you save."
ZERO = Decimal(0)
SEVEN_PLACES = Decimal("1e-7")  # QuickBooks keeps Qty and UnitPrice to 7 decimals (README)


def number(value: Any, element: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise validation("2040", "Invalid Number", f"{element} is not a number: {value}", element)
    try:
        return Decimal(value)
    except InvalidOperation:
        raise validation("2040", "Invalid Number", f"{element} is not a number: {value}", element) from None


def places(value: Decimal | None) -> Decimal | None:
    """``Qty`` and ``UnitPrice`` as QuickBooks keeps them: 7 decimals [V], rounded half up [I: or cut]."""
    if value is None:
        return None
    kept = value.quantize(SEVEN_PLACES, rounding=ROUND_HALF_UP)
    return value if kept == value else kept


def _amount_mismatch(supplied: Decimal) -> Fault:
    detail = f"Amount is not equal to UnitPrice * Qty. Supplied value:{supplied:,}"
    return Fault(
        400, "ValidationFault", ("6070", "Amount calculation incorrect in the request.", detail, "Line.Amount")
    )


class SalesForm:
    """Checks and completes one Invoice or CreditMemo body for a company."""

    detail_type, rate_list = "SalesItemLineDetail", "SalesTaxRateList"  # a PurchaseForm's differ

    def __init__(self, company: Company, entity: str, *, require_mode: bool = True, today: date) -> None:
        self.company = company
        self.entity = entity
        self.require_mode = require_mode
        self.today = today

    def prepare(self, body: dict[str, Any], paid: Decimal = ZERO) -> dict[str, Any]:
        row = copy.deepcopy(body)
        row.pop("sparse", None)
        customer = self.company.ref("Customer", row.get("CustomerRef"), "CustomerRef")
        row["CustomerRef"] = {"value": customer["Id"], "name": customer["DisplayName"]}
        mode, lines = self._mode_and_lines(row)
        items, discounts = self._lines(lines, mode)
        self._totals(row, items, discounts, mode, paid)
        self._dates(row, customer)
        return row

    def _mode_and_lines(self, row: dict[str, Any]) -> tuple[str, list[Any]]:
        """The tax mode (checked, defaulted where the company allows), the currency checked, the lines present."""
        mode = row.get("GlobalTaxCalculation")
        if mode is None and self.require_mode:
            raise business(NO_VAT_RATE, "GlobalTaxCalculation")
        mode = mode or "TaxExcluded"
        if mode not in TAX_MODES:
            raise business(f"GlobalTaxCalculation {mode} is not one of {', '.join(TAX_MODES)}", "GlobalTaxCalculation")
        row["GlobalTaxCalculation"] = mode
        self._currency(row)
        lines = row.get("Line")
        if not isinstance(lines, list) or not lines:
            raise required("Line")
        return mode, lines

    def _currency(self, row: dict[str, Any]) -> None:
        code = (row.get("CurrencyRef") or {}).get("value") or self.company.currency
        if code != self.company.currency and not self.company.multicurrency:
            raise business("Multicurrency is not turned on for this company.", "CurrencyRef")
        row["CurrencyRef"] = seed.currency_ref(code)
        if self.company.multicurrency:
            row.setdefault("ExchangeRate", 1)

    # -- lines ---------------------------------------------------------------------------------------------------
    def _lines(self, lines: list[Any], mode: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        items: list[dict[str, Any]] = []
        discounts: list[dict[str, Any]] = []
        for line in lines:
            kind = line.get("DetailType") if isinstance(line, dict) else None
            if kind == "SalesItemLineDetail":
                items.append(self._item_line(line, mode))
            elif kind == "DiscountLineDetail":
                discounts.append(copy.deepcopy(line))
            elif kind == "DescriptionOnly":
                items.append({**line, "Amount": number(line.get("Amount"), "Line.Amount") or ZERO})
            elif kind != "SubTotalLineDetail":
                raise required("Line.DetailType") if kind is None else business(f"Unsupported line type {kind}")
        if not any(line["DetailType"] == "SalesItemLineDetail" for line in items):
            raise required("Line.SalesItemLineDetail")
        for index, line in enumerate(items, start=1):
            line["Id"] = str(index)
            line["LineNum"] = index
        return items, discounts

    def _item_line(self, line: dict[str, Any], mode: str) -> dict[str, Any]:
        line = copy.deepcopy(line)
        detail = line.get("SalesItemLineDetail") or {}
        item = self.company.ref("Item", detail.get("ItemRef"), "Line.SalesItemLineDetail.ItemRef")
        detail["ItemRef"] = {"value": item["Id"], "name": item["Name"]}
        if mode != "NotApplicable" or detail.get("TaxCodeRef"):
            if not (detail.get("TaxCodeRef") or {}).get("value"):
                raise business(NO_VAT_RATE, "Line.SalesItemLineDetail.TaxCodeRef")
            code = self.company.ref("TaxCode", detail["TaxCodeRef"], "Line.SalesItemLineDetail.TaxCodeRef")
            detail["TaxCodeRef"] = {"value": code["Id"]}
        amount = number(line.get("Amount"), "Line.Amount")
        if amount is None:
            raise required("Line.Amount")
        qty = places(number(detail.get("Qty"), "Qty"))
        price = places(number(detail.get("UnitPrice"), "UnitPrice"))
        rate = number(detail.get("DiscountRate"), "DiscountRate")
        off = number(detail.get("DiscountAmt"), "DiscountAmt")
        if qty is not None and price is not None:
            detail["Qty"], detail["UnitPrice"] = qty, price
            gross = qty * price
            expected = cents(gross - (off if off is not None else gross * (rate or ZERO) / 100))
            if expected != cents(amount):
                raise _amount_mismatch(amount)
        elif qty is not None and qty:
            detail["UnitPrice"] = places(amount / qty)
        elif price is not None and price:
            detail["Qty"] = places(amount / price)
        line["Amount"] = cents(amount)
        if mode == "TaxInclusive":
            percent = sum((Decimal(rate["RateValue"]) for rate in self._rates(detail["TaxCodeRef"]["value"])), ZERO)
            detail["TaxInclusiveAmt"] = cents(line["Amount"] * (100 + percent) / 100)
        line["SalesItemLineDetail"] = detail
        return line

    # -- totals --------------------------------------------------------------------------------------------------
    def _totals(
        self, row: dict[str, Any], items: list[dict[str, Any]], discounts: list[dict[str, Any]], mode: str, paid: Any
    ) -> None:
        subtotal = sum((line["Amount"] for line in items if line["DetailType"] == "SalesItemLineDetail"), ZERO)
        discount = ZERO
        for line in discounts:
            detail = line.get("DiscountLineDetail") or {}
            if detail.get("PercentBased"):
                percent = number(detail.get("DiscountPercent"), "DiscountPercent") or ZERO
                line["Amount"] = cents(subtotal * percent / 100)
            else:
                line["Amount"] = cents(number(line.get("Amount"), "Line.Amount") or ZERO)
            discount += line["Amount"]
        if discount > subtotal:
            raise business("The discount is larger than the amount it applies to.", "Line.Amount")
        sub_line: dict[str, Any] = {"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
        row["Line"] = [*items, sub_line, *discounts]
        tax_lines = self._tax(items, subtotal, discount, mode)
        stated = _stated_tax(row)
        for line in tax_lines:
            line["Amount"] = stated.get(line["TaxLineDetail"]["TaxRateRef"]["value"], line["Amount"])
        total_tax = sum((line["Amount"] for line in tax_lines), ZERO)
        row["TxnTaxDetail"] = {"TotalTax": total_tax, "TaxLine": tax_lines}
        total = subtotal - discount + total_tax
        row["TotalAmt"] = total
        if total < paid:
            raise business("The new total is less than what has been paid on this transaction.", "TotalAmt")
        row["Balance"] = total - paid
        row.setdefault("ApplyTaxAfterDiscount", False)
        if self.entity == "CreditMemo":
            row["RemainingCredit"] = row["Balance"]
        for key, value in (("Deposit", 0), ("PrintStatus", "NotSet"), ("EmailStatus", "NotSet")):
            row.setdefault(key, value)
        row.setdefault("LinkedTxn", [])

    def _tax(self, items: list[dict[str, Any]], subtotal: Decimal, discount: Decimal, mode: str) -> list[Any]:
        if mode == "NotApplicable" or not subtotal:
            return []
        groups: dict[str, Decimal] = {}
        for line in items:
            code = (line.get(self.detail_type) or {}).get("TaxCodeRef", {}).get("value")
            if code:
                groups[code] = groups.get(code, ZERO) + line["Amount"]
        tax_lines: list[dict[str, Any]] = []
        left = discount
        for index, (code, net) in enumerate(groups.items()):
            share = left if index == len(groups) - 1 else cents(discount * net / subtotal)
            left -= share
            tax_lines.extend(self._code_tax(code, net - share))
        return tax_lines

    def _rates(self, code: str) -> list[dict[str, Any]]:
        details = self.company.get("TaxCode", code)[self.rate_list]["TaxRateDetail"]
        return [self.company.get("TaxRate", detail["TaxRateRef"]["value"]) for detail in details]

    def _code_tax(self, code: str, base: Decimal) -> list[dict[str, Any]]:
        lines = []
        for rate in self._rates(code):
            percent = Decimal(rate["RateValue"])
            tax = cents(base * percent / 100)
            lines.append(
                {
                    "Amount": tax,
                    "DetailType": "TaxLineDetail",
                    "TaxLineDetail": {
                        "TaxRateRef": {"value": rate["Id"]},
                        "PercentBased": True,
                        "TaxPercent": percent,
                        "NetAmountTaxable": base,
                    },
                }
            )
        return lines

    # -- dates and numbers -----------------------------------------------------------------------------------------
    def _dates(self, row: dict[str, Any], customer: dict[str, Any]) -> None:
        txn_date = _date(row.get("TxnDate"), "TxnDate") or self.today
        row["TxnDate"] = txn_date.isoformat()
        if self.entity != "Invoice":
            return
        term_ref = row.get("SalesTermRef") or customer.get("SalesTermRef")
        if term_ref:
            term = self.company.ref("Term", term_ref, "SalesTermRef")
            row["SalesTermRef"] = {"value": term["Id"], "name": term["Name"]}
        else:
            default = self.company.get("Preferences", "1")["SalesFormsPrefs"].get("DefaultTerms")
            term = self.company.table("Term").get((default or {}).get("value", "")) or {}
        due = _date(row.get("DueDate"), "DueDate")
        if due is None:
            due = txn_date + timedelta(days=int(term.get("DueDays") or 0))
        row["DueDate"] = due.isoformat()
        doc_number = str(row.get("DocNumber") or "")
        if len(doc_number) > 21:
            detail = f"String length specified does not match the supported length. Min:0 Max:21 supplied:{doc_number}"
            raise validation("2050", "Length exceeds limit", detail, "DocNumber")


def _date(value: Any, element: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise validation("2040", "Invalid Date", f"{element} is not a date: {value}", element) from None


def _stated_tax(row: dict[str, Any]) -> dict[str, Decimal]:
    """TaxRate id → the tax the request states for it (its TxnTaxDetail.TaxLine), rounded to the cent."""
    stated: dict[str, Decimal] = {}
    for line in (row.get("TxnTaxDetail") or {}).get("TaxLine") or []:
        ref = ((line.get("TaxLineDetail") or {}).get("TaxRateRef") or {}).get("value")
        amount = number(line.get("Amount"), "TxnTaxDetail.TaxLine.Amount")
        if ref and amount is not None:
            stated[str(ref)] = cents(amount)
    return stated


def void(row: dict[str, Any]) -> None:
    """What QuickBooks keeps of a voided sales form: the lines with zero amounts, a zero total, a note."""
    for line in row.get("Line", []):
        line["Amount"] = ZERO
    for line in row.get("TxnTaxDetail", {}).get("TaxLine", []):
        line["Amount"] = ZERO
    row.setdefault("TxnTaxDetail", {})["TotalTax"] = ZERO
    row["TotalAmt"] = ZERO
    row["Balance"] = ZERO
    if "RemainingCredit" in row:
        row["RemainingCredit"] = ZERO
    row["PrivateNote"] = "Voided"
