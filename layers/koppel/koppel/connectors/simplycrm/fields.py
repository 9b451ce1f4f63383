"""Simply CRM's modules and fields as Koppel maps them: the standard mapping of records onto vtiger's stock fields, a
custom mapping checked against ``describe``, and how vtiger's values read (every value a string). Pure, apart from
``check_mapping`` asking ``describe`` through whatever it is given. README.md in this folder has the API facts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Protocol

from koppel.connectors.pipedrive.fields import country_code
from koppel.errors import PermanentError
from koppel.records import RECORD_FIELDS, RecordKind

if TYPE_CHECKING:
    from koppel.connectors.simplycrm.settings import FieldMap, SimplyCrmSettings

VENDOR = "Simply CRM"
MODULES: dict[RecordKind, str] = {"organization": "Accounts", "contact": "Contacts", "product": "Products"}
STANDARD: dict[RecordKind, dict[str, str]] = {
    "organization": {
        "name": "accountname", "email": "email1", "phone": "phone", "website": "website", "street": "bill_street",
        "postcode": "bill_code", "city": "bill_city", "country_code": "bill_country",
    },
    "contact": {
        "first_name": "firstname", "last_name": "lastname", "email": "email", "phone": "phone", "mobile": "mobile",
        "street": "mailingstreet", "postcode": "mailingzip", "city": "mailingcity", "country_code": "mailingcountry",
    },
    "product": {
        "name": "productname", "product_number": "product_no", "description": "description",
        "unit_price": "unit_price",
    },
}  # fmt: skip
"""vtiger's stock fields [V, vtiger 7 install data]; the VAT and chamber of commerce numbers have no stock field on
Organizations and come from the ``vat_field`` and ``registration_field`` settings (custom fields)."""
NUMBERED = {"product_no", "account_no", "contact_no"}
"""Numbers Simply CRM hands out itself: read-only, yet a key to find a record by."""
_TEXT = frozenset({"string", "text"})
COMPATIBLE: dict[str, frozenset[str]] = {
    "email": frozenset({"email"}),
    "unit_price": frozenset({"currency", "double", "decimal"}),
    "phone": frozenset({"phone", "string"}),
    "mobile": frozenset({"phone", "string"}),
    "website": frozenset({"url", "string"}),
    "country_code": _TEXT | {"picklist"},
    "currency": _TEXT | {"picklist"},
    "product_number": frozenset({"string"}),
}
"""Which vtiger field types (``describe`` ``type.name``) may hold a canonical field; text fields for the rest."""
MANDATORY_SKIPPED = {"assigned_user_id", "createdtime", "modifiedtime", "id"}


def field_map(settings: SimplyCrmSettings, kind: RecordKind) -> dict[str, str]:
    """Canonical field → Simply CRM field for ``kind``, with the connection's mapping."""
    if settings.mapping == "custom" and kind in settings.fields:
        return dict(settings.fields[kind])
    standard = dict(STANDARD[kind])
    if kind == "organization":
        standard |= {"vat_number": settings.vat_field} if settings.vat_field else {}
        standard |= {"registration_number": settings.registration_field} if settings.registration_field else {}
    return standard


class Describes(Protocol):
    def describe(self, module: str) -> Mapping[str, Any]:
        """vtiger's ``describe`` of a module."""


def check_mapping(client_or_source: Describes, mapping: Mapping[str, FieldMap]) -> list[str]:
    """What is wrong with a custom mapping (``{kind: {canonical field: Simply CRM field}}``), each problem with
    what to do; [] when Simply CRM's fields can hold it. Called when the mapping is saved, and before any write."""
    problems: list[str] = []
    for kind, names in mapping.items():
        if kind not in MODULES:
            problems.append(f"{kind!r} is not a record kind: use organization, contact or product")
            continue
        module = MODULES[kind]
        fields = {str(f.get("name")): f for f in client_or_source.describe(module).get("fields") or []}
        for canonical, name in names.items():
            problems += _field_problems(kind, module, canonical, name, fields)
        mapped = set(names.values())
        for name, spec in fields.items():
            if spec.get("mandatory") and name not in mapped | MANDATORY_SKIPPED | NUMBERED:
                problems.append(
                    f"{module} requires {name} ({spec.get('label', name)}) on every new record, and the {kind} "
                    f"mapping leaves it out: map one of {', '.join(RECORD_FIELDS[kind])} to {name}"
                )
    return problems


