"""Pure: a purchase Booking as Billy's supplier contact and bill bodies, and the check of the bill Billy computed.

A bill line names its own expense account and purchase tax rate and carries one amount; Billy computes its tax
[V: ``billLines`` ``accountId``, ``taxRateId``, ``description``, ``amount`` required, ``tax`` read-only]. Koppel
sends amounts excluding VAT and predicts Billy's per-line rounding [I: half up per line]: the booking's lines one
by one when that gives the booking's VAT per rate, else one line per rate, category and account (the rate's
total, whose VAT is the booking's). A line's VAT category picks the tax rate: a charged rate by its percentage
(``purchase_tax_rates``), reverse charge, intra-EU acquisitions and imports by Billy's own purchase rates for them
(``purchase_category_tax_rates``). VAT the invoice does not charge (self-assessed by the buyer) is not the
booking's: whatever tax Billy puts on such a line is its own self-assessment and is left out of the check [I].
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from koppel.connectors.billy.mapping import contact_persons
from koppel.connectors.billy.reconcile import money, sign
from koppel.connectors.billy.settings import VENDOR, BillySettings, rate_key
from koppel.errors import MappingError, PermanentError
from koppel.money import ZERO, cents

if TYPE_CHECKING:
    from koppel.booking import BookedLine, Booking
    from koppel.model import Party, SalesDocument

Key = tuple[str, str]
"""(VAT rate, VAT category): what the booking totals and Billy's lines are compared by."""
SELF_ASSESSED = frozenset({"reverse_charge", "intra_eu", "export"})
TREATMENT_CATEGORY = {
    "domestic": "standard", "oss": "standard", "intra_eu": "intra_eu", "export": "export",
    "reverse_charge": "reverse_charge",
}  # fmt: skip
WORDS = {
    "zero_rated": "zero-rated", "exempt": "VAT-exempt", "outside_scope": "out-of-scope",
    "reverse_charge": "reverse-charged (btw verlegd)", "intra_eu": "intra-EU acquisition",
    "export": "imported (from outside the EU)",
}  # fmt: skip
MAX_TEXT = 250


@dataclass(frozen=True)
class BillLine:
    key: Key
    account_id: str
    tax_rate_id: str
    description: str
    amount: Decimal
    """Excluding VAT, in Billy's sign (positive on a credit note)."""

    @property
    def charged_rate(self) -> Decimal:
        """The rate of VAT the invoice itself charges on this line (0 where the buyer self-assesses it)."""
        return ZERO if self.key[1] in SELF_ASSESSED else Decimal(self.key[0])


@dataclass(frozen=True)
class BillLayout:
    name: str
    lines: tuple[BillLine, ...]


def category(booked: BookedLine | None, given: str | None, doc: SalesDocument) -> str:
    """A line's VAT category: its own, else what the document's treatment says for all of its lines."""
    found = (booked.vat_category if booked is not None else given) or TREATMENT_CATEGORY[doc.vat_treatment]
    return str(found)


def refuse_foreign_vat(booking: Booking, settings: BillySettings) -> None:
    """VAT of another country is not deductible here, and Billy has no purchase tax rate for it."""
    doc = booking.document
    if doc.vat_country is None or doc.vat_country == settings.organization_country:
        return
    rates = ", ".join(f"{rate_key(t.rate)} %" for t in booking.vat_totals if t.vat)
    raise MappingError(
        f"document {doc.number} of {doc.party.name} charges {doc.vat_country} VAT ({rates or '0 %'}), which the "
        f"default mapping cannot place: foreign VAT is not deductible and {VENDOR} has no purchase tax rate for it; "
        f"book it by hand in {VENDOR} as a cost including that VAT"
    )


def tax_rate_id(key: Key, settings: BillySettings) -> str:
    rate, kind = key
    if kind == "standard":
        found = settings.purchase_tax_rates.get(rate)
        where = f"purchase_tax_rates ({rate} → tax rate id)"
        what = f"VAT rate {rate} %, which has no {VENDOR} purchase tax rate"
    else:
        found = settings.purchase_category_tax_rates.get(kind)  # type: ignore[call-overload]
        if not found and kind not in SELF_ASSESSED:
            found = settings.purchase_tax_rates.get("0")
        where = f"purchase_category_tax_rates ({kind} → tax rate id)"
        what = f"{WORDS.get(kind, kind)} purchases, which have no {VENDOR} purchase tax rate"
    if not found:
        raise MappingError(f"{what}: map it in the connection's {where} or book the bill by hand")
    return str(found)


def account_id(booked: BookedLine, settings: BillySettings) -> str:
    found = settings.expense_accounts.get(booked.product_group) or settings.expense_account_id
    if not found:
        raise MappingError(
            f"no {VENDOR} expense account for {booked.description!r}: map expense_account_id (or expense_accounts "
            "by cost group) in the connection's settings"
        )
    return found


# -- layouts ---------------------------------------------------------------------------------------------------------
def expected(booking: Booking) -> dict[Key, tuple[Decimal, Decimal]]:
    """Net and charged VAT per rate and category, in Billy's sign."""
    turn, doc = sign(booking), booking.document
    found: dict[Key, tuple[Decimal, Decimal]] = {}
    for total in booking.vat_totals:
        key = (rate_key(total.rate), category(None, total.category, doc))
        net, vat = found.get(key, (ZERO, ZERO))
        found[key] = (net + turn * total.base, vat + (ZERO if key[1] in SELF_ASSESSED else turn * total.vat))
    return found


