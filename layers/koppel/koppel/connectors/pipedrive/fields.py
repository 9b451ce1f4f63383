"""How Pipedrive's v2 values read exactly: amounts as Decimal (never a float), ids, RFC 3339 times, the primary
e-mail and phone of a person, an organization's address with an ISO country code, custom field values (plain in API
answers, typed objects in webhooks). Pure; README.md in this folder has the API facts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from koppel.errors import PermanentError
from koppel.model import Address

VENDOR = "Pipedrive"
COUNTRIES: dict[str, str] = {
    "nederland": "NL", "netherlands": "NL", "the netherlands": "NL", "niederlande": "NL", "holland": "NL",
    "belgië": "BE", "belgie": "BE", "belgium": "BE", "belgique": "BE", "belgien": "BE",
    "duitsland": "DE", "germany": "DE", "deutschland": "DE", "allemagne": "DE",
    "frankrijk": "FR", "france": "FR", "frankreich": "FR",
    "luxemburg": "LU", "luxembourg": "LU",
    "verenigd koninkrijk": "GB", "united kingdom": "GB", "uk": "GB", "great britain": "GB", "england": "GB",
    "ierland": "IE", "ireland": "IE",
    "oostenrijk": "AT", "austria": "AT", "österreich": "AT",
    "zwitserland": "CH", "switzerland": "CH", "schweiz": "CH", "suisse": "CH",
    "spanje": "ES", "spain": "ES", "españa": "ES",
    "italië": "IT", "italie": "IT", "italy": "IT", "italia": "IT",
    "portugal": "PT", "denemarken": "DK", "denmark": "DK", "danmark": "DK",
    "zweden": "SE", "sweden": "SE", "sverige": "SE", "noorwegen": "NO", "norway": "NO", "norge": "NO",
    "finland": "FI", "suomi": "FI", "polen": "PL", "poland": "PL", "polska": "PL",
    "tsjechië": "CZ", "czech republic": "CZ", "czechia": "CZ",
    "verenigde staten": "US", "united states": "US", "united states of america": "US", "usa": "US",
    "canada": "CA", "australië": "AU", "australia": "AU",
}  # fmt: skip
"""Country names as Pipedrive's address field writes them (the name typed or chosen, in the user's language) →
ISO 3166 codes; a two-letter code is taken as it is. A name not listed leaves the country empty."""


def money(value: object, where: str) -> Decimal:
    """An amount exactly as Pipedrive wrote it: int and Decimal from the JSON text, or a numeric string."""
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, float):
        raise PermanentError(f"{where} was read as a float ({value!r}); read Pipedrive's JSON with parse_float=Decimal")
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise PermanentError(f"{where} is not an amount: {value!r}")
    try:
        amount = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation as error:
        raise PermanentError(f"{where} is not an amount: {value!r}") from error
    if not amount.is_finite():
        raise PermanentError(f"{where} is not a finite amount: {value!r}")
    return amount


def record_id(value: object) -> int | None:
    """A Pipedrive id (v2 writes numbers; webhooks sometimes strings); None when there is none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) > 0:
        return int(value)
    if isinstance(value, Mapping):  # v1 shapes: {"value": 5, "name": ...}
        return record_id(value.get("value") if "value" in value else value.get("id"))
    return None


def text(source: object, key: str) -> str:
    value = source.get(key) if isinstance(source, Mapping) else None
    if value is None or isinstance(value, bool | Mapping | list):
        return ""
    return str(value).strip()


def moment(value: object, where: str) -> datetime:
    """An RFC 3339 time (``2026-11-24T09:15:00Z``); v1's ``YYYY-MM-DD HH:MM:SS`` is UTC as well."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise PermanentError(f"{where} is not a time: {value!r}")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def primary(items: object) -> str:
    """The primary value of a person's ``emails`` / ``phones`` list (else the first)."""
    entries = [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []
    chosen = next((e for e in entries if e.get("primary") is True and text(e, "value")), None)
    chosen = chosen or next((e for e in entries if text(e, "value")), None)
    return text(chosen, "value") if chosen else ""


def custom_value(fields: object, key: str) -> str:
    """A custom field's value as text: plain in API answers, ``{"type", "value"}`` in webhooks."""
    if not key or not isinstance(fields, Mapping):
        return ""
    value = fields.get(key)
    if isinstance(value, Mapping):
        value = value.get("value")
    return "" if value is None or isinstance(value, bool | Mapping | list) else str(value).strip()


def address(organization: Mapping[str, Any] | None) -> Address:
    """An organization's v2 ``address`` as the billing address: street + number (+ suffix), postcode, place and
    the country as an ISO code."""
    raw = organization.get("address") if organization else None
    if not isinstance(raw, Mapping):
        return Address()
    street = " ".join(p for p in (text(raw, "route"), text(raw, "street_number"), text(raw, "subpremise")) if p)
    if not street and not text(raw, "locality"):
        street = text(raw, "formatted_address") or text(raw, "value")
    return Address(
        street=street,
        postcode=text(raw, "postal_code"),
        city=text(raw, "locality") or text(raw, "sublocality"),
        country_code=country_code(text(raw, "country")),
    )


def country_code(name: str) -> str | None:
    if len(name) == 2 and name.isascii() and name.isalpha():
        return name.upper()
    return COUNTRIES.get(name.casefold())
