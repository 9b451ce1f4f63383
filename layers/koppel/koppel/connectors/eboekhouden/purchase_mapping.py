"""Pure translation of a supplier's invoice into e-Boekhouden.nl's "invoice received" mutation (type 1): the
creditors ledger (1600) on the header against one row per booked line on its costs ledger with its purchase VAT
code. No HTTP here; ``purchase`` does the calls. README.md in this folder has the API facts.

- A standard-rated line takes the code of its rate (HOOG_INK_21, LAAG_INK_9, GEEN at 0 %); a reverse-charged
  (VERL_INK), intra-EU (BI_EU_INK) or import (BU_EU_INK) line the code e-Boekhouden self-assesses the VAT with;
  exempt, zero-rated and out-of-scope lines GEEN. Each is a setting (``purchase_vat_codes``).
- VAT another country charged is not deductible here: it is refused unless ``foreign_vat_ledger`` says where that
  cost goes, and then booked there without a VAT code.
- A credit note is the same mutation with negative amounts.
- A receipt paid when it was handed over is paid with an "invoice payment sent" mutation (type 4) per payment,
  from the money ledger of its method, for what is still open of it (``payments_due``).
- The invoice number is the supplier's own. e-Boekhouden wants one that ends with a digit and refuses one it
  holds already (MUT_019), which may mean any supplier's invoice; so when the supplier's number cannot be used as
  it is, it is booked as ``<number>/<relation id>``: still the supplier's number to a person, and unique.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from koppel.connectors.eboekhouden.mapping import (
    Header,
    invoice_body,
    ledger_id,
    money_ledger,
    own_basis,
    percent,
    settlement_body,
    vat_by_rate,
)
from koppel.connectors.eboekhouden.settings import (
    INVOICE_RECEIVED,
    MAX_INVOICE_NUMBER,
    MAX_TEXT,
    PAYMENT_SENT,
    PURCHASE_VAT_RATES,
    VENDOR,
    EboekhoudenSettings,
)
from koppel.connectors.eboekhouden.vat_basis import check_balance, exact_rows
from koppel.connectors.kit import describe
from koppel.errors import MappingError
from koppel.money import ZERO

if TYPE_CHECKING:
    from collections.abc import Sequence

    from koppel.booking import BookedLine, Booking
    from koppel.model import Payment, SalesDocument, VatCategory

HOME_COUNTRY = "NL"
_CATEGORY_BY_TREATMENT: dict[str, VatCategory] = {
    "intra_eu": "intra_eu",
    "export": "export",
    "reverse_charge": "reverse_charge",
}


def purchase_numbers(number: str, relation_id: int) -> list[str]:
    """The invoice numbers a supplier's invoice may be booked under, in the order they are tried: its own number
    when e-Boekhouden can take it as it is, then the number keyed to the supplier."""
    own = number.strip()
    if not own:
        raise MappingError(f"the supplier's invoice has no number, so it cannot be booked in {VENDOR}")
    suffix = f"/{relation_id}"
    keyed = own[-(MAX_INVOICE_NUMBER - len(suffix)) :] + suffix
    usable = own[-1].isdigit() and len(own) <= MAX_INVOICE_NUMBER
    return [own, keyed] if usable else [keyed]


def purchase_mutation(booking: Booking, relation_id: int, number: str, settings: EboekhoudenSettings) -> dict[str, Any]:
    """The POST /v1/mutation body (type 1, invoice received) for a balanced Booking of a purchase."""
    doc = booking.document
    _check_purchase(doc)
    foreign = _foreign_vat(doc, settings)
    rows = [_row(line, doc, settings, foreign=foreign is not None) for line in booking.lines]
    if foreign is not None:
        rows += [_foreign_vat_row(doc, rate, vat, foreign) for rate, vat in vat_by_rate(booking).items() if vat]
    deductible = {} if foreign is not None else vat_by_rate(booking)
    basis, wire_rows = exact_rows(rows, own_basis(doc), booking.total, deductible, PURCHASE_VAT_RATES)
    header = Header(INVOICE_RECEIVED, ledger_id(settings.creditors, settings), relation_id, number)
    text = describe(settings.purchase_description_template, doc)
    body = invoice_body(header, doc, text, basis, wire_rows, settings)
    check_balance(body, booking, PURCHASE_VAT_RATES)
    return body


def payment_sent_mutation(
    doc: SalesDocument, payment: Payment, amount: Decimal, relation_id: int, number: str, settings: EboekhoudenSettings
) -> dict[str, Any]:
    """The POST /v1/mutation body (type 4, invoice payment sent) paying ``amount`` of the invoice received booked
    under ``number`` for the relation, from the money ledger of the payment's method."""
    ledgers = {**settings.payment_ledgers, **settings.purchase_payment_ledgers}
    money = money_ledger(payment, f"the supplier's receipt {doc.number}", ledgers, "purchase_payment_ledgers")
    header = Header(PAYMENT_SENT, ledger_id(money, settings), relation_id, number)
    return settlement_body(header, payment, amount, ledger_id(settings.creditors, settings))


