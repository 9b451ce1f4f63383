"""Pure translations between Koppel and SnelStart's wire shapes (B2B API v2): the verkoopboeking body, error
bodies and the koppelsleutel activation webhook. No HTTP here; snelstart.py does the calls.

Spec: vendor-specs/snelstart/snelstart-b2b-api-v2.openapi.yaml (POST /verkoopboekingen); the body has the shape of
SnelStart's own examples on https://b2bapi-developer.snelstart.nl/oss-btw (``klant: {id}``, ``grootboek: {id}``,
``kostenplaats: null``, ``boekstuk``, ``btw: [...]``, ``factuurdatum`` "YYYY-MM-DDT00:00:00").
Revenue lines are excl. VAT (``bedrag``), the VAT to remit is one ``btw`` entry per rate. The Booking is already
balanced (koppel.booking): nothing here recomputes VAT, it only places each amount on its ledger and btwSoort.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypedDict
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from koppel.connectors.connector_kit import DescriptionTemplate, describe
from koppel.errors import InputError, MappingError, PermanentError
from koppel.inbound import MAX_CALLBACK_BYTES, read_json
from koppel.money import ZERO
from koppel.ports import Activation

if TYPE_CHECKING:
    import requests

    from koppel.booking import BookedLine, Booking
    from koppel.model import SalesDocument

VENDOR = "SnelStart"
ACTIVATE_PATH = "/couplings/activate/{app}"

BtwSoort = Literal["Geen", "Laag", "Hoog"]
"""The btwSoort of a revenue line (VerkoopBoekingRegelModel); "Overig" is never produced."""

MAX_INVOICE_NUMBER = 25
"""VerkoopBoekingModel.factuurnummer maxLength."""

_GUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_STANDARD_RATES: dict[Decimal, BtwSoort] = {Decimal(21): "Hoog", Decimal(9): "Laag", Decimal(0): "Geen"}
_BTW_REGEL = {"Hoog": "VerkopenHoog", "Laag": "VerkopenLaag"}


class SnelstartSettings(BaseModel):
    """One connection's SnelStart mapping; the defaults are "the default mapping" of a Dutch chart of accounts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_base: str = "https://b2bapi.snelstart.nl/v2"
    auth_url: str = "https://auth.snelstart.nl/b2b/token"
    revenue_high: int = 8000
    """Omzet hoog (21 %)."""
    revenue_low: int = 8010
    """Omzet laag (9 %)."""
    revenue_zero: int = 8020
    """Omzet geen btw (0 %, domestic)."""
    revenue_intra_eu: int = 8030
    """ICP: intra-EU supplies at 0 % to a buyer with a VAT number."""
    revenue_export: int = 8040
    shipping: int = 8050
    payment_fee: int = 8060
    extra_cost: int = 8070
    discount: int = 8090
    """Kortingen."""
    discounts_on_own_ledger: bool = True
    """False: discounts are booked on the revenue ledger of their rate instead of ``discount``."""
    rounding: int | None = None
    """Ledger for explicit rounding lines; None books them on the revenue ledger of their rate."""
    product_group_ledgers: dict[str, int] = Field(default_factory=dict)
    """Product group → revenue ledger for goods of that group (domestic documents)."""
    extra_vat_rates: dict[str, Literal["Hoog", "Laag"]] = Field(default_factory=dict)
    """Rates besides 21/9/0 % and the btwSoort they are booked as, e.g. {"6": "Laag"} for orders before 2019."""
    rate_limit_per_second: int = Field(default=0, ge=0)
    rate_limit_per_minute: int = Field(default=0, ge=0)
    """Client-side limits (0 = none): SnelStart publishes none; set them when the partner contract names some."""
    activation_base: str = "https://web.snelstart.nl"
    """Where users activate the koppeling (SnelStart web); a sandbox URL on a laptop."""
    country_ids: dict[str, Annotated[str, Field(pattern=_GUID)]] = Field(default_factory=dict)
    """ISO country code → land id, synced from the administratie when it is connected (like ledger_ids)."""
    ledger_ids: dict[str, Annotated[str, Field(pattern=_GUID)]] = Field(default_factory=dict)
    """Ledger number → grootboek id, as synced from the administratie at connect time (sync_ledgers)."""
    payment_term_days: int = Field(default=14, ge=0, le=999)
    description_template: DescriptionTemplate = "Webshop order {number}"
    """Booking description; may use {number}, {reference}, {name} and {date}."""
    invoice_number_prefix: str = Field(default="", max_length=MAX_INVOICE_NUMBER - 1)

    @field_validator("extra_vat_rates")
    @classmethod
    def _rates_are_numbers(cls, value: dict[str, str]) -> dict[str, str]:
        for rate in value:
            if not re.fullmatch(r"\d{1,2}(\.\d+)?", rate.strip()):
                raise ValueError(f'{rate!r} is not a VAT percentage like "6" or "5.5"')
        return value

    def ledger_id(self, number: int) -> str:
        """The grootboek id of a ledger number; a placeholder GUID that spells the number when it was not synced,
        so that a preview against an empty administratie still shows which ledger is meant."""
        return self.ledger_ids.get(str(number)) or f"00000000-0000-0000-0000-{number:012d}"

    def btw_soort(self, rate: Decimal) -> BtwSoort | None:
        if rate in _STANDARD_RATES:
            return _STANDARD_RATES[rate]
        for extra, soort in self.extra_vat_rates.items():
            if Decimal(extra.strip()) == rate:
                return soort
        return None


