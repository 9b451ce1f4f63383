"""Pure: Billy's contacts and products as canonical records (``koppel.records``) and back.

An ``organization`` is a contact of type ``company``, a ``contact`` one of type ``person`` (Billy has one name for
a person: the first word is read as the first name, the rest as the last name). Billy keeps e-mail addresses on a
contact's contact persons, so a record's ``email`` is that of its primary person. A product's ``unit_price`` is
its price in the organization's base currency (Billy keeps one price per currency). [V field names,
https://www.billy.dk/api/]
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from koppel.errors import PermanentError
from koppel.records import SyncRecord, full_name

if TYPE_CHECKING:
    from collections.abc import Mapping

    from koppel.records import RecordKind

CONTACT_TYPE: dict[str, str] = {"organization": "company", "contact": "person"}
ADDRESS = {
    "phone": "phone", "street": "street", "postcode": "zipcodeText", "city": "cityText", "country_code": "countryId",
}  # fmt: skip
CONTACT_FIELDS: dict[str, dict[str, str]] = {
    "organization": {"name": "name", "vat_number": "registrationNo", **ADDRESS},
    "contact": dict(ADDRESS),
}
PRODUCT_FIELDS = {"name": "name", "product_number": "productNo", "description": "description"}
HELD: dict[str, frozenset[str]] = {
    "organization": frozenset({*CONTACT_FIELDS["organization"], "email"}),
    "contact": frozenset({*CONTACT_FIELDS["contact"], "first_name", "last_name", "email"}),
    "product": frozenset({*PRODUCT_FIELDS, "unit_price"}),
}
"""The canonical fields Billy holds for each kind (``registration_number``, ``website`` and ``mobile`` it has not)."""
PLURAL: dict[str, str] = {"organization": "contacts", "contact": "contacts", "product": "products"}
INCLUDE: dict[str, str] = {
    "organization": "contact.contactPersons:embed",
    "contact": "contact.contactPersons:embed",
    "product": "product.prices:embed",
}


def is_kind(kind: RecordKind, record: Mapping[str, Any]) -> bool:
    return kind == "product" or record.get("type") == CONTACT_TYPE[kind]


def to_record(kind: RecordKind, billy: Mapping[str, Any], currency: str) -> SyncRecord:
    """A Billy contact or product (with its persons or prices embedded) as a canonical record."""
    if kind == "product":
        fields = {name: _text(billy.get(key)) for name, key in PRODUCT_FIELDS.items()}
        price = price_in(billy, currency)
        fields["unit_price"] = format(price, "f") if price is not None else ""
        label = fields["product_number"] or fields["name"]
    else:
        fields = {name: _text(billy.get(key)) for name, key in CONTACT_FIELDS[kind].items()}
        person = primary_person(billy)
        fields["email"] = _text(person.get("email")) if person else ""
        if kind == "contact":
            fields["first_name"], fields["last_name"] = split_name(_text(billy.get("name")))
        label = _text(billy.get("name"))
    return SyncRecord(kind=kind, ident=str(billy["id"]), fields=fields, label=label)


def split_name(name: str) -> tuple[str, str]:
    first, _, last = " ".join(name.split()).partition(" ")
    return first, last


def primary_person(contact: Mapping[str, Any]) -> dict[str, Any] | None:
    persons = [p for p in contact.get("contactPersons") or [] if isinstance(p, dict)]
    return next((p for p in persons if p.get("isPrimary")), persons[0] if persons else None)


def price_in(product: Mapping[str, Any], currency: str) -> Decimal | None:
    for price in product.get("prices") or []:
        if isinstance(price, dict) and price.get("currencyId") == currency and price.get("unitPrice") is not None:
            return Decimal(str(price["unitPrice"]))
    return None


def contact_changes(kind: RecordKind, fields: Mapping[str, str], current: Mapping[str, Any]) -> dict[str, Any]:
    """The contact's own properties among ``fields`` ('' empties one); a person's name made of first and last."""
    body: dict[str, Any] = {key: fields[name] or None for name, key in CONTACT_FIELDS[kind].items() if name in fields}
    if kind == "contact" and ("first_name" in fields or "last_name" in fields):
        first, last = split_name(_text(current.get("name")))
        record = SyncRecord(
            kind="contact", ident="-", fields={"first_name": fields.get("first_name", first),
                                               "last_name": fields.get("last_name", last)},
        )  # fmt: skip
        body["name"] = full_name(record) or None
    return body


def new_contact(kind: RecordKind, fields: Mapping[str, str], country: str) -> dict[str, Any]:
    body = {key: value for key, value in contact_changes(kind, fields, {}).items() if value is not None}
    body |= {"type": CONTACT_TYPE[kind], "isCustomer": True}
    body.setdefault("countryId", country)
    if fields.get("email"):
        person = {"email": fields["email"], "isPrimary": True}
        body["contactPersons"] = [person | ({"name": body["name"]} if kind == "contact" and body.get("name") else {})]
    return body


def product_changes(fields: Mapping[str, str], current: Mapping[str, Any], currency: str) -> dict[str, Any]:
    """The product's own properties among ``fields``; a new ``unit_price`` replaces only the price in
    ``currency`` (Billy replaces every price when ``prices`` is sent, so the others are sent again)."""
    body: dict[str, Any] = {key: fields[name] or None for name, key in PRODUCT_FIELDS.items() if name in fields}
    if "unit_price" in fields:
        kept = [
            {"unitPrice": p["unitPrice"], "currencyId": p["currencyId"]}
            for p in current.get("prices") or []
            if isinstance(p, dict) and p.get("currencyId") != currency
        ]
        price = _price(fields["unit_price"])
        body["prices"] = kept + ([{"unitPrice": price, "currencyId": currency}] if price is not None else [])
    return body


def _price(text: str) -> Decimal | None:
    if not text.strip():
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        raise PermanentError(f"{text!r} is not a price Billy can hold") from None


def _text(value: Any) -> str:
    return "" if value is None else str(value)
