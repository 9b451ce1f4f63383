"""A Pipedrive deal with its products, person and organization → the canonical invoice event. Pure functions,
golden-tested, also used by ``koppel preview``. README.md in this folder has the API facts.

The invoice is computed from each line's own price, quantity, discount and tax, never from Pipedrive's ``sum`` per
line or the deal's ``value`` (how Pipedrive rounds those is not documented). Each line's amount after its discount
is rounded to cents, and the total is what the lines and the VAT per rate add up to, exactly as
``booking.plan_booking`` books it, so a booking reconciles to the cent by construction:

- ``discount_type`` ``percentage``: that percentage of the price, per unit, exactly;
- ``discount_type`` ``amount``: an amount off the *whole line* (not per unit), as Pipedrive's deal products
  screen applies it; the per-unit discount is that amount divided by the quantity (informative only: the line's
  amount is what is booked);
- ``tax_method`` ``exclusive``: prices without VAT; ``inclusive``: prices with VAT; ``none``: no VAT (0 %).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, Inexact, localcontext
from typing import TYPE_CHECKING, Any

from koppel.connectors.pipedrive.fields import address, custom_value, money, primary, record_id, text
from koppel.connectors.pipedrive.settings import DOC_NUMBER_MAX
from koppel.errors import InputError, PermanentError
from koppel.model import DocumentEvent, Line, Party, SalesDocument
from koppel.money import HUNDRED, ZERO, cents, vat_from_net

if TYPE_CHECKING:
    from datetime import date, datetime

    from koppel.connectors.pipedrive.settings import PipedriveSettings
    from koppel.model import Connection

SOURCE = "pipedrive"
TAX_METHODS = ("exclusive", "inclusive", "none")
PREVIEW_SHAPE = (
    'one deal as GET /api/v2/deals/{id} returns its "data", with "products" (the data list of '
    'GET /api/v2/deals/{id}/products), "person" and "organization" (their v2 records, or null)'
)


def deal_event_id(deal_id: int | str) -> str:
    """The one id of a deal's invoice event: the button, the won webhook and the poll all arrive at it."""
    return f"{SOURCE}:deal:{deal_id}:invoice"


def document_number(settings: PipedriveSettings, deal_id: int) -> str:
    number = f"{settings.number_prefix}{deal_id}"
    if len(number) > DOC_NUMBER_MAX:
        raise PermanentError(
            f"invoice number {number} is longer than the {DOC_NUMBER_MAX} characters QuickBooks allows: shorten the "
            "number_prefix setting of this connection"
        )
    return number


def deal_event(
    deal: Mapping[str, Any],
    products: list[Mapping[str, Any]],
    person: Mapping[str, Any] | None,
    organization: Mapping[str, Any] | None,
    connection: Connection,
    settings: PipedriveSettings,
    *,
    issue_date: date,
    occurred_at: datetime,
) -> DocumentEvent:
    """The deal as an invoice, or PermanentError with what the salesperson should correct in Pipedrive."""
    deal_id = record_id(deal.get("id"))
    if deal_id is None:
        raise PermanentError(f"a Pipedrive deal needs a numeric id, got {deal.get('id')!r}")
    title = text(deal, "title") or f"deal {deal_id}"
    if person is None and organization is None:
        raise PermanentError(
            f"deal {deal_id} ({title}) has no person and no organization, so Koppel does not know whom to invoice: "
            "link a contact person or an organization to the deal in Pipedrive, then create the invoice again"
        )
    currency = _currency(deal, deal_id, settings)
    lines, include_vat = _lines(products, deal_id, title, currency)
    return DocumentEvent(
        event_id=deal_event_id(deal_id),
        kind="order.completed",
        tenant_id=connection.tenant_id,
        connection_id=connection.connection_id,
        source=SOURCE,
        occurred_at=occurred_at,
        payload=SalesDocument(
            source_id=str(deal_id),
            number=document_number(settings, deal_id),
            issue_date=issue_date,
            due_days=settings.due_days,
            currency=currency,
            prices_include_vat=include_vat,
            party=_party(deal, person, organization, settings),
            lines=tuple(lines),
            total=_total(lines, include_vat=include_vat),
            description=title,
            reference=title[:100],
        ),
    )


def _currency(deal: Mapping[str, Any], deal_id: int, settings: PipedriveSettings) -> str:
    currency = text(deal, "currency").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise PermanentError(f"deal {deal_id} has no currency Koppel can read: {deal.get('currency')!r}")
    if settings.currency and currency != settings.currency:
        raise PermanentError(
            f"deal {deal_id} is in {currency}, but this connection invoices in {settings.currency} only: change the "
            f"deal's currency in Pipedrive, or clear the currency setting to invoice in the deal's own currency"
        )
    return currency