class IdentifierBody(TypedDict):
    id: str


class BoekingsregelBody(TypedDict):
    omschrijving: str
    grootboek: IdentifierBody
    kostenplaats: IdentifierBody | None
    bedrag: Decimal
    btwSoort: BtwSoort


class BtwRegelBody(TypedDict):
    btwSoort: str
    btwBedrag: Decimal


class VerkoopboekingBody(TypedDict):
    factuurnummer: str
    factuurdatum: str
    klant: IdentifierBody
    omschrijving: str
    factuurbedrag: Decimal
    betalingstermijn: int
    boekstuk: str
    eenmaligeIncassoMachtiging: None
    doorlopendeIncassoMachtiging: None
    boekingsregels: list[BoekingsregelBody]
    btw: list[BtwRegelBody]


def invoice_number(number: str, settings: SnelstartSettings) -> str:
    """Prefix + the source's document number, at most 25 characters (SnelStart's factuurnummer limit).

    When longer, the END is kept and the start dropped: shops number documents with a fixed lead and a running
    tail, so the end carries the digits that tell two invoices apart. find_booking looks up this same number.
    """
    full = f"{settings.invoice_number_prefix}{number.strip()}"
    if not number.strip():
        raise MappingError("the document has no number, so it cannot get a SnelStart factuurnummer")
    return full[-MAX_INVOICE_NUMBER:]


def to_verkoopboeking(booking: Booking, klant_id: str, settings: SnelstartSettings) -> VerkoopboekingBody:
    """The POST /verkoopboekingen body for a balanced Booking; raises MappingError where the mapping has no place."""
    doc = booking.document
    _check_document(doc)
    if doc.due_days is not None and doc.due_days > 999:
        raise MappingError(f"document {doc.number}: payment term {doc.due_days} days is more than SnelStart's 999")
    body: VerkoopboekingBody = {
        "factuurnummer": invoice_number(doc.number, settings),
        "factuurdatum": f"{doc.issue_date.isoformat()}T00:00:00",
        "klant": {"id": klant_id},
        "omschrijving": _description(doc, settings)[:250],
        "factuurbedrag": booking.total,
        "betalingstermijn": doc.due_days if doc.due_days is not None else settings.payment_term_days,
        "boekstuk": "",
        "eenmaligeIncassoMachtiging": None,
        "doorlopendeIncassoMachtiging": None,
        "boekingsregels": [_regel(line, doc, settings) for line in booking.lines],
        "btw": _btw(booking, settings),
    }
    _check_balance(body, doc.number)
    return body


