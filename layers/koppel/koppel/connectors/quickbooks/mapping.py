"""Pure translations between Koppel and QuickBooks Online's JSON (names as in Intuit's XSD): a Booking becomes an
Invoice or a CreditMemo, a Party a Customer. No HTTP here; ``target`` does the calls.

- Lines are net (``GlobalTaxCalculation: TaxExcluded``): the Booking holds nets, and QuickBooks takes line amounts
  as nets in every mode (README.md). Every line has ``Amount = Qty × UnitPrice`` exactly (QuickBooks refuses
  anything else with 6070): the source's quantity when a UnitPrice of at most 7 decimals (QuickBooks' precision)
  gives the net exactly, else Qty 1 at the net, the description naming the source's quantity.
- Every line carries a ``TaxCodeRef`` (a UK company refuses a line without one with 6000), by the line's VAT rate,
  or by the document's VAT treatment for a sale abroad.
- Discounts are taken off the lines of their rate (per-line net after discount), and named on a description line.
  Not a ``DiscountLineDetail``: QuickBooks spreads that over the tax codes by its own, unpublished rule, so the base
  per code (and with it the VAT) could move a cent away from the source's own split; per-line nets make each code's
  base exactly the Booking's.
- QuickBooks computes tax per code on its base, rounded half up. Where the source's VAT differs (a price incl. VAT,
  a source that rounds per line) ``TxnTaxDetail`` states the source's VAT per rate, so ``TotalAmt`` is the source's
  total to the cent; where it cannot be stated (a code of several rates) the document is refused with the difference.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from koppel.connectors.quickbooks.settings import MAX_DISPLAY_NAME, MAX_DOC_NUMBER, VENDOR, QuickbooksSettings
from koppel.errors import MappingError, UnbalancedDocumentError
from koppel.money import ZERO, allocate, cents

if TYPE_CHECKING:
    from collections.abc import Callable

    from koppel.booking import BookedLine, Booking, VatTotal
    from koppel.model import Party, SalesDocument

HUNDRED = Decimal(100)
PRICE_PLACES = Decimal("1e-7")  # QuickBooks keeps Qty and UnitPrice to 7 decimals (README.md, Amounts)
MAX_DESCRIPTION = 4000


def entity_of(booking: Booking) -> str:
    """A credit note (or any document whose total is negative) is a CreditMemo, with its amounts turned positive."""
    doc = booking.document
    return "CreditMemo" if doc.doc_type == "credit_note" or booking.total < 0 else "Invoice"


def doc_number(number: str) -> str:
    """The source's number as QuickBooks' DocNumber; when longer than 21, the end is kept (it tells numbers apart)."""
    text = number.strip()
    if not text:
        raise MappingError(f"the document has no number, so {VENDOR} cannot be given a DocNumber")
    return text[-MAX_DOC_NUMBER:]


def quote(value: str) -> str:
    """A string literal of QuickBooks' query language (a quote is escaped with a backslash)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def tax_code_id(rate: Decimal, doc: SalesDocument, settings: QuickbooksSettings) -> str:
    if doc.vat_treatment != "domestic":
        code = settings.treatment_tax_codes.get(doc.vat_treatment)
        if code:
            return code
        if doc.vat_treatment in ("intra_eu", "reverse_charge"):
            raise MappingError(
                f"document {doc.number} is a {doc.vat_treatment.replace('_', '-')} sale, which needs its own "
                f"{VENDOR} tax code: map it in the setting treatment_tax_codes (e.g. the code '0.0% ECG')"
            )
    code = settings.tax_code(rate)
    if code is None:
        known = ", ".join(f"{r} %" for r in sorted(settings.tax_codes, key=Decimal)) or "none yet"
        raise MappingError(
            f"document {doc.number} has VAT rate {format(rate.normalize(), 'f')} %, which has no {VENDOR} tax code "
            f"(mapped: {known}): map it in the setting tax_codes, or correct the rate in the source"
        )
    return code


def item_id(line: BookedLine, settings: QuickbooksSettings) -> str:
    found = settings.product_group_items.get(line.product_group) or settings.item_id
    if not found:
        raise MappingError(f"no {VENDOR} Item to book lines on: set item_id (an Item of the company, by its id)")
    return found


def qty_and_price(net: Decimal, quantity: Decimal) -> tuple[Decimal, Decimal]:
    """(Qty, UnitPrice) whose product is ``net`` exactly: the source's quantity when a UnitPrice of at most
    ``PRICE_PLACES`` decimals gives it (in cents when it can be), else Qty 1 at the net (README.md, Amounts)."""
    if quantity > 0 and quantity == quantity.quantize(PRICE_PLACES):
        unit = (net / quantity).quantize(PRICE_PLACES, rounding=ROUND_HALF_UP)
        if unit * quantity == net:
            shown = cents(unit) if unit == cents(unit) else unit.normalize()
            return quantity.normalize() if quantity == quantity.to_integral() else quantity, shown
    return Decimal(1), net