def _field_problems(
    kind: RecordKind, module: str, canonical: str, name: str, fields: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    if canonical not in RECORD_FIELDS[kind]:
        return [f"{kind} has no field {canonical!r}: map one of {', '.join(RECORD_FIELDS[kind])}"]
    allowed = COMPATIBLE.get(canonical, _TEXT)
    spec = fields.get(name)
    if spec is None:
        fitting = [f"{n} ({f.get('label', n)})" for n, f in fields.items() if _type(f) in allowed and _editable(f)]
        return [
            f"{kind} {canonical} is mapped to {name}, but {module} has no field {name}: add it in Simply CRM "
            f"(Settings > Module Layouts & Fields) or map {canonical} to one of {', '.join(fitting[:12]) or 'none'}"
        ]
    problems = []
    if _type(spec) not in allowed:
        problems.append(
            f"{kind} {canonical} is mapped to {name} ({spec.get('label', name)}), a {_type(spec)} field in {module}; "
            f"{canonical} needs a field of type {' or '.join(sorted(allowed))}: map it to such a field"
        )
    if not _editable(spec) and not (canonical == "product_number" and name in NUMBERED):
        problems.append(
            f"{kind} {canonical} is mapped to {name} ({spec.get('label', name)}), which Simply CRM does not let "
            f"anyone write: map {canonical} to a field that can be edited"
        )
    return problems


def _type(spec: Mapping[str, Any]) -> str:
    kind = spec.get("type")
    return str(kind.get("name") if isinstance(kind, Mapping) else kind or "")


def _editable(spec: Mapping[str, Any]) -> bool:
    return spec.get("editable") is not False


# -- values -----------------------------------------------------------------------------------------------------------
def text(record: Mapping[str, Any] | None, key: str) -> str:
    value = record.get(key) if isinstance(record, Mapping) else None
    return "" if value is None or isinstance(value, bool | Mapping | list) else str(value).strip()


def decimal(record: Mapping[str, Any], key: str, where: str) -> Decimal:
    """vtiger's decimal string (``"1250.00000000"``) exactly; "" is zero."""
    value = record.get(key)
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, float):
        raise PermanentError(f"{where}: {key} was read as a float ({value!r}); read Simply CRM's JSON as Decimal")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as error:
        raise PermanentError(f"{where}: {key} is not a number: {value!r}") from error
    if not amount.is_finite():
        raise PermanentError(f"{where}: {key} is not a number: {value!r}")
    return amount


def moment(value: object) -> datetime | None:
    """``YYYY-MM-DD HH:MM:SS`` as vtiger stores it, in UTC [I]; None when empty or not a time."""
    try:
        return datetime.strptime(str(value or "").strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def day(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value or "").strip()[:10])
    except ValueError:
        return None


def country(name: str, where: str) -> str | None:
    """A country as vtiger's free-text field holds it, as an ISO code; PermanentError for one Koppel cannot read
    (the VAT treatment depends on it), None when it is empty."""
    if not name:
        return None
    code = country_code(name)
    if code is None:
        raise PermanentError(
            f"{where}: the country {name!r} is not one Koppel knows: write its name (Nederland, Belgium) or its "
            "ISO code (NL) in Simply CRM"
        )
    return code


def webservice_id(value: object) -> str:
    """``<module prefix>x<record number>`` in ASCII digits, as vtiger writes it (``4x02`` is ``4x2``), or "" for
    anything else (a superscript or Arabic-Indic digit is no id: vtiger would read it otherwise or fail)."""
    found = _WEBSERVICE_ID.fullmatch(str(value or "").strip())
    return f"{int(found[1])}x{int(found[2])}" if found else ""


_WEBSERVICE_ID = re.compile(r"([0-9]{1,9})x([0-9]{1,18})", re.ASCII)