def _check_document(doc: SalesDocument) -> None:
    if doc.direction != "sales":
        raise MappingError(f"document {doc.number} is a purchase: the SnelStart connector books sales only")
    if doc.currency != "EUR":
        raise MappingError(f"document {doc.number} is in {doc.currency}: SnelStart bookings carry euros only")
    if doc.vat_treatment not in ("domestic", "intra_eu", "export"):
        raise MappingError(
            f"document {doc.number} has VAT treatment {doc.vat_treatment!r}, which the SnelStart mapping does not "
            "book (it books domestic, intra-EU and export sales): book this document in SnelStart by hand"
        )


def _description(doc: SalesDocument, settings: SnelstartSettings) -> str:
    return describe(settings.description_template, doc)


def _percent(rate: Decimal) -> str:
    return f"{rate.normalize():f}"


def _soort(rate: Decimal, doc: SalesDocument, settings: SnelstartSettings) -> BtwSoort:
    if doc.vat_treatment in ("intra_eu", "export"):
        if rate != 0:
            label = "an intra-EU (ICP)" if doc.vat_treatment == "intra_eu" else "an export"
            raise MappingError(
                f"document {doc.number} is {label} supply at 0 % but has a line at {_percent(rate)} % VAT: "
                "correct the VAT of the order in the source, or book it as a domestic sale"
            )
        return "Geen"
    soort = settings.btw_soort(rate)
    if soort is None:
        raise MappingError(
            f"document {doc.number} has VAT rate {_percent(rate)} %, which SnelStart cannot book as Hoog (21 %), "
            f'Laag (9 %) or Geen (0 %): configure it in the SnelStart setting extra_vat_rates, e.g. {{"6": "Laag"}} '
            "for orders from before 2019, or correct the VAT rate of the product in the source"
        )
    return soort


def _ledger(line: BookedLine, soort: BtwSoort, doc: SalesDocument, settings: SnelstartSettings) -> int:
    """The ledger number of a line by its role; every line of an ICP/export document goes on that ledger, so the
    VAT return reports the whole supply (goods, shipping, costs, discounts) under ICP or export."""
    if doc.vat_treatment == "intra_eu":
        return settings.revenue_intra_eu
    if doc.vat_treatment == "export":
        return settings.revenue_export
    revenue = {"Hoog": settings.revenue_high, "Laag": settings.revenue_low, "Geen": settings.revenue_zero}[soort]
    by_kind = {
        "goods": settings.product_group_ledgers.get(line.product_group, revenue) if line.product_group else revenue,
        "shipping": settings.shipping,
        "payment_fee": settings.payment_fee,
        "extra_cost": settings.extra_cost,
        "discount": settings.discount if settings.discounts_on_own_ledger else revenue,
        "rounding": settings.rounding if settings.rounding is not None else revenue,
    }
    return by_kind[line.kind]


def _regel(line: BookedLine, doc: SalesDocument, settings: SnelstartSettings) -> BoekingsregelBody:
    soort = _soort(line.vat_rate, doc, settings)
    quantity = abs(line.quantity)
    text = f"{_percent(quantity)} x {line.description}" if line.kind == "goods" and quantity != 1 else line.description
    return {
        "omschrijving": text[:250],
        "grootboek": {"id": settings.ledger_id(_ledger(line, soort, doc, settings))},
        "kostenplaats": None,
        "bedrag": line.net,
        "btwSoort": soort,
    }