def line_text(description: str, quantity: Decimal, qty: Decimal) -> str:
    """The line's description (at most 4000 characters), naming the source's quantity where Qty 1 stands for it."""
    if qty == quantity:
        return description[:MAX_DESCRIPTION]
    suffix = f" (quantity {format(quantity.normalize(), 'f')})"
    return description[: MAX_DESCRIPTION - len(suffix)] + suffix


def folded_lines(booking: Booking, sign: int) -> tuple[list[tuple[BookedLine, Decimal]], list[str]]:
    """Each line with its net (× ``sign``) after the discounts of its rate; the discounts' texts."""
    nets = [line.net * sign for line in booking.lines]
    notes: list[str] = []
    for i, line in enumerate(booking.lines):
        if line.kind != "discount":
            continue
        goods = [
            j for j, other in enumerate(booking.lines) if other.kind == "goods" and other.vat_rate == line.vat_rate
        ]
        weights = [nets[j] for j in goods]
        if not goods or sum(weights, ZERO) == 0:
            continue  # nothing at its rate to take it off: it stays a line of its own
        for j, part in zip(goods, allocate(nets[i], weights), strict=True):
            nets[j] += part
        notes.append(f"{line.description}: {cents(-nets[i])} at {format(line.vat_rate.normalize(), 'f')} %")
        nets[i] = ZERO
    kept = [(line, nets[i]) for i, line in enumerate(booking.lines) if line.kind != "discount" or nets[i] != 0]
    return kept, notes


def sales_form(
    booking: Booking, customer_id: str, settings: QuickbooksSettings, *, customer_has_terms: bool = False
) -> dict[str, Any]:
    """The Invoice or CreditMemo body for a balanced Booking."""
    doc = booking.document
    _check_currency(doc, settings)
    sign = -1 if booking.total < 0 else 1
    lines, notes = folded_lines(booking, sign)
    body_lines: list[dict[str, Any]] = []
    bases: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line, net in lines:
        code = tax_code_id(line.vat_rate, doc, settings)
        bases[code] += net
        qty, price = qty_and_price(net, line.quantity)
        detail = {
            "ItemRef": {"value": item_id(line, settings)},
            "Qty": qty,
            "UnitPrice": price,
            "TaxCodeRef": {"value": code},
        }
        text = line_text(line.description, line.quantity, qty)
        body_lines.append(
            {"DetailType": "SalesItemLineDetail", "Amount": net, "Description": text, "SalesItemLineDetail": detail}
        )
    if notes:
        body_lines.append(
            {"DetailType": "DescriptionOnly", "Description": "; ".join(notes)[:4000], "DescriptionLineDetail": {}}
        )
    body: dict[str, Any] = {
        "CustomerRef": {"value": customer_id},
        "DocNumber": doc_number(doc.number),
        "TxnDate": doc.issue_date.isoformat(),
        "CurrencyRef": {"value": doc.currency},
        "GlobalTaxCalculation": "TaxExcluded",
        "Line": body_lines,
        "PrivateNote": f"Booked by Koppel from {doc.number}"[:4000],
    }
    due = due_date(doc, settings, customer_has_terms=customer_has_terms)
    if due and entity_of(booking) == "Invoice":
        body["DueDate"] = due
    if doc.party.email:
        body["BillEmail"] = {"Address": doc.party.email[:100]}
    memo = doc.description or doc.reference
    if memo:
        body["CustomerMemo"] = {"value": memo[:1000]}
    override = tax_override(
        booking, bases, sign, lambda total: tax_code_id(total.rate, doc, settings), settings.tax_code_rates
    )
    if override:
        body["TxnTaxDetail"] = override
    return body


def due_date(doc: SalesDocument, settings: QuickbooksSettings, *, customer_has_terms: bool) -> str | None:
    """The document's own term, else none (QuickBooks applies the customer's terms), else ``due_days``."""
    if doc.due_days is not None:
        return (doc.issue_date + timedelta(days=doc.due_days)).isoformat()
    if customer_has_terms:
        return None
    return (doc.issue_date + timedelta(days=settings.due_days)).isoformat()


def _check_currency(doc: SalesDocument, settings: QuickbooksSettings) -> None:
    home = settings.home_currency
    if home and doc.currency != home and not settings.multicurrency:
        raise MappingError(
            f"document {doc.number} is in {doc.currency} but the {VENDOR} company keeps its books in {home} and has "
            "multicurrency off: turn multicurrency on in QuickBooks (Account and settings > Advanced), then replay"
        )