def payments_due(payments: Sequence[Payment], paid: Decimal, still_open: Decimal) -> list[tuple[Payment, Decimal]]:
    """The part of each payment that is not in the books yet, in order. The first ``paid`` of the document's
    payments is booked already (by Koppel before a crash, or by hand), and never more than ``still_open`` is paid:
    a repeat books nothing twice. Worked in the direction of the document (a credit note's are negative); a payment
    the other way within it (change handed back) is not booked on its own, the others then pay what is open."""
    sign = -1 if still_open + paid < 0 else 1
    paid, still_open = sign * paid, sign * still_open
    due = []
    for payment in payments:
        covered = max(ZERO, min(paid, sign * payment.amount))
        paid -= covered
        part = min(sign * payment.amount - covered, still_open)
        if part > 0:
            due.append((payment, sign * part))
            still_open -= part
    return due


def purchase_vat_code(line: BookedLine, doc: SalesDocument, settings: EboekhoudenSettings) -> str:
    """The purchase VAT code of a line, by its VAT category, and a standard-rated line's by its rate."""
    category = line.vat_category or _CATEGORY_BY_TREATMENT.get(doc.vat_treatment, "standard")
    if category == "standard":
        code = settings.purchase_vat_codes.get(percent(line.vat_rate))
        if code is None or PURCHASE_VAT_RATES.get(code, Decimal(0)) != line.vat_rate:
            raise MappingError(
                f"the supplier's invoice {doc.number} has a line at {percent(line.vat_rate)} % VAT, which {VENDOR} "
                "books only at 21 %, 9 % or 0 %: book it by hand, or set purchase_vat_codes for that rate"
            )
        return code
    if line.vat != 0:
        raise MappingError(
            f"the supplier's invoice {doc.number} charges {line.vat} VAT on a {category.replace('_', ' ')} line, "
            "which carries none: ask the supplier for a corrected invoice, or book it by hand"
        )
    code = settings.purchase_vat_codes.get(category)
    if code is None:
        raise MappingError(
            f"no purchase VAT code is set for {category.replace('_', ' ')} lines (the supplier's invoice "
            f'{doc.number}): add one to the {VENDOR} setting purchase_vat_codes, e.g. {{"{category}": "GEEN"}}'
        )
    return code


def purchase_ledger_code(line: BookedLine, settings: EboekhoudenSettings) -> str:
    return settings.purchase_group_ledgers.get(line.product_group, settings.purchase_ledger)


def _row(line: BookedLine, doc: SalesDocument, settings: EboekhoudenSettings, *, foreign: bool) -> dict[str, Any]:
    # Foreign VAT is not deductible: the line books its net without a code, its VAT goes on a row of its own.
    code = "GEEN" if foreign else purchase_vat_code(line, doc, settings)
    gross = line.net if foreign else line.net + line.vat
    return {
        "ledgerId": ledger_id(purchase_ledger_code(line, settings), settings),
        "vatCode": code,
        "net": line.net,
        "gross": gross,
        "description": line.description[:MAX_TEXT],
    }


def _foreign_vat(doc: SalesDocument, settings: EboekhoudenSettings) -> int | None:
    """The ledger id foreign VAT is booked on; None for a document that charges Dutch VAT."""
    if doc.vat_country is None or doc.vat_country == HOME_COUNTRY:
        return None
    rates = ", ".join(sorted({f"{percent(line.vat_rate)} %" for line in doc.lines if line.vat_rate}))
    if settings.foreign_vat_ledger is None:
        raise MappingError(
            f"document {doc.number} charges {doc.vat_country} VAT ({rates}), which the default mapping cannot place: "
            f"map a ledger for foreign VAT (the {VENDOR} setting foreign_vat_ledger) or book it by hand"
        )
    return ledger_id(settings.foreign_vat_ledger, settings)


def _foreign_vat_row(doc: SalesDocument, rate: Decimal, vat: Decimal, ledger: int) -> dict[str, Any]:
    text = f"{doc.vat_country} btw {percent(rate)} % {doc.number}"[:MAX_TEXT]
    return {"ledgerId": ledger, "vatCode": "GEEN", "net": vat, "gross": vat, "description": text}


def _check_purchase(doc: SalesDocument) -> None:
    if doc.direction != "purchase":
        raise MappingError(f"document {doc.number} is a sale: it is booked as an invoice sent, not received")
    if doc.currency != "EUR":
        raise MappingError(f"the supplier's invoice {doc.number} is in {doc.currency}: {VENDOR} books euros only")
    if doc.vat_treatment == "oss":
        raise MappingError(
            f"the supplier's invoice {doc.number} is marked as an EU distance sale (OSS), which a purchase cannot "
            "be: correct its VAT in the source, or book it by hand"
        )
