"""A Simply CRM invoice (as ``retrieve`` answers it, with its ``LineItems``) and its customer → the canonical invoice
or credit note event. Pure; also used by ``koppel preview``. README.md in this folder has the API facts.

vtiger computes an invoice like this [V, vtiger 7 ``VtigerLineItemOperation::updateParent``]: a line is ``listprice
× quantity`` minus its ``discount_amount`` (or else ``discount_percent`` of it). With ``hdnTaxType`` ``individual``
each line carries its own tax and the sub total includes those taxes; with ``group`` one tax applies to the sub total
after the overall discount. The overall discount (``hdnDiscountAmount``, or ``hdnDiscountPercent`` of the sub total)
comes off before shipping and handling (``hdnS_H_Amount``, taxed at ``hdnS_H_Percent``) and the adjustment
(``txtAdjustment``). The document states each line net with its rate, the overall discount as a discount line per
rate (split the way vtiger splits it, by the taxed amounts in individual mode), shipping as a shipping line, the
adjustment as an untaxed rounding line, and the total as ``hdnGrandTotal``; its VAT total is what is left of that
total after the net lines, so the booking reconciles to vtiger's own total to the cent.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from koppel.booking import plan_booking
from koppel.connectors.kit.dates import amsterdam_date
from koppel.connectors.simplycrm.fields import country, day, decimal, field_map, moment, text
from koppel.errors import PermanentError
from koppel.model import Address, DocumentEvent, Line, Party, SalesDocument
from koppel.money import HUNDRED, ZERO, allocate, cents

if TYPE_CHECKING:
    from collections.abc import Mapping

    from koppel.connectors.simplycrm.settings import SimplyCrmSettings
    from koppel.model import Connection, VatTreatment

SOURCE = "simplycrm"
_TAX_KEY = re.compile(r"^tax\d+$")
_LINE_CONTENT = ("productid", "quantity", "listprice", "discount_percent", "discount_amount", "comment")
_INVOICE_CONTENT = (
    "invoice_no", "invoicedate", "duedate", "currency_id", "hdnTaxType", "hdnDiscountPercent", "hdnDiscountAmount",
    "hdnS_H_Amount", "hdnS_H_Percent", "txtAdjustment", "hdnGrandTotal",
)  # fmt: skip
EU = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU", "LV",
    "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})  # fmt: skip


def is_credit(invoice: Mapping[str, Any], settings: SimplyCrmSettings) -> bool:
    return text(invoice, "invoicestatus") in settings.credit_statuses


def skip_reason(invoice: Mapping[str, Any], settings: SimplyCrmSettings) -> str:
    """Why an invoice is not booked (yet); "" when its status is final or a credit status."""
    status = text(invoice, "invoicestatus")
    if status in settings.final_statuses or status in settings.credit_statuses:
        return ""
    booked = ", ".join((*settings.final_statuses, *settings.credit_statuses))
    return f"status {status or '(none)'}: only invoices in {booked} are booked"


def customer_id(invoice: Mapping[str, Any], settings: SimplyCrmSettings) -> str:
    return text(invoice, "account_id" if settings.customer_module == "Accounts" else "contact_id")


def event_id(invoice: Mapping[str, Any], settings: SimplyCrmSettings) -> str:
    """``simplycrm:invoice:<id>:<revision>``: the revision is a digest of what is booked (number, dates, customer,
    currency, totals, discounts, shipping, lines, invoice or credit note), so the id changes only when that does;
    a new note, subject or owner, or a status that stays final, keeps it."""
    content: dict[str, Any] = {key: _plain(invoice.get(key)) for key in _INVOICE_CONTENT}
    content |= {"customer": customer_id(invoice, settings), "credit": is_credit(invoice, settings)}
    content["lines"] = [
        {key: _plain(line.get(key)) for key in sorted(line) if key in _LINE_CONTENT or _TAX_KEY.match(key)}
        for line in _line_items(invoice)
    ]
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]
    return f"{SOURCE}:invoice:{text(invoice, 'id')}:{digest}"


def _plain(value: Any) -> str:
    """A value as vtiger means it: ``"2.000"`` and ``"2"`` are one quantity."""
    raw = "" if value is None else str(value).strip()
    try:
        number = Decimal(raw)
    except ArithmeticError:
        return raw
    return format(number.normalize(), "f") if number.is_finite() and raw else raw


def _line_items(invoice: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = invoice.get("LineItems")
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def invoice_event(
    invoice: Mapping[str, Any],
    customer: Mapping[str, Any] | None,
    product_numbers: Mapping[str, str],
    connection: Connection,
    settings: SimplyCrmSettings,
) -> DocumentEvent:
    """The invoice as a document event, or PermanentError with what to correct in Simply CRM."""
    number = text(invoice, "invoice_no")
    where = f"invoice {number or text(invoice, 'id')}"
    if not number:
        raise PermanentError(f"{where} has no invoice number (invoice_no)")
    credit = is_credit(invoice, settings)
    lines = _lines(invoice, product_numbers, where)
    sign = Decimal(-1) if credit else Decimal(1)
    total = cents(decimal(invoice, "hdnGrandTotal", where))
    document = SalesDocument(
        doc_type="credit_note" if credit else "invoice",
        source_id=text(invoice, "id"),
        number=number,
        issue_date=_issue_date(invoice, where),
        due_days=_due_days(invoice),
        currency=settings.currency,
        prices_include_vat=False,
        vat_treatment=_treatment(lines, customer, settings),
        party=_party(invoice, customer, settings, where),
        lines=tuple(_signed(line, sign) for line in lines),
        total=sign * total,
        total_vat=sign * (total - sum((cents(line.amount) for line in lines), ZERO)),
        description=text(invoice, "subject"),
        reference=text(invoice, "subject")[:100],
        is_paid=text(invoice, "invoicestatus") == settings.paid_status,  # paid when first booked: paid there too
    )
    plan_booking(document)  # the balance guard: what Simply CRM states must add up before anything is sent
    return DocumentEvent(
        event_id=event_id(invoice, settings),
        kind="credit_note.created" if credit else "invoice.created",
        tenant_id=connection.tenant_id,
        connection_id=connection.connection_id,
        source=SOURCE,
        occurred_at=moment(invoice.get("modifiedtime")) or connection.created_at,
        payload=document,
    )


def _lines(invoice: Mapping[str, Any], product_numbers: Mapping[str, str], where: str) -> list[Line]:
    items = _line_items(invoice)
    if not items:
        raise PermanentError(f"{where} has no lines (LineItems): add its products in Simply CRM")
    individual = text(invoice, "hdnTaxType").lower() == "individual"
    rates = [_tax(item, f"{where}, line {i}") for i, item in enumerate(items, start=1)]
    if not individual:  # one group tax: vtiger keeps it on the lines; the lines that name it must agree
        named = {rate for rate in rates if rate}
        if len(named) > 1:
            raise PermanentError(f"{where} has group taxes {sorted(named)} on different lines: keep one")
        rates = [next(iter(named), ZERO)] * len(items)
    lines = [_goods(item, rate, product_numbers, f"{where}, line {i}") for i, (item, rate) in enumerate(
        zip(items, rates, strict=True), start=1)]  # fmt: skip
    lines += _discount_lines(invoice, lines, individual, where)
    shipping = cents(decimal(invoice, "hdnS_H_Amount", where))
    if shipping:
        rate = _percent(decimal(invoice, "hdnS_H_Percent", where))
        lines.append(Line(kind="shipping", description="Verzend- en behandelkosten", unit_price=shipping,
                          amount=shipping, vat_rate=rate))  # fmt: skip
    adjustment = cents(decimal(invoice, "txtAdjustment", where))
    if adjustment:
        lines.append(Line(kind="rounding", description="Correctie", unit_price=adjustment, amount=adjustment,
                          vat_rate=ZERO))  # fmt: skip
    return lines


def _tax(item: Mapping[str, Any], where: str) -> Decimal:
    taxes = {key: decimal(item, key, where) for key in sorted(item) if _TAX_KEY.match(key)}
    named = {key: rate for key, rate in taxes.items() if rate}
    if len(named) > 1:
        listed = ", ".join(f"{key} {rate.normalize()} %" for key, rate in named.items())
        raise PermanentError(f"{where} has more than one tax ({listed}): Koppel books one VAT rate a line; keep one")
    rate = next(iter(named.values()), ZERO)
    if not ZERO <= rate <= HUNDRED:
        raise PermanentError(f"{where}: tax {rate} % is not a VAT percentage")
    return _percent(rate)


def _percent(rate: Decimal) -> Decimal:
    """vtiger's ``"21.000"`` as 21, ``"5.500"`` as 5.5."""
    return rate.quantize(Decimal(1)) if rate == rate.to_integral_value() else rate.normalize()