def _lines(products: list[Mapping[str, Any]], deal_id: int, title: str, currency: str) -> tuple[list[Line], bool]:
    enabled = [p for p in products if p.get("is_enabled") is not False]
    if not enabled:
        raise PermanentError(
            f"deal {deal_id} ({title}) has no products, so there is nothing to invoice: add the products to the deal "
            "in Pipedrive, then create the invoice again"
        )
    methods = {text(p, "tax_method") or "exclusive" for p in enabled}
    if len(methods) != 1 or not methods <= set(TAX_METHODS):
        raise PermanentError(
            f"deal {deal_id}'s products mix tax methods {sorted(methods)}: Pipedrive keeps one per deal; set one "
            "(exclusive, inclusive or none) on the deal's products"
        )
    [method] = methods
    lines = []
    for product in enabled:
        where = f"deal {deal_id}, product {text(product, 'name') or product.get('id')}"
        line_currency = text(product, "currency").upper()
        if line_currency and line_currency != currency:
            raise PermanentError(f"{where} is priced in {line_currency}, the deal in {currency}: make them the same")
        lines.append(_line(product, where, method))
    return lines, method == "inclusive"


def _line(product: Mapping[str, Any], where: str, method: str) -> Line:
    price = money(product.get("item_price"), f"{where}: item_price")
    quantity = money(product.get("quantity"), f"{where}: quantity")
    discount = money(product.get("discount"), f"{where}: discount")
    kind = text(product, "discount_type") or "percentage"
    if kind == "percentage":
        per_unit = price * discount / HUNDRED
        off = per_unit * quantity
    elif kind == "amount":
        off = discount
        per_unit = _per_unit(discount, quantity)
    else:
        raise PermanentError(f"{where}: discount_type {kind!r} is neither percentage nor amount")
    tax = ZERO if method == "none" else money(product.get("tax"), f"{where}: tax")
    if not ZERO <= tax <= HUNDRED:
        raise PermanentError(f"{where}: tax {tax} % is not a VAT percentage")
    comments = text(product, "comments")
    name = text(product, "name") or "Product"
    return Line(
        description=f"{name} — {comments}"[:250] if comments else name,
        sku=str(product.get("product_id") or ""),
        quantity=quantity,
        unit_price=price,
        discount=per_unit,
        amount=cents(price * quantity - off),
        vat_rate=tax,
    )


def _per_unit(amount: Decimal, quantity: Decimal) -> Decimal:
    if quantity == 0:
        return ZERO
    with localcontext() as context:
        context.prec = 34
        context.clear_flags()
        share = amount / quantity
        inexact = context.flags[Inexact]
    return share.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP) if inexact else share


def _total(lines: list[Line], *, include_vat: bool) -> Decimal:
    """What the lines add up to, with VAT per rate on the net lines, as plan_booking books it."""
    amounts = sum((line.amount for line in lines), ZERO)
    if include_vat:
        return cents(amounts)
    by_rate: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        by_rate[line.vat_rate or ZERO] += line.amount
    return cents(amounts) + sum((vat_from_net(cents(base), rate) for rate, base in by_rate.items()), ZERO)


def _party(
    deal: Mapping[str, Any],
    person: Mapping[str, Any] | None,
    organization: Mapping[str, Any] | None,
    settings: PipedriveSettings,
) -> Party:
    person_name = text(person, "name") or " ".join(
        p for p in (text(person, "first_name"), text(person, "last_name")) if p
    )
    org_name = text(organization, "name")
    name = (person_name or org_name) if settings.customer_name == "person" else (org_name or person_name)
    key = settings.tax_number_field
    vat = custom_value(deal.get("custom_fields"), key) or custom_value(
        organization.get("custom_fields") if organization else None, key
    )
    org_id = record_id(organization.get("id")) if organization else None
    person_id = record_id(person.get("id")) if person else None
    return Party(
        source_id=f"organization:{org_id}" if org_id else f"person:{person_id}",
        name=name or f"Pipedrive deal {deal.get('id')}",
        contact_name=person_name if name != person_name else "",
        email=primary(person.get("emails")) or None if person else None,
        phone=primary(person.get("phones")) if person else "",
        is_business=bool(org_name),
        vat_number=vat.replace(" ", "").upper(),
        billing_address=address(organization),
    )


def read_preview_file(
    data: object,
) -> tuple[Mapping[str, Any], list[Mapping[str, Any]], Mapping[str, Any] | None, Mapping[str, Any] | None]:
    """Split a preview file (see PREVIEW_SHAPE) into the deal, its products, its person and its organization."""
    if not isinstance(data, Mapping):
        raise InputError(f"a Pipedrive preview file is {PREVIEW_SHAPE}; this is not a JSON object")
    products = data.get("products")
    if not isinstance(products, list) or not all(isinstance(p, Mapping) for p in products):
        raise InputError(f"a Pipedrive preview file is {PREVIEW_SHAPE}; its products are {str(products)[:120]}")
    person, organization = data.get("person"), data.get("organization")
    for name, value in (("person", person), ("organization", organization)):
        if value is not None and not isinstance(value, Mapping):
            raise InputError(f"a Pipedrive preview file is {PREVIEW_SHAPE}; its {name} is {str(value)[:120]}")
    deal = {k: v for k, v in data.items() if k not in ("products", "person", "organization")}
    return deal, list(products), person, organization
