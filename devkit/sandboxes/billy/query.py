"""Reading: ``include`` (sideload / embed), filters, sorting and paging, as Billy's conventions describe them.

[V, https://www.billy.dk/api/ "Relationships", "Paging", "Filtering", "Sorting"]:
- ``include=resource.property:mode[,...]``, mode ``sideload`` (default) or ``embed``. A sideloaded belongs-to
  keeps ``contactId`` and puts the contact once in a root key ``contacts``; an embedded one adds ``contact``
  with all properties. A sideloaded has-many adds ``linesIds`` (relationship name + ``Ids``) and puts the
  children in their root key (``invoiceLines``); an embedded one adds ``lines`` with the full children.
  Includes chain: ``invoice.contact,contact.contactPersons:embed`` [V example with contact.country].
- ``page`` / ``pageSize`` (default and max 1000), ``meta.paging`` with page, pageCount, pageSize, total and
  firstUrl / previousUrl / nextUrl / lastUrl [V]. ``pageSize`` over 1000 → 400 [I]; an empty list has
  pageCount 1 [I].
- ``sortProperty`` / ``sortDirection`` (ASC default, DESC) [V]; default order is creation order [I].
- Invoice filters [V]: contactId, creditedInvoiceId, state, invoiceNo, externalId, currencyId, isPaid,
  amount, min/maxEntryDate, min/maxDueDate, min/maxApprovedTime, entryDatePeriod (``dates:a...b``,
  ``month:2025-06``, ``year:2025`` are modelled), ``q``. There is **no** updated-since filter and no
  ``updatedTime`` property on any resource [V by absence]. Other resources: any ``<property>=<value>`` whose
  name is a property of the record filters on equality [I]; unknown parameters are ignored [I].
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from devkit.sandboxes.billy.schema import RESOURCES, SINGULAR
from devkit.sandboxes.billy.store import public
from devkit.sandboxes.billy.wire import bad_request, parse_time

if TYPE_CHECKING:
    from collections.abc import Mapping

    from devkit.sandboxes.billy.store import Organization, Record

MAX_PAGE_SIZE = 1000
PAGING_KEYS = {"page", "pageSize", "include", "sortProperty", "sortDirection", "q"}
RANGES = {"EntryDate": "entryDate", "DueDate": "dueDate", "ApprovedTime": "approvedTime"}


def parse_include(text: str | None) -> dict[str, list[tuple[str, str]]]:
    wanted: dict[str, list[tuple[str, str]]] = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        path, _, mode = item.partition(":")
        resource, _, prop = path.partition(".")
        mode = mode or "sideload"
        if resource not in SINGULAR or not prop or mode not in {"sideload", "embed"}:
            raise bad_request(f"Invalid include: {item}")
        known = SINGULAR[resource]
        if prop not in known.belongs_to and prop not in known.has_many:
            raise bad_request(f"{resource} has no relationship named {prop}.")
        wanted.setdefault(resource, []).append((prop, mode))
    return wanted


class Renderer:
    """Renders records for one response and collects what is sideloaded (each record once)."""

    def __init__(self, org: Organization, include: str | None, updated_time: bool = False) -> None:
        self.org = org
        self.include = parse_include(include)
        self.updated_time = updated_time
        self.sideloaded: dict[str, dict[str, Record]] = {}

    def render(self, plural: str, record: Record, depth: int = 0) -> Record:
        out = public(record)
        if self.updated_time:
            out["updatedTime"] = record.get("_changed", record.get("createdTime"))
        resource = RESOURCES[plural]
        for prop, mode in self.include.get(resource.singular, []) if depth < 6 else []:
            if prop in resource.belongs_to:
                target_plural = resource.belongs_to[prop]
                target = self.org.get(target_plural, record.get(prop + "Id"))
                if mode == "embed":
                    out[prop] = self.render(target_plural, target, depth + 1) if target else None
                elif target:
                    self.sideload(target_plural, target, depth)
            else:
                child_plural, key = resource.has_many[prop]
                children = self.org.children(child_plural, key, record["id"])
                if mode == "embed":
                    out[prop] = [self.render(child_plural, child, depth + 1) for child in children]
                else:
                    out[prop + "Ids"] = [child["id"] for child in children]
                    for child in children:
                        self.sideload(child_plural, child, depth)
        return out

    def sideload(self, plural: str, record: Record, depth: int) -> None:
        table = self.sideloaded.setdefault(plural, {})
        if record["id"] not in table:
            table[record["id"]] = {}  # claim first: cycles stop here
            table[record["id"]] = self.render(plural, record, depth + 1)

    def merge_into(self, body: dict[str, Any]) -> dict[str, Any]:
        for plural, records in self.sideloaded.items():
            present = {r["id"] for r in body.get(plural, []) if isinstance(r, dict)}
            if isinstance(body.get(plural), dict):  # a single record answer: its own key is singular
                present.add(body[plural]["id"])
            extra = [r for ident, r in records.items() if ident not in present]
            if extra:
                body.setdefault(plural, []).extend(extra)
        return body


# -- filtering ------------------------------------------------------------------------------------------------------
def matches(org: Organization, record: Record, args: Mapping[str, str]) -> bool:
    for key, wanted in args.items():
        if key in PAGING_KEYS:
            continue
        if key == "entryDatePeriod":
            if not _in_period(record.get("entryDate"), wanted):
                return False
        elif key[:3] in {"min", "max"} and key[3:] in RANGES:
            if not _in_range(record.get(RANGES[key[3:]]), key[:3], wanted, key):
                return False
        elif key in record and not _equal(record[key], wanted):
            return False
    return _search(org, record, args.get("q"))


def _equal(value: Any, wanted: str) -> bool:
    if isinstance(value, bool):
        return wanted.lower() == ("true" if value else "false")
    if isinstance(value, Decimal):
        try:
            return value == Decimal(wanted)
        except ArithmeticError:
            return False
    return str(value) == wanted


def _in_range(value: Any, side: str, wanted: str, name: str) -> bool:
    if value is None:
        return False
    bound: Any = parse_time(wanted, name) if isinstance(value, datetime) else date.fromisoformat(wanted[:10])
    return bool(value >= bound if side == "min" else value <= bound)


def _in_period(value: date | None, period: str) -> bool:
    kind, _, rest = period.partition(":")
    if kind == "all":
        return True
    if value is None:
        return False
    if kind == "dates":
        start, _, end = rest.partition("...")
        return date.fromisoformat(start) <= value <= date.fromisoformat(end)
    prefix = {"day": 10, "month": 7, "year": 4}.get(kind)
    if prefix is None:
        raise bad_request(f"Unsupported entryDatePeriod: {period}")
    return value.isoformat()[:prefix] == rest


def _search(org: Organization, record: Record, q: str | None) -> bool:
    if not q:
        return True
    contact = org.get("contacts", record.get("contactId")) or {}
    haystack = [record.get(k) for k in ("invoiceNo", "orderNo", "lineDescription", "name", "amount", "balance")]
    haystack.append(contact.get("name"))
    return any(q.lower() in str(value).lower() for value in haystack if value is not None)


# -- sorting and paging ---------------------------------------------------------------------------------------------
def ordered(org: Organization, records: list[Record], args: Mapping[str, str]) -> list[Record]:
    prop = args.get("sortProperty")
    direction = args.get("sortDirection", "ASC").upper()
    if direction not in {"ASC", "DESC"}:
        raise bad_request("sortDirection must be ASC or DESC.")
    if prop:

        def key(record: Record) -> tuple[bool, Any]:
            if prop == "contact.name":
                value = (org.get("contacts", record.get("contactId")) or {}).get("name")
            else:
                value = record.get(prop)
            return (value is None, value if value is not None else "")

        records = sorted(records, key=key)
    return list(reversed(records)) if direction == "DESC" else records


def page_of(records: list[Record], args: Mapping[str, str], url: str) -> tuple[list[Record], dict[str, Any]]:
    try:
        page = int(args.get("page", 1))
        size = int(args.get("pageSize", MAX_PAGE_SIZE))
    except ValueError as error:
        raise bad_request("page and pageSize must be integers.") from error
    if size > MAX_PAGE_SIZE or size < 1 or page < 1:
        raise bad_request("pageSize cannot be greater than 1000.")
    total = len(records)
    count = max(1, math.ceil(total / size))
    rest = [(k, v) for k, v in args.items() if k not in {"page", "pageSize"}]

    def link(number: int) -> str:
        params = rest + ([("page", str(number))] if number > 1 else []) + [("pageSize", str(size))]
        return f"{url}?{urlencode(params)}"

    paging: dict[str, Any] = {"page": page, "pageCount": count, "pageSize": size, "total": total}
    paging["firstUrl"] = link(1)
    if page > 1:
        paging["previousUrl"] = link(page - 1)
    if page < count:
        paging["nextUrl"] = link(page + 1)
    paging["lastUrl"] = link(count)
    return records[(page - 1) * size : page * size], paging