def _goods(item: Mapping[str, Any], rate: Decimal, product_numbers: Mapping[str, str], where: str) -> Line:
    quantity = decimal(item, "quantity", where)
    price = decimal(item, "listprice", where)
    gross = price * quantity
    off = decimal(item, "discount_amount", where) or gross * decimal(item, "discount_percent", where) / HUNDRED
    name = text(item, "product_name") or f"Product {text(item, 'productid')}"
    comment = text(item, "comment")
    per_unit = (off / quantity).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP) if quantity else ZERO
    return Line(
        description=f"{name} — {comment}"[:250] if comment else name,
        sku=text(item, "product_no") or product_numbers.get(text(item, "productid"), ""),
        quantity=quantity,
        unit_price=price,
        discount=per_unit.normalize() if per_unit else ZERO,
        amount=cents(gross - off),
        vat_rate=rate,
    )


def _discount_lines(invoice: Mapping[str, Any], goods: list[Line], individual: bool, where: str) -> list[Line]:
    """The overall discount, one line per rate: split by the amounts vtiger takes it from (with their tax in
    individual mode), each share net of its rate's tax."""
    weights: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for line in goods:
        rate = line.vat_rate or ZERO
        weights[rate] += line.amount * (1 + rate / HUNDRED) if individual else line.amount
    sub_total = sum(weights.values(), ZERO)
    amount = decimal(invoice, "hdnDiscountAmount", where)
    percent = decimal(invoice, "hdnDiscountPercent", where)
    discount = cents(amount or sub_total * percent / HUNDRED)
    if not discount or not sub_total:
        return []
    label = f"Korting {percent.normalize()}%" if not amount else "Korting"
    rates = sorted(weights, reverse=True)
    shares = allocate(discount, [weights[rate] for rate in rates])
    lines = []
    for rate, share in zip(rates, shares, strict=True):
        net = cents(share / (1 + rate / HUNDRED)) if individual else share
        if net:
            lines.append(Line(kind="discount", description=label, unit_price=-net, amount=-net, vat_rate=rate))
    return lines


