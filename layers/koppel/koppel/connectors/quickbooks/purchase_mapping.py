"""Pure translations of the purchase side (names as in Intuit's XSD): a purchase Booking becomes a Bill or a
VendorCredit, a supplier a Vendor. No HTTP here; ``purchase`` does the calls. README.md has the API facts.

- Lines are net, on an ``AccountBasedExpenseLineDetail`` (the cost account and the purchase tax code), with
  ``GlobalTaxCalculation: TaxExcluded``; QuickBooks taxes them on the codes' ``PurchaseTaxRateList``. Where its own
  tax would differ from the Booking's, ``TxnTaxDetail`` states the Booking's (as for sales, mapping.tax_override).
- A line's tax code follows its VAT category: domestic VAT by rate (``purchase_tax_codes``), everything else by
  category (``purchase_category_tax_codes``): reverse charge, intra-EU acquisition and import go to the company's
  own self-assessing codes, never to a plain 0 % code.
- Another country's VAT (``document.vat_country``) is not deductible: refused, unless ``foreign_vat_account_id``
  names the cost account it is booked on (then the lines carry the company's out-of-scope code and the VAT is a
  line of its own).
- A credit note (negative) is a VendorCredit with its amounts turned positive; it has no due date.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from koppel.connectors.quickbooks.mapping import MAX_DESCRIPTION, doc_number, tax_override
from koppel.connectors.quickbooks.settings import MAX_DISPLAY_NAME, VENDOR, QuickbooksSettings
from koppel.errors import MappingError
from koppel.money import ZERO

if TYPE_CHECKING:
    from decimal import Decimal

    from koppel.booking import Booking
    from koppel.model import Party, SalesDocument, VatCategory

EXPENSE_LINE = "AccountBasedExpenseLineDetail"
_BY_TREATMENT: dict[str, VatCategory] = {"intra_eu": "intra_eu", "export": "export", "reverse_charge": "reverse_charge"}
_CATEGORY_WORDS = {
    "reverse_charge": "reverse-charged (btw verlegd)",
    "intra_eu": "intra-EU acquisition",
    "export": "bought from outside the EU",
    "exempt": "exempt",
    "outside_scope": "outside the scope of VAT",
    "zero_rated": "zero-rated",
}
NOTE_KEYS = {"vat": "VAT number", "coc": "KvK", "iban": "IBAN"}
"""How a supplier's numbers are written in the Vendor's Notes, where Koppel finds them again (README.md)."""


def purchase_entity(booking: Booking) -> str:
    doc = booking.document
    return "VendorCredit" if doc.doc_type == "credit_note" or booking.total < 0 else "Bill"


def check_foreign_vat(booking: Booking, settings: QuickbooksSettings) -> None:
    doc = booking.document
    if doc.vat_country is None or settings.foreign_vat_account_id:
        return
    rates = ", ".join(f"{format(t.rate.normalize(), 'f')} %" for t in booking.vat_totals if t.vat) or "0 %"
    raise MappingError(
        f"document {doc.number} of {doc.party.name} charges {doc.vat_country} VAT ({rates}), which the default "
        f"mapping cannot place: map a ledger for foreign VAT (the setting foreign_vat_account_id, a {VENDOR} "
        "expense account) or book it by hand"
    )


def purchase_tax_code(rate: Decimal, category: VatCategory | None, doc: SalesDocument, s: QuickbooksSettings) -> str:
    """The purchase tax code of a line (or VAT total) by its category, else the document's treatment, else rate."""
    if doc.vat_country is not None:
        category = "outside_scope"
    if category is None:
        if doc.vat_treatment == "oss":
            raise MappingError(
                f"document {doc.number} is a purchase under OSS, which is a seller's scheme: book it by hand"
            )
        category = _BY_TREATMENT.get(doc.vat_treatment)
    if category in (None, "standard"):
        code = s.purchase_tax_code(rate)
        what, setting = f"VAT rate {format(rate.normalize(), 'f')} %", "purchase_tax_codes"
    else:
        code = s.purchase_category_tax_codes.get(category)  # type: ignore[arg-type]
        if category in ("zero_rated", "outside_scope") and not code:
            code = s.purchase_tax_code(rate) if rate == 0 else None
        what, setting = f"a line {_CATEGORY_WORDS[category]}", "purchase_category_tax_codes"
    if not code:
        raise MappingError(
            f"document {doc.number} of {doc.party.name} has {what}, which has no {VENDOR} purchase tax code: map it "
            f"in the setting {setting}, or correct the document in the source"
        )
    return code