def _btw(booking: Booking, settings: SnelstartSettings) -> list[BtwRegelBody]:
    """One entry per btwSoort with VAT to remit (two rates booked as the same soort are added up)."""
    amounts: dict[str, Decimal] = {}
    for total in booking.vat_totals:
        if total.vat == 0:
            continue
        soort = _BTW_REGEL[_soort(total.rate, booking.document, settings)]
        amounts[soort] = amounts.get(soort, ZERO) + total.vat
    return [{"btwSoort": soort, "btwBedrag": amount} for soort, amount in amounts.items()]


def _check_balance(body: VerkoopboekingBody, number: str) -> None:
    booked = sum((r["bedrag"] for r in body["boekingsregels"]), ZERO) + sum((b["btwBedrag"] for b in body["btw"]), ZERO)
    if booked != body["factuurbedrag"]:
        raise PermanentError(
            f"Koppel bug: the verkoopboeking for {number} does not balance (factuurbedrag {body['factuurbedrag']}, "
            f"lines + VAT {booked}); nothing was sent to SnelStart"
        )


def describe_error(response: requests.Response) -> str:
    """SnelStart's own words for a failed call, as one readable sentence."""
    try:
        data = json.loads(response.text)
    except ValueError:
        data = None
    messages = _messages(data)
    if messages:
        return "; ".join(messages)
    text = " ".join(response.text.split())
    return text[:500] if text else response.reason or "no message"


def _messages(data: Any) -> list[str]:
    items = data if isinstance(data, list) else [data]
    return [message for item in items if (message := _message(item))]


def _message(item: Any) -> str:
    if isinstance(item, str):
        return item.strip()
    if not isinstance(item, dict):
        return ""
    text = str(item.get("message") or item.get("error_description") or item.get("error") or "").strip()
    code = str(item.get("errorCode") or "").strip()
    parts = [f"{code}: {text}" if code and text else code or text]
    details = item.get("details")
    if isinstance(details, str) and details.strip():
        parts.append(details.strip())
    elif isinstance(details, list):
        parts.extend(str(d) for d in details if d)
    model_state = item.get("modelState")
    if isinstance(model_state, dict):
        for field, problems in model_state.items():
            listed = problems if isinstance(problems, list) else [problems]
            parts.append(f"{field}: {' '.join(str(p) for p in listed)}")
    return " | ".join(p for p in parts if p)


_ACTIONS: dict[str, Literal["create", "regenerate", "delete"]] = {
    "Create": "create",
    "Regenerate": "regenerate",
    "Delete": "delete",
}


class _SnelstartActivation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    koppelSleutel: str = Field(default="", max_length=1024)
    actionType: Literal["Create", "Regenerate", "Delete"]
    referenceKey: str = Field(min_length=1, max_length=256)


def parse_activation(body: bytes) -> Activation:
    """SnelStart's koppelsleutel webhook ``{"koppelSleutel", "actionType", "referenceKey"}``, normalized."""
    data = read_json(body, f"{VENDOR} activation body", limit=MAX_CALLBACK_BYTES)
    try:
        wire = _SnelstartActivation.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InputError(
            f"the {VENDOR} activation body is not a koppelsleutel webhook: {where}: {first['msg']}"
        ) from error
    if wire.actionType != "Delete" and not wire.koppelSleutel:
        raise InputError(f"the {VENDOR} activation ({wire.actionType}) carries no koppelSleutel")
    return Activation(
        action=_ACTIONS[wire.actionType],
        credential=wire.koppelSleutel,
        credential_name="koppelsleutel",
        reference=wire.referenceKey,
    )


def activation_url(
    app_short_name: str, success_url: str, reference_key: str, base: str = "https://web.snelstart.nl"
) -> str:
    """Where the user activates the koppeling in SnelStart web; SnelStart then POSTs the koppelsleutel webhook."""
    query = urlencode({"successUrl": success_url, "referenceKey": reference_key}, quote_via=quote)
    return base.rstrip("/") + ACTIVATE_PATH.format(app=quote(app_short_name, safe="")) + "?" + query