def predict(layout: BillLayout) -> dict[Key, tuple[Decimal, Decimal]]:
    found: dict[Key, tuple[Decimal, Decimal]] = {}
    for line in layout.lines:
        net, vat = found.get(line.key, (ZERO, ZERO))
        found[line.key] = (net + line.amount, vat + cents(line.amount * line.charged_rate / 100))
    return found


def layouts(booking: Booking, settings: BillySettings) -> list[BillLayout]:
    turn, doc = sign(booking), booking.document
    per_line = []
    for booked in booking.lines:
        key = (rate_key(booked.vat_rate), category(booked, None, doc))
        text = (booked.description.strip() or f"{doc.party.name} {doc.number}")[:MAX_TEXT]
        per_line.append(
            BillLine(key, account_id(booked, settings), tax_rate_id(key, settings), text, turn * booked.net)
        )
    merged: dict[tuple[Key, str, str], BillLine] = {}
    for line in per_line:
        group = (line.key, line.account_id, line.tax_rate_id)
        held = merged.get(group)
        merged[group] = line if held is None else replace(
            held, amount=held.amount + line.amount, description=f"{held.description}, {line.description}"[:MAX_TEXT]
        )  # fmt: skip
    return [BillLayout("lines", tuple(per_line)), BillLayout("one line per rate", tuple(merged.values()))]


def choose_layout(booking: Booking, settings: BillySettings) -> BillLayout:
    goal = expected(booking)
    for layout in layouts(booking, settings):
        if predict(layout) == goal:
            return layout
    shown = ", ".join(f"{rate} % {kind}: net {net}, VAT {vat}" for (rate, kind), (net, vat) in sorted(goal.items()))
    raise PermanentError(
        f"{VENDOR} computes a bill's VAT per line, and no way of writing document {booking.document.number} makes "
        f"it come out as the booking's ({shown}): book it by hand in {VENDOR}"
    )


# -- bodies ----------------------------------------------------------------------------------------------------------
def bill_body(
    booking: Booking, layout: BillLayout, contact_id: str, settings: BillySettings, credited_bill_id: str | None
) -> dict[str, Any]:
    doc = booking.document
    due = doc.due_date or doc.issue_date + timedelta(days=settings.payment_terms_days)
    body: dict[str, Any] = {
        "type": "creditNote" if doc.doc_type == "credit_note" else "bill",
        "contactId": contact_id,
        "entryDate": doc.issue_date.isoformat(),
        "dueDate": due.isoformat(),
        "suppliersInvoiceNo": doc.number,
        "currencyId": doc.currency,
        "taxMode": "excl",
        "state": "draft",
        "lines": [
            {"accountId": line.account_id, "taxRateId": line.tax_rate_id, "description": line.description,
             "amount": line.amount, "priority": priority}
            for priority, line in enumerate(layout.lines, start=1)
        ],
    }  # fmt: skip
    if credited_bill_id:
        body["creditedBillId"] = credited_bill_id
    return body


def supplier_body(party: Party, settings: BillySettings) -> dict[str, Any]:
    """A new supplier: Billy keeps one registration number (the VAT number, else the KvK number) and has no field
    for a bank account [V by absence: contacts]; the e-mail goes on a primary contact person."""
    address = party.billing_address
    body: dict[str, Any] = {
        "type": "company" if party.is_business or party.vat_number or party.coc_number else "person",
        "name": party.name.strip(),
        "countryId": address.country_code or settings.organization_country,
        "isSupplier": True,
        "isCustomer": False,
    }
    optional = {
        "street": address.street, "zipcodeText": address.postcode, "cityText": address.city,
        "phone": party.phone or party.mobile, "registrationNo": registration(party.vat_number or party.coc_number),
    }  # fmt: skip
    body |= {key: value for key, value in optional.items() if value}
    return body | contact_persons(party)


def registration(text: str) -> str:
    return "".join(text.split()).upper()


# -- the check of Billy's answer -------------------------------------------------------------------------------------
def differences(booking: Booking, layout: BillLayout, bill: dict[str, Any], lines: list[dict[str, Any]]) -> list[str]:
    """What Billy holds against the booking, in words; [] when they agree to the cent."""
    found: list[str] = []
    if len(lines) != len(layout.lines):
        found.append(f"{len(lines)} lines where {len(layout.lines)} were sent")
    held: dict[Key, tuple[Decimal, Decimal]] = {}
    self_assessed = ZERO
    ordered = sorted(lines, key=lambda line: int(line.get("priority") or 0))
    for sent, line in zip(layout.lines, ordered, strict=False):
        net, vat = held.get(sent.key, (ZERO, ZERO))
        tax = money(line.get("tax"))
        if sent.key[1] in SELF_ASSESSED:
            self_assessed, tax = self_assessed + tax, ZERO
        held[sent.key] = (net + money(line.get("amount")), vat + tax)
    goal = expected(booking)
    for key in sorted(set(goal) | set(held)):
        want, got = goal.get(key, (ZERO, ZERO)), held.get(key, (ZERO, ZERO))
        for what, wanted, holds in (("net", want[0], got[0]), ("VAT", want[1], got[1])):
            if wanted != holds:
                found.append(f"{what} at {key[0]} % ({key[1]}) is {holds} where the booking says {wanted}")
    turn = sign(booking)
    charged_vat = sum((vat for _, vat in goal.values()), ZERO)
    for name, wanted, holds in (
        ("amount", turn * booking.net_total, money(bill.get("amount"))),
        ("tax", charged_vat, money(bill.get("tax")) - self_assessed),
    ):
        if holds != wanted:
            found.append(f"{name} is {holds} where the booking says {wanted} ({holds - wanted:+})")
    return found
