"""Records kept alike on two sides (a CRM and an accounting package): organizations, contacts and products.

A document goes one way and is booked once (``model.SalesDocument``); a record lives on both sides and either side
may change it. The canonical record is flat, a text per field, so that two sides can be compared and merged field
by field. Values are normalized here (an e-mail's case, a country code, a price's trailing zeros), so that one side
writing ``12.50`` and the other answering ``12.5`` is no change at all.

The merge is three-way: what each side holds now against what it held when Koppel last read or wrote it. A field
changed on one side only is carried to the other; a field changed on both sides differently is a conflict, which
the priority side wins, and both values are recorded.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Literal, get_args

from pydantic import Field, field_validator

from koppel.model import AwareDatetime, Canonical

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime

RecordKind = Literal["organization", "contact", "product"]
RECORD_KINDS: tuple[RecordKind, ...] = get_args(RecordKind)
"""In the order they are synced: a contact may name its organization, an invoice its customer and products."""

RECORD_FIELDS: dict[RecordKind, tuple[str, ...]] = {
    "organization": (
        "name", "email", "phone", "vat_number", "registration_number", "street", "postcode", "city",
        "country_code", "website",
    ),
    "contact": ("first_name", "last_name", "email", "phone", "mobile", "street", "postcode", "city", "country_code"),
    "product": ("name", "product_number", "description", "unit_price", "currency"),
}  # fmt: skip
"""Every field a record of a kind can carry; a pair of sides syncs those both of them know."""

LOOKUP_KEYS: dict[RecordKind, tuple[str, ...]] = {
    "organization": ("vat_number", "registration_number", "email", "name"),
    "contact": ("email", "name"),
    "product": ("product_number", "name"),
}
"""How a record that exists on the other side is found before one is created: its natural keys, strongest first.
``name`` is a contact's full name; a name is used only when no stronger key is filled in."""

Side = str
WRITTEN = "written"
"""The ledger's link namespace of documents Koppel wrote into a system it also reads from (a two-way koppeling):
``<system>:<number>`` → ``written_mark`` of the document, so that reading it back is no new document (no echo)."""
RECORD_EVENT_PREFIX = "record:"
"""Ledger rows of record changes are ``record:<kind>:<side>:<id>:<fingerprint>``: replayed by the next sync."""
"""A system's name (``simplycrm``, ``billy``): which side of the pair."""


def customer_key(source_id: str) -> str:
    """The ledger link of a customer by its id in the system it comes from: a booking's new customer and the record
    sync's new organization or contact reserve the same key before creating it, so the two never make it twice."""
    return f"party:source:{source_id}"


def written_mark(currency: str, total: Decimal) -> str:
    """What identifies a written document besides its number: a document of another system that happens to carry
    the same number is no echo unless it also has the same currency and total, to the cent."""
    return f"{currency} {total.quantize(Decimal('0.01'))}"


def _normal(name: str, value: str) -> str:
    text = " ".join(str(value).split())
    if name == "email":
        return text.casefold()
    if name in ("country_code", "currency", "vat_number"):
        return text.replace(" ", "").upper()
    if name == "unit_price" and text:
        try:
            amount = Decimal(text)
        except InvalidOperation:
            return text
        return format(amount.quantize(Decimal("0.01")) if amount == amount.quantize(Decimal("0.01")) else amount, "f")
    return text


class SyncRecord(Canonical):
    """One record as one side holds it: its id there and its fields, normalized (empty fields left out)."""

    kind: RecordKind
    ident: str
    fields: dict[str, str]
    label: str = ""
    """How a person recognizes it in the history (a name, a product number)."""
    changed_at: AwareDatetime | None = None

    @field_validator("fields")
    @classmethod
    def _normalized(cls, fields: dict[str, str]) -> dict[str, str]:
        normal = {name: _normal(name, value) for name, value in fields.items()}
        return {name: value for name, value in normal.items() if value}

    def value(self, name: str) -> str:
        return self.fields.get(name, "")

    def only(self, names: Iterable[str]) -> dict[str, str]:
        """The fields among ``names`` that are filled in."""
        return {name: self.fields[name] for name in names if name in self.fields}


def full_name(record: SyncRecord) -> str:
    if record.kind == "contact":
        return " ".join(part for part in (record.value("first_name"), record.value("last_name")) if part)
    return record.value("name")