def _account(group: str, s: QuickbooksSettings) -> str:
    found = s.cost_group_accounts.get(group) or s.expense_account_id
    if not found:
        raise MappingError(f"no {VENDOR} expense account to book purchases on: set expense_account_id (its id)")
    return found


def _expense_line(amount: Decimal, text: str, account: str, code: str) -> dict[str, Any]:
    detail = {"AccountRef": {"value": account}, "TaxCodeRef": {"value": code}}
    return {"DetailType": EXPENSE_LINE, "Amount": amount, "Description": text[:MAX_DESCRIPTION], EXPENSE_LINE: detail}


def purchase_form(booking: Booking, vendor_id: str, settings: QuickbooksSettings) -> dict[str, Any]:
    """The Bill or VendorCredit body for a balanced purchase Booking."""
    check_foreign_vat(booking, settings)
    doc = booking.document
    sign = -1 if booking.total < 0 else 1
    lines: list[dict[str, Any]] = []
    bases: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in booking.lines:
        code = purchase_tax_code(line.vat_rate, line.vat_category, doc, settings)
        bases[code] += line.net * sign
        lines.append(_expense_line(line.net * sign, line.description, _account(line.product_group, settings), code))
    if doc.vat_country is not None:  # another country's VAT: a cost of its own, on the mapped account
        code = purchase_tax_code(ZERO, None, doc, settings)
        for total in (t for t in booking.vat_totals if t.vat):
            text = f"{doc.vat_country} VAT {format(total.rate.normalize(), 'f')} % (not deductible)"
            lines.append(_expense_line(total.vat * sign, text, settings.foreign_vat_account_id, code))
    body: dict[str, Any] = {
        "VendorRef": {"value": vendor_id},
        "DocNumber": doc_number(doc.number),
        "TxnDate": doc.issue_date.isoformat(),
        "CurrencyRef": {"value": doc.currency},
        "GlobalTaxCalculation": "TaxExcluded",
        "Line": lines,
        "PrivateNote": f"Booked by Koppel from {doc.party.name}'s {doc.number}"[:4000],
    }
    if doc.due_days is not None and purchase_entity(booking) == "Bill":
        body["DueDate"] = (doc.issue_date + timedelta(days=doc.due_days)).isoformat()
    if doc.vat_country is None:
        override = tax_override(
            booking, bases, sign, lambda t: purchase_tax_code(t.rate, t.category, doc, settings),
            settings.purchase_tax_code_rates,
        )  # fmt: skip
        if override:
            body["TxnTaxDetail"] = override
    return body


def vendor_body(party: Party, display_name: str | None = None) -> dict[str, Any]:
    """A Vendor: DisplayName (unique across customers, vendors and employees), company, e-mail, address, and the
    supplier's numbers in Notes, where a look-up reads them (TaxIdentifier is read back masked, README.md)."""
    address = party.billing_address
    bill = {"Line1": address.street, "City": address.city, "PostalCode": address.postcode,
            "Country": address.country_code or "", "CountryCode": address.country_code or ""}  # fmt: skip
    numbers = {"vat": party.vat_number, "coc": party.coc_number, "iban": party.iban}
    notes = "\n".join(f"{NOTE_KEYS[key]}: {value.strip()}" for key, value in numbers.items() if value.strip())
    body: dict[str, Any] = {
        "DisplayName": (display_name or party.name).strip()[:MAX_DISPLAY_NAME],
        "CompanyName": party.name[:100] if party.is_business else "",
        "PrimaryEmailAddr": {"Address": party.email[:100]} if party.email else None,
        "BillAddr": {k: v for k, v in bill.items() if v} or None,
        "PrimaryPhone": {"FreeFormNumber": party.phone[:30]} if party.phone else None,
        "TaxIdentifier": party.vat_number.strip()[:20],
        "Notes": notes,
    }
    return {key: value for key, value in body.items() if value not in ("", None)}


def plain(number: str) -> str:
    """A VAT or registration number as compared: letters and digits only, upper case."""
    return re.sub(r"[^0-9A-Z]", "", number.upper())


def vendor_numbers(vendor: dict[str, Any]) -> dict[str, str]:
    """The VAT and KvK numbers a Vendor holds: from its Notes, and its TaxIdentifier where it is not masked."""
    found: dict[str, str] = {}
    for key, label in NOTE_KEYS.items():
        match = re.search(rf"(?im)^{re.escape(label)}\s*:\s*(.+)$", str(vendor.get("Notes") or ""))
        if match:
            found[key] = plain(match.group(1))
    tax_id = str(vendor.get("TaxIdentifier") or "")
    if tax_id and not tax_id.upper().startswith("XX") and "vat" not in found:  # masked: XXXXXXXXXX7B01
        found["vat"] = plain(tax_id)
    return found
