"""The sandbox's data: companies, users, persons, organizations, products, deals, deal products, deal fields.

Records are kept as the v2 API renders them (``data`` of ``GET /api/v2/<entity>/{id}``), money as Decimal.
Shapes [V] from the v2 OpenAPI as generated into pipedrive/client-nodejs (models ``deal``,
``get-deals-products-response-data-inner*``, ``organization-item*``, ``add-person-request*``) and the spec
examples quoted by third parties. Contact Sync person fields (notes, im, birthday, job_title, postal_address)
and the optional organization fields (website, industry, …) are left out: they appear only when the
account has those features [V]. Deal products are built in products.py. A deal's ``value`` follows the sum
of its products [I].
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

PLAN_MULTIPLIER = {"lite": 1, "growth": 2, "premium": 5, "ultimate": 7}
DEAL_WRITABLE = [
    "title",
    "owner_id",
    "person_id",
    "org_id",
    "pipeline_id",
    "stage_id",
    "value",
    "currency",
    "is_archived",
    "archive_time",
    "status",
    "probability",
    "lost_reason",
    "visible_to",
    "close_time",
    "won_time",
    "lost_time",
    "expected_close_date",
    "label_ids",
    "custom_fields",
]


def money(value: Decimal | int | str) -> Decimal:
    if isinstance(value, float):
        raise TypeError("amounts are Decimal, int or str, never float")
    return Decimal(value)


@dataclass
class User:
    id: int
    company_id: int
    name: str
    email: str


@dataclass
class Company:
    id: int
    name: str
    domain: str
    plan: str = "growth"
    seats: int = 1
    daily_budget: int | None = None  # overrides 30,000 × plan multiplier × seats
    users: dict[int, User] = field(default_factory=dict)
    initial_daily_budget: int | None = None

    def __post_init__(self) -> None:
        self.initial_daily_budget = self.daily_budget

    @property
    def budget(self) -> int:
        if self.daily_budget is not None:
            return self.daily_budget
        return 30000 * PLAN_MULTIPLIER[self.plan] * self.seats

    @property
    def host(self) -> str:
        return f"{self.domain}.pipedrive.com"


def field_key(company_id: int, name: str, serial: int) -> str:
    """A 40-character hex key like Pipedrive's custom field keys (different per account) [V format]."""
    return hashlib.sha1(f"{company_id}:{name}:{serial}".encode(), usedforsecurity=False).hexdigest()