def lookup_keys(record: SyncRecord) -> list[tuple[str, str]]:
    """The natural keys to find ``record`` by on the other side, strongest first; a person's or an organization's
    name only when nothing stronger is filled in (two people may share a name, never an e-mail address). A product
    falls back to its name always: a CRM that numbers its products itself (vtiger's PRO1…) never holds the other
    side's number, so after a create whose answer was lost only the name finds what was made."""
    keys = [(name, record.value(name)) for name in LOOKUP_KEYS[record.kind] if name != "name" and record.value(name)]
    named = [("name", full_name(record))] if full_name(record) else []
    return keys + named if record.kind == "product" or not keys else keys


def fingerprint(fields: Mapping[str, str]) -> str:
    """A short digest of a record's fields: names one version of a record in its history."""
    text = json.dumps(dict(sorted(fields.items())), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def changed(now: Mapping[str, str], before: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    """The fields among ``names`` whose value differs between ``before`` and ``now`` ('' for a field emptied)."""
    return {name: now.get(name, "") for name in names if now.get(name, "") != before.get(name, "")}


@dataclass(frozen=True)
class Conflict:
    field: str
    values: dict[Side, str]
    """What each side held."""
    winner: Side

    def describe(self, titles: Mapping[Side, str]) -> str:
        held = ", ".join(f"{titles.get(side, side)} {value or '(empty)'!r}" for side, value in self.values.items())
        return f"{self.field}: {held}; {titles.get(self.winner, self.winner)} won"


@dataclass(frozen=True)
class Merge:
    writes: dict[Side, dict[str, str]] = field(default_factory=dict)
    """Per side, the fields to write there (only sides the direction allows writing to)."""
    conflicts: tuple[Conflict, ...] = ()


def merge(
    now: Mapping[Side, Mapping[str, str]],
    before: Mapping[Side, Mapping[str, str]],
    names: Iterable[str],
    *,
    priority: Side,
    writable: Iterable[Side],
) -> Merge:
    """Three-way, field by field: what one side changed since ``before`` goes to the other; a field both changed
    differently is a conflict, which ``priority`` wins. A side without ``before`` (a first link) counts as changed,
    except that an empty field simply takes the other side's value. A field that differs while neither side changed
    it (each holds its own spelling of what Koppel wrote) is left alone: writing it again would echo forever."""
    writes: dict[Side, dict[str, str]] = {side: {} for side in writable}
    conflicts = []
    for name in names:
        values = {side: held.get(name, "") for side, held in now.items()}
        if len(set(values.values())) == 1:
            continue
        moved = {
            side: value for side, value in values.items() if side not in before or value != before[side].get(name, "")
        }
        if not moved:
            continue
        if len(set(moved.values())) == 1:
            value = next(iter(moved.values()))
        elif len(before) < len(now) and "" in values.values():
            value = next(value for value in values.values() if value)
        else:
            value = values[priority]
            conflicts.append(Conflict(name, values, priority))
        for side, fields in writes.items():
            if values[side] != value:
                fields[name] = value
    return Merge({side: fields for side, fields in writes.items() if fields}, tuple(conflicts))


@dataclass(frozen=True)
class RecordChanges:
    """What one side says changed since a moment."""

    records: list[SyncRecord]
    deleted: list[str] = field(default_factory=list)
    """Ids deleted since then, where the side says so."""
    complete: bool = False
    """Every record of the kind is listed (a side without a change feed): a linked id missing from it is deleted."""
    until: datetime | None = None
    """Where the next read starts (the side's own clock or cursor); None when the side has no change feed."""


class RecordLink(Canonical):
    """Two ids that are one record, and what each side held when Koppel last read or wrote it there."""

    connection_id: str
    kind: RecordKind
    ids: dict[Side, str]
    seen: dict[Side, dict[str, str]]
    """Per side, its synced fields as last read or written: a record that still holds them has not changed there,
    however often its modification time moved (Koppel's own write is no new change: no echo)."""
    deleted: dict[Side, str] = Field(default_factory=dict)
    """Per side, when Koppel found the record deleted there (reported, never carried to the other side)."""
    updated_at: AwareDatetime
    version: int = 0
    """Raised on every save; a save expecting an older version is refused (another run got there first)."""
