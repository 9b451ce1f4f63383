"""One QuickBooks Online company (realm): its entities, their SyncTokens and MetaData, a change log for CDC and
webhooks, and the rules of the name lists (Customer, Vendor, Employee, Item, Account, Term).

- Ids are per entity type and numeric strings; ``SyncToken`` starts at "0" and rises on every change; a write
  that carries an older one is refused with 5010 (Stale Object Error) [V: code and wording, public issues].
- ``DisplayName`` is unique across Customer, Vendor and Employee together: 6240 "Duplicate Name Exists Error"
  (the recorded answer; its Detail names the kind that holds the name [I: the 2014 recording shows the
  template ``$$customer$$``]). Compared case-insensitively and trimmed [I]. Item and Account names are unique
  within their own list.
- A Vendor's ``TaxIdentifier`` is written but read back masked, all but its last four characters as ``X`` [I:
  as clients report for US tax ids]: it cannot be looked up by, nor queried (it is not filterable [V]).
- Name lists cannot be deleted, only made inactive (``Active: false``); delete answers the recorded
  "Unsupported operation requested" fault [I].
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.quickbooks import seed
from devkit.sandboxes.quickbooks.wire import (
    Fault,
    invalid_reference,
    not_found,
    qbo_time,
    required,
    stale,
    unsupported,
    validation,
)

if TYPE_CHECKING:
    from datetime import datetime

NAME_LISTS = ("Customer", "Vendor", "Employee")
TRANSACTIONS = ("Invoice", "Payment", "CreditMemo", "Bill", "VendorCredit", "BillPayment")
ENTITIES = (
    *NAME_LISTS, "Item", "Account", "Term", "TaxCode", "TaxRate", *TRANSACTIONS, "Attachable", "CompanyInfo",
    "Preferences",
)  # fmt: skip
READ_ONLY = ("TaxCode", "TaxRate", "CompanyInfo", "Preferences")
KIND_WORDS = {"Customer": "customer", "Vendor": "vendor", "Employee": "employee"}


@dataclass(frozen=True)
class Change:
    entity: str
    ident: str
    operation: str  # Create | Update | Delete | Void
    at: datetime


@dataclass
class Company:
    realm: str
    name: str
    country: str = "GB"
    currency: str = "GBP"
    multicurrency: bool = False
    rows: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    deleted: dict[str, dict[str, datetime]] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    replies: dict[str, tuple[int, Any]] = field(default_factory=dict)  # requestid -> (status, body)
    files: dict[str, bytes] = field(default_factory=dict)  # Attachable id -> the uploaded bytes

    @classmethod
    def seeded(cls, realm: str, name: str, now: datetime, vat_codes: Any = None, **options: Any) -> Company:
        company = cls(realm, name, **options)
        company.seed(now, vat_codes)
        return company

    def seed(self, now: datetime, vat_codes: Any = None) -> None:
        tax_codes, tax_rates = seed.tax_rows(vat_codes or seed.UK_VAT_CODES)
        singles = seed.company_rows(self.realm, self.name, self.country, self.currency, self.multicurrency)
        groups = {
            "TaxCode": tax_codes,
            "TaxRate": tax_rates,
            "Account": seed.account_rows(self.currency),
            "Item": seed.item_rows(),
            "Term": seed.term_rows(),
            "CompanyInfo": [singles["CompanyInfo"]],
            "Preferences": [singles["Preferences"]],
        }
        for entity, rows in groups.items():
            for row in rows:
                self.insert(entity, row, now, log=False)

    # -- generic rows ------------------------------------------------------------------------------------------
    def table(self, entity: str) -> dict[str, dict[str, Any]]:
        return self.rows.setdefault(entity, {})

    def get(self, entity: str, ident: Any) -> dict[str, Any]:
        row = self.table(entity).get(str(ident))
        if row is None:
            raise not_found(entity, ident)
        return row

    def ref(self, entity: str, value: Any, element: str) -> dict[str, Any]:
        """The row a ``{"value": id}`` reference points at, active; else 2500 Invalid Reference Id."""
        ident = value.get("value") if isinstance(value, dict) else None
        if not ident:
            raise required(element)
        row = self.table(entity).get(str(ident))
        if row is None or row.get("Active") is False:
            raise invalid_reference(entity, ident, element)
        return row

    def next_id(self, entity: str) -> str:
        used = [int(i) for i in (*self.table(entity), *self.deleted.get(entity, {})) if i.isdigit()]
        return str(max(used, default=0) + 1)

    def insert(self, entity: str, row: dict[str, Any], now: datetime, *, log: bool = True) -> dict[str, Any]:
        ident = str(row.get("Id") or self.next_id(entity))
        stamp = qbo_time(now)
        stored = {"domain": "QBO", "sparse": False, **row, "Id": ident, "SyncToken": "0"}
        stored["MetaData"] = {"CreateTime": stamp, "LastUpdatedTime": stamp}
        self.table(entity)[ident] = stored
        if log:
            self.changes.append(Change(entity, ident, "Create", now))
        return stored

    def check_token(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        """The row an update/delete/void names, if the caller holds its latest SyncToken."""
        if not body.get("Id"):
            raise required("Id")
        row = self.get(entity, body["Id"])
        if "SyncToken" not in body:
            raise required("SyncToken")
        if str(body["SyncToken"]) != row["SyncToken"]:
            raise stale(row["Id"])
        return row

    def touch(self, entity: str, row: dict[str, Any], now: datetime, operation: str = "Update") -> dict[str, Any]:
        row["SyncToken"] = str(int(row["SyncToken"]) + 1)
        row["MetaData"]["LastUpdatedTime"] = qbo_time(now)
        self.changes.append(Change(entity, row["Id"], operation, now))
        return row

    def replace(self, entity: str, old: dict[str, Any], new: dict[str, Any], now: datetime) -> dict[str, Any]:
        keep = {k: old[k] for k in ("Id", "SyncToken", "MetaData", "domain")}
        old.clear()
        old.update({**new, **keep, "sparse": False})
        return self.touch(entity, old, now)

    def remove(self, entity: str, ident: str, now: datetime) -> dict[str, Any]:
        row = self.table(entity).pop(ident)
        self.deleted.setdefault(entity, {})[ident] = now
        self.changes.append(Change(entity, ident, "Delete", now))
        return row

    # -- name lists --------------------------------------------------------------------------------------------
    def name_holder(self, display_name: str, entity: str, ident: str | None = None) -> str | None:
        """The kind (Customer/Vendor/Employee) already using a DisplayName, or the same list for Item/Account."""
        wanted = display_name.strip().casefold()
        kinds = NAME_LISTS if entity in NAME_LISTS else (entity,)
        key = "DisplayName" if entity in NAME_LISTS else "Name"
        for kind in kinds:
            for row in self.table(kind).values():
                if str(row.get(key, "")).strip().casefold() == wanted and (kind, row["Id"]) != (entity, ident):
                    return kind
        return None

    def prepare_name(self, entity: str, body: dict[str, Any], ident: str | None = None) -> dict[str, Any]:
        """Check and complete a name-list row (create or full update)."""
        if entity in READ_ONLY:
            raise unsupported(f"Create or update of {entity} is not supported")
        row = copy.deepcopy(body)
        row.pop("sparse", None)
        key = "DisplayName" if entity in NAME_LISTS else "Name"
        if entity in NAME_LISTS and not row.get(key):
            parts = [row.get(k) for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")]
            row[key] = " ".join(str(p) for p in parts if p) or row.get("CompanyName") or ""
        if not str(row.get(key) or "").strip():
            raise required(key)
        holder = self.name_holder(str(row[key]), entity, ident)
        if holder:
            what = KIND_WORDS.get(holder, "product or service" if entity == "Item" else entity.lower())
            detail = f"The name supplied already exists. : Another {what} is already using this name. "
            raise Fault(400, "ValidationFault", ("6240", "Duplicate Name Exists Error", detail + _USE_OTHER, ""))
        row.setdefault("Active", True)
        return self._complete(entity, row)

    def _complete(self, entity: str, row: dict[str, Any]) -> dict[str, Any]:
        if entity in NAME_LISTS:
            row.setdefault("FullyQualifiedName", row["DisplayName"])
            row.setdefault("PrintOnCheckName", row["DisplayName"])
        if entity == "Customer":
            for key, value in (("Job", False), ("BillWithParent", False), ("Taxable", True)):
                row.setdefault(key, value)
            row.setdefault("Balance", 0)
            row.setdefault("BalanceWithJobs", 0)
            row.setdefault("CurrencyRef", seed.currency_ref(self.currency))
        if entity == "Vendor":
            row.setdefault("Balance", 0)
            row.setdefault("Vendor1099", False)
            row.setdefault("CurrencyRef", seed.currency_ref(self.currency))
            if row.get("TaxIdentifier"):  # read back masked, but for its last four [I]
                tax_id = str(row["TaxIdentifier"])
                row["TaxIdentifier"] = "X" * max(len(tax_id) - 4, 0) + tax_id[-4:]
        if entity == "Item":
            row.setdefault("Type", "Service")
            row.setdefault("FullyQualifiedName", row["Name"])
            if row["Type"] in ("Service", "NonInventory"):
                self.ref("Account", row.get("IncomeAccountRef"), "IncomeAccountRef")
        if entity == "Account" and not row.get("AccountType"):
            raise required("AccountType")
        if entity == "Term" and row.get("DueDays") is not None and int(row["DueDays"]) < 0:
            raise validation("2040", "Invalid Number", "DueDays must not be negative", "DueDays")
        return row


_USE_OTHER = "Please use a different name."