def _signed(line: Line, sign: Decimal) -> Line:
    if sign > 0:
        return line
    changes = {"unit_price": -line.unit_price, "discount": -line.discount, "amount": -line.amount}
    return line.model_copy(update=changes)


def _issue_date(invoice: Mapping[str, Any], where: str) -> Any:
    issued = day(invoice.get("invoicedate"))
    created = moment(invoice.get("createdtime"))
    if issued is None and created is None:
        raise PermanentError(f"{where} has no invoice date: fill in Invoice Date in Simply CRM")
    return issued or amsterdam_date(created)  # type: ignore[arg-type]


def _due_days(invoice: Mapping[str, Any]) -> int | None:
    issued, due = day(invoice.get("invoicedate")), day(invoice.get("duedate"))
    return (due - issued).days if issued and due and due >= issued else None


def _party(
    invoice: Mapping[str, Any], customer: Mapping[str, Any] | None, settings: SimplyCrmSettings, where: str
) -> Party:
    accounts = settings.customer_module == "Accounts"
    if customer is None:
        field, label = ("account_id", "organization") if accounts else ("contact_id", "contact")
        raise PermanentError(
            f"{where} names no {label} Koppel can read ({field} {customer_id(invoice, settings) or 'empty'}): choose "
            f"the {label} on the invoice in Simply CRM and save it again"
        )
    who = f"{where}'s {'organization' if accounts else 'contact'} {text(customer, 'id')}"
    if accounts:
        mapped = field_map(settings, "organization")
        return Party(
            source_id=text(customer, "id"), code=text(customer, "account_no"),
            name=text(customer, "accountname") or text(customer, "id"), email=text(customer, "email1") or None,
            phone=text(customer, "phone"), is_business=True,
            vat_number=text(customer, mapped.get("vat_number", "")).replace(" ", "").upper(),
            coc_number=text(customer, mapped.get("registration_number", "")),
            billing_address=_address(customer, "bill_street", "bill_code", "bill_city", "bill_country", who),
        )  # fmt: skip
    name = " ".join(part for part in (text(customer, "firstname"), text(customer, "lastname")) if part)
    return Party(
        source_id=text(customer, "id"), code=text(customer, "contact_no"), name=name or text(customer, "id"),
        email=text(customer, "email") or None, phone=text(customer, "phone"), mobile=text(customer, "mobile"),
        billing_address=_address(customer, "mailingstreet", "mailingzip", "mailingcity", "mailingcountry", who),
    )  # fmt: skip


def _address(record: Mapping[str, Any], street: str, code: str, city: str, land: str, who: str) -> Address:
    return Address(
        street=" ".join(text(record, street).split()),
        postcode=text(record, code),
        city=text(record, city),
        country_code=country(text(record, land), who),
    )


def _treatment(lines: list[Line], customer: Mapping[str, Any] | None, settings: SimplyCrmSettings) -> VatTreatment:
    """Domestic, unless nothing is taxed and the customer is abroad: within the EU, or an export."""
    if any(line.vat_rate for line in lines) or customer is None:
        return "domestic"
    land = text(customer, "bill_country" if settings.customer_module == "Accounts" else "mailingcountry")
    code = country(land, "the customer") if land else None
    if code is None or code == "NL":
        return "domestic"
    return "intra_eu" if code in EU else "export"