class Store:
    """All records of one sandbox, per company; ids count on like Pipedrive's (one sequence per entity)."""

    def __init__(self) -> None:
        self.companies: dict[int, Company] = {}
        self.persons: dict[int, dict[str, Any]] = {}
        self.organizations: dict[int, dict[str, Any]] = {}
        self.products: dict[int, dict[str, Any]] = {}
        self.deals: dict[int, dict[str, Any]] = {}
        self.deal_products: dict[int, dict[str, Any]] = {}
        self.deal_fields: dict[int, dict[str, Any]] = {}
        self.owner: dict[tuple[str, int], int] = {}  # (entity, id) -> company id
        self._ids = {"company": 15747574, "user": 26510408, "person": 170, "organization": 120, "product": 40}
        self._ids |= {"deal": 170, "deal_product": 900, "field": 12500, "webhook": 1872700}

    def next_id(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def clear_data(self) -> None:
        for table in (self.persons, self.organizations, self.products, self.deals, self.deal_products):
            table.clear()
        self.deal_fields = {k: v for k, v in self.deal_fields.items() if not v["edit_flag"]}
        self.owner = {k: v for k, v in self.owner.items() if k[0] == "field" and k[1] in self.deal_fields}

    def table(self, entity: str) -> dict[int, dict[str, Any]]:
        return {
            "person": self.persons,
            "organization": self.organizations,
            "product": self.products,
            "deal": self.deals,
            "deal_product": self.deal_products,
            "field": self.deal_fields,
        }[entity]

    def find(self, entity: str, ident: int, company_id: int) -> dict[str, Any] | None:
        record = self.table(entity).get(ident)
        if record is None or self.owner.get((entity, ident)) != company_id:
            return None
        return record

    def put(self, entity: str, record: dict[str, Any], company_id: int) -> dict[str, Any]:
        self.table(entity)[record["id"]] = record
        self.owner[(entity, record["id"])] = company_id
        return record

    # -- builders (v2 shapes) --------------------------------------------------------------------------------
    def new_person(
        self,
        company_id: int,
        owner_id: int,
        name: str,
        emails: list[dict[str, Any]],
        phones: list[dict[str, Any]],
        org_id: int | None,
        now: datetime,
    ) -> dict[str, Any]:
        first, _, last = name.partition(" ")
        record: dict[str, Any] = {
            "id": self.next_id("person"),
            "name": name,
            "first_name": first,
            "last_name": last,
            "owner_id": owner_id,
            "org_id": org_id,
            "add_time": now,
            "update_time": now,
            "emails": contacts(emails),
            "phones": contacts(phones),
            "is_deleted": False,
            "visible_to": 3,
            "label_ids": [],
            "picture_id": None,
            "custom_fields": {},
        }
        return self.put("person", record, company_id)

    def new_organization(
        self, company_id: int, owner_id: int, name: str, address: dict[str, Any] | None, now: datetime
    ) -> dict[str, Any]:
        parts = [
            "value",
            "country",
            "admin_area_level_1",
            "admin_area_level_2",
            "locality",
            "sublocality",
            "route",
            "street_number",
            "subpremise",
            "postal_code",
        ]
        given = address or {}
        full = {part: given.get(part) for part in parts}
        if full["value"] is None and given:
            street = " ".join(p for p in (given.get("route"), given.get("street_number")) if p)
            town = " ".join(p for p in (given.get("postal_code"), given.get("locality")) if p)
            full["value"] = ", ".join(p for p in (street, town, given.get("country")) if p)
        full["formatted_address"] = full["value"]
        record: dict[str, Any] = {
            "id": self.next_id("organization"),
            "name": name,
            "owner_id": owner_id,
            "add_time": now,
            "update_time": now,
            "is_deleted": False,
            "visible_to": 3,
            "address": full if given else None,
            "label_ids": [],
            "custom_fields": {},
        }
        return self.put("organization", record, company_id)

    def new_product(
        self,
        company_id: int,
        owner_id: int,
        name: str,
        code: str | None,
        price: Decimal,
        currency: str,
        tax: Decimal,
        now: datetime,
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": self.next_id("product"),
            "name": name,
            "code": code,
            "description": None,
            "unit": None,
            "tax": tax,
            "category": None,
            "owner_id": owner_id,
            "is_linkable": True,
            "is_deleted": False,
            "visible_to": 3,
            "prices": [
                {
                    "product_id": 0,
                    "price": price,
                    "currency": currency,
                    "cost": Decimal(0),
                    "direct_cost": None,
                    "notes": "",
                }
            ],
            "billing_frequency": "one-time",
            "billing_frequency_cycles": None,
            "add_time": now,
            "update_time": now,
            "custom_fields": {},
        }
        record["prices"][0]["product_id"] = record["id"]
        return self.put("product", record, company_id)

    def products_of(self, deal_id: int) -> list[dict[str, Any]]:
        return sorted((p for p in self.deal_products.values() if p["deal_id"] == deal_id), key=lambda p: p["id"])

    def deal_value(self, deal_id: int) -> Decimal:
        return sum((p["sum"] for p in self.products_of(deal_id) if p["is_enabled"]), Decimal(0))


def contacts(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = [
        {"value": i["value"], "primary": bool(i.get("primary", False)), "label": i.get("label", "work")} for i in items
    ]
    if out and not any(i["primary"] for i in out):
        out[0]["primary"] = True  # the first becomes primary when none is [V, v2 spec]
    return out