def predicted_tax(
    bases: dict[str, Decimal], rates: dict[str, Decimal], code_rates: dict[str, dict[str, str]]
) -> dict[str, list[tuple[str, Decimal, Decimal]]]:
    """QuickBooks' own tax per code: ``(rate id, percent, tax)`` per rate of the code, on the code's base. A code
    whose rates were not read yet is taken at the line's rate (its rate id unknown: "")."""
    found: dict[str, list[tuple[str, Decimal, Decimal]]] = {}
    for code, base in bases.items():
        known = code_rates.get(code) or {"": str(rates.get(code, ZERO))}
        found[code] = [(rid, Decimal(pct), cents(base * Decimal(pct) / HUNDRED)) for rid, pct in known.items()]
    return found


def tax_override(
    booking: Booking,
    bases: dict[str, Decimal],
    sign: int,
    code_of: Callable[[VatTotal], str],
    code_rates: dict[str, dict[str, str]],
) -> dict[str, Any] | None:
    """``TxnTaxDetail`` stating the Booking's VAT per rate, or None when QuickBooks computes the same itself.
    ``code_of`` names the tax code of a VAT total, ``code_rates`` the rates of each code (sales or purchase side)."""
    wanted: dict[str, Decimal] = defaultdict(lambda: ZERO)
    rates: dict[str, Decimal] = {}
    for total in booking.vat_totals:
        code = code_of(total)
        wanted[code] += total.vat * sign
        rates[code] = total.rate
    predicted = predicted_tax(bases, rates, code_rates)
    if all(sum((t for _, _, t in predicted[code]), ZERO) == wanted[code] for code in bases):
        return None
    tax_lines = []
    for code, base in bases.items():
        own_rates = predicted[code]
        own = sum((t for _, _, t in own_rates), ZERO)
        if own == wanted[code] and all(rid for rid, _, _ in own_rates):
            tax_lines += [_tax_line(rid, percent, tax, base) for rid, percent, tax in own_rates]
            continue
        if len(own_rates) != 1 or not own_rates[0][0]:
            raise UnbalancedDocumentError(
                f"document {booking.document.number}: {VENDOR} computes {own} VAT on tax code {code} where the "
                f"source says {wanted[code]}, and the code's rates are not known to be one: read the tax codes "
                "again (target sync) or book it by hand",
                difference=own - wanted[code],
            )
        tax_lines.append(_tax_line(own_rates[0][0], own_rates[0][1], wanted[code], base))
    return {"TotalTax": sum((line["Amount"] for line in tax_lines), ZERO), "TaxLine": tax_lines}


def _tax_line(rate_id: str, percent: Decimal, amount: Decimal, base: Decimal) -> dict[str, Any]:
    detail = {
        "TaxRateRef": {"value": rate_id},
        "PercentBased": True,
        "TaxPercent": percent.normalize(),
        "NetAmountTaxable": base,
    }
    return {"Amount": amount, "DetailType": "TaxLineDetail", "TaxLineDetail": detail}


def expected_total(booking: Booking) -> Decimal:
    return abs(booking.total)


def customer_body(party: Party, display_name: str | None = None) -> dict[str, Any]:
    """A Customer: DisplayName (unique across customers, vendors and employees), names, e-mail, address, phone."""
    address = party.billing_address
    bill = {"Line1": address.street, "City": address.city, "PostalCode": address.postcode,
            "Country": address.country_code or "", "CountryCode": address.country_code or ""}  # fmt: skip
    given, family = _names(party)
    body: dict[str, Any] = {
        "DisplayName": (display_name or party.name).strip()[:MAX_DISPLAY_NAME],
        "CompanyName": party.name[:100] if party.is_business else "",
        "GivenName": given[:100],
        "FamilyName": family[:100],
        "PrimaryEmailAddr": {"Address": party.email[:100]} if party.email else None,
        "BillAddr": {k: v for k, v in bill.items() if v} or None,
        "PrimaryPhone": {"FreeFormNumber": party.phone[:30]} if party.phone else None,
        "Mobile": {"FreeFormNumber": party.mobile[:30]} if party.mobile else None,
        "PrimaryTaxIdentifier": party.vat_number[:20],
        "Notes": f"Customer number {party.code}" if party.code else "",
    }
    return {key: value for key, value in body.items() if value not in ("", None)}


def _names(party: Party) -> tuple[str, str]:
    person = party.contact_name or ("" if party.is_business else party.name)
    given, _, family = person.strip().rpartition(" ")
    return (given, family) if given else ("", family)


def differs(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``wanted`` QuickBooks holds otherwise (DisplayName stays: it may have been made unique)."""
    return {k: v for k, v in wanted.items() if k != "DisplayName" and _plain(current.get(k)) != _plain(v)}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in ("Id",) and v not in ("", None)}
    return value
