"""One e-Boekhouden administration: its relations, chart of accounts (ledgers) and mutations, and the rules
e-Boekhouden applies to relations and ledgers. Mutation rules live in eboekhouden_mutations.

Field names follow the REST models as a public SDK generated them (matisup10/e-Boekhouden-MCP
``eboekhouden/models/{relation,ledger}.py``; the generated Rust docs ``RelationApi.md``/``LedgerApi.md`` agree):
- relation: ``POST`` needs ``name`` (≤ 100), ``code`` ≤ 15, ``type`` B|P; answers 201 ``{"id", "code"}``;
  the list item is ``{"id", "type", "code"}`` only (read ``GET /v1/relation/{id}`` for the rest);
  ``PATCH`` answers an empty body. Filters: code, type, email, name, contact, city.
- ledger: ``{"id", "code", "description", "category", "group"}``, code ≤ 10, description ≤ 100; the list item
  leaves out ``group``. Filters: code, category.
[I]: a relation without ``type`` becomes B (the vendor sample creates one without it); a generated code is
``R`` + the id in four digits (the samples pair id 123 with "R0123", id 1 with "R0001"), the next free one if
taken; a duplicate relation or ledger code is refused (REL_901 / LED_901, the sandbox's codes); ids are
integers from one counter per sandbox, so a ledger's id never equals its code and differs per administration.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from devkit.sandboxes.eboekhouden.chart import DEFAULT_CHART, LEDGER_CATEGORIES
from devkit.sandboxes.eboekhouden.wire import integer, invalid, not_found

RELATION_FIELDS = (
    "type",
    "code",
    "name",
    "salutation",
    "contact",
    "gender",
    "address",
    "postalCode",
    "city",
    "country",
    "address2",
    "postalCode2",
    "city2",
    "country2",
    "phoneNumber",
    "mobilePhoneNumber",
    "faxNumber",
    "emailAddress",
    "emailAddressInvoice",
    "emailAddressReminder",
    "website",
    "note",
    "vatNumber",
    "inactive",
    "termOfPayment",
    "companyRegistrationNumber",
    "iban",
    "bic",
    *(f"freeText{n}" for n in range(1, 11)),
    "doNotReceiveNewsletters",
    "ledgerId",
    "mandate",
    "mandateType",
    "mandateId",
    "mandateSignedDate",
    "peppolId",
)
MAX_LENGTH = {"name": 100, "code": 15, "emailAddress": 150, "emailAddressInvoice": 150, "address": 150}
RELATION_FILTERS = {
    "code": ("code", "text"),
    "type": ("type", "text"),
    "email": ("emailAddress", "text"),
    "name": ("name", "text"),
    "contact": ("contact", "text"),
    "city": ("city", "text"),
}
LEDGER_FILTERS = {"code": ("code", "text"), "category": ("category", "text"), "id": ("id", "int")}


@dataclass
class Ids:
    """Database ids shared by every administration in one sandbox (they start high: never a ledger code)."""

    ledgers: itertools.count[int] = field(default_factory=lambda: itertools.count(41_207))
    relations: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


@dataclass
class Administration:
    name: str
    ids: Ids
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    relations: dict[int, dict[str, Any]] = field(default_factory=dict)
    ledgers: dict[int, dict[str, Any]] = field(default_factory=dict)
    mutations: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_mutation: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def seeded(cls, name: str, ids: Ids) -> Administration:
        admin = cls(name, ids)
        for code, description, category in DEFAULT_CHART:
            admin.create_ledger({"code": code, "description": description, "category": category})
        return admin

    # -- relations ------------------------------------------------------------------------------------------------
    def relation(self, ident: int, code: str | None = None) -> dict[str, Any]:
        if ident not in self.relations:
            if code:
                raise invalid(code, f"Relation {ident} does not exist")
            raise not_found("Relation", ident)
        return self.relations[ident]

    def create_relation(self, body: Any, today: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid("REL_900", "The request body must be a relation object")
        values = {name: body.get(name) for name in RELATION_FIELDS}
        values["type"] = values["type"] or "B"
        self._check_relation(values, ident=None)
        ident = next(self.ids.relations)
        values["code"] = values["code"] or self._free_code(ident)
        relation = {"id": ident, "date": today, **values, "inactive": bool(values["inactive"])}
        self.relations[ident] = relation
        return relation

    def patch_relation(self, ident: int, body: Any) -> None:
        relation = self.relation(ident)
        if not isinstance(body, dict):
            raise invalid("REL_900", "The request body must be a relation object")
        changes = {name: body[name] for name in RELATION_FIELDS if name in body}
        merged = {**relation, **changes}
        self._check_relation(merged, ident=ident)
        relation.update(changes)

    def _check_relation(self, values: dict[str, Any], ident: int | None) -> None:
        if not isinstance(values.get("name"), str) or not values["name"].strip():
            raise invalid("REL_902", "Name is required")
        if values.get("type") not in {"B", "P"}:
            raise invalid("REL_903", "Type must be B (business) or P (private)")
        for name, limit in MAX_LENGTH.items():
            if isinstance(values.get(name), str) and len(values[name]) > limit:
                raise invalid("REL_904", f"{name} may be at most {limit} characters")
        code = values.get("code")
        if code and any(r["code"].casefold() == str(code).casefold() for r in self._others(ident)):
            raise invalid("REL_901", f"A relation with code {code} already exists")
        if values.get("ledgerId") is not None:
            self.ledger(integer(values["ledgerId"], "ledgerId", "REL_905"), code="REL_905")

    def _others(self, ident: int | None) -> list[dict[str, Any]]:
        return [r for r in self.relations.values() if r["id"] != ident]

    def _free_code(self, ident: int) -> str:
        taken = {r["code"].casefold() for r in self.relations.values()}
        number = ident
        while f"r{number:04d}" in taken:
            number += 1
        return f"R{number:04d}"

    # -- ledgers --------------------------------------------------------------------------------------------------
    def ledger(self, ident: int, code: str | None = None) -> dict[str, Any]:
        if ident not in self.ledgers:
            if code:
                raise invalid(code, f"Ledger {ident} does not exist")
            raise not_found("Ledger", ident)
        return self.ledgers[ident]

    def ledger_by_code(self, code: str) -> dict[str, Any]:
        for ledger in self.ledgers.values():
            if ledger["code"] == code:
                return ledger
        raise KeyError(f"no ledger with code {code!r}")

    def create_ledger(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid("LED_900", "The request body must be a ledger object")
        values = {"code": body.get("code"), "description": body.get("description")}
        values["category"] = body.get("category") or "BAL"
        values["group"] = body.get("group")
        self._check_ledger(values, ident=None)
        ident = next(self.ids.ledgers)
        ledger = {"id": ident, **values}
        self.ledgers[ident] = ledger
        return ledger

    def patch_ledger(self, ident: int, body: Any) -> None:
        ledger = self.ledger(ident)
        if not isinstance(body, dict):
            raise invalid("LED_900", "The request body must be a ledger object")
        changes = {name: body[name] for name in ("code", "description", "category", "group") if name in body}
        self._check_ledger({**ledger, **changes}, ident=ident)
        ledger.update(changes)

    def _check_ledger(self, values: dict[str, Any], ident: int | None) -> None:
        code, description = values.get("code"), values.get("description")
        if not isinstance(code, str) or not code.strip() or len(code) > 10:
            raise invalid("LED_902", "Code is required and may be at most 10 characters")
        if not isinstance(description, str) or not description.strip() or len(description) > 100:
            raise invalid("LED_903", "Description is required and may be at most 100 characters")
        if values.get("category") not in LEDGER_CATEGORIES:
            raise invalid("LED_904", f"Category must be one of {', '.join(sorted(LEDGER_CATEGORIES))}")
        if any(other["code"] == code for other in self.ledgers.values() if other["id"] != ident):
            raise invalid("LED_901", f"A ledger with code {code} already exists")

    def delete_ledger(self, code: str) -> None:
        del self.ledgers[self.ledger_by_code(code)["id"]]


def relation_list_item(relation: dict[str, Any]) -> dict[str, Any]:
    return {"id": relation["id"], "type": relation["type"], "code": relation["code"]}


def ledger_list_item(ledger: dict[str, Any]) -> dict[str, Any]:
    return {key: ledger[key] for key in ("id", "code", "description", "category")}
