"""Billy as one side of a two-way record sync (``contract.RecordSide``): organizations (contacts of type company),
contacts (type person) and products, in canonical fields (fields.py translates).

Billy has no change feed: no ``updatedTime`` on any record and no changed-since filter [V by absence,
https://www.billy.dk/api/]. So ``changed_records`` lists every record of the kind, 1,000 to a page, and says the
listing is complete; Koppel compares each record with what it saw last. Natural keys are matched here, on the
listing, because Billy documents no filter on a VAT number, an e-mail or a product number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from koppel.connectors.billy import fields as vendor
from koppel.errors import PermanentError
from koppel.records import RecordChanges, SyncRecord, full_name, lookup_keys

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from koppel.connectors.billy.client import BillyClient
    from koppel.connectors.billy.settings import BillySettings
    from koppel.records import RecordKind


class BillyRecordSide:
    """The record-sync half of ``BillyTarget``."""

    client: BillyClient
    settings: BillySettings

    def record_fields(self, kind: RecordKind) -> frozenset[str]:
        return vendor.HELD.get(kind, frozenset())

    def changed_records(self, kind: RecordKind, since: datetime | None) -> RecordChanges:
        """Every record of the kind (Billy cannot say what changed since a moment)."""
        return RecordChanges(records=self._all(kind), complete=True)

    def read_record(self, kind: RecordKind, ident: str) -> SyncRecord | None:
        found = self.client.get_one(vendor.PLURAL[kind], ident, vendor.INCLUDE[kind])
        if found is None or not vendor.is_kind(kind, found):
            return None
        return vendor.to_record(kind, found, self.settings.organization_currency)

    def find_record(self, kind: RecordKind, record: SyncRecord) -> SyncRecord | None:
        """By the record's natural keys, strongest first (``records.lookup_keys``), on Billy's listing."""
        keys = [(name, value) for name, value in lookup_keys(record) if name in vendor.HELD[kind] or name == "name"]
        if not keys and full_name(record):  # its stronger keys are ones Billy does not hold (a registration number)
            keys = [("name", full_name(record))]
        if not keys:
            return None
        listed = self._all(kind)
        for name, value in keys:
            for held in listed:
                if (full_name(held) if name == "name" else held.value(name)).casefold() == value.casefold():
                    return held
        return None

    def create_record(self, kind: RecordKind, fields: Mapping[str, str]) -> SyncRecord:
        plural = vendor.PLURAL[kind]
        if kind == "product":
            body = vendor.product_changes(fields, {}, self.settings.organization_currency)
            body = {key: value for key, value in body.items() if value not in (None, [])}
            if self.settings.sales_account_id:
                body["accountId"] = self.settings.sales_account_id
        else:
            body = vendor.new_contact(kind, fields, self.settings.organization_country)
        answer = self.client.write("POST", plural, body)
        rows = answer.get(plural) or []
        if not rows or not isinstance(rows[0], dict) or "id" not in rows[0]:
            raise PermanentError(f"Billy answered POST /v2/{plural} without the record it saved")
        return self._reread(kind, str(rows[0]["id"]))

    def update_record(self, kind: RecordKind, ident: str, fields: Mapping[str, str]) -> SyncRecord:
        """Only ``fields`` are written ('' empties one); the whole record is read back as Billy now holds it."""
        plural = vendor.PLURAL[kind]
        current = self.client.get_one(plural, ident, vendor.INCLUDE[kind])
        if current is None or not vendor.is_kind(kind, current):
            raise PermanentError(f"Billy holds no {kind} {ident} any more (deleted there)")
        if kind == "product":
            body = vendor.product_changes(fields, current, self.settings.organization_currency)
        else:
            body = vendor.contact_changes(kind, fields, current)
        if body:
            self.client.write("PUT", plural, body, ident)
        if kind != "product" and "email" in fields:
            self._set_email(kind, current, fields["email"])
        return self._reread(kind, ident)

    # -- plumbing -------------------------------------------------------------------------------------------------
    def _all(self, kind: RecordKind) -> list[SyncRecord]:
        params = {"include": vendor.INCLUDE[kind]}
        if kind != "product":
            params["type"] = vendor.CONTACT_TYPE[kind]  # a hint: the type is checked again below
        rows = self.client.list_all(vendor.PLURAL[kind], params)
        currency = self.settings.organization_currency
        return [vendor.to_record(kind, row, currency) for row in rows if vendor.is_kind(kind, row)]

    def _reread(self, kind: RecordKind, ident: str) -> SyncRecord:
        record = self.read_record(kind, ident)
        if record is None:
            raise PermanentError(f"Billy does not show the {kind} {ident} it just saved")
        return record

    def _set_email(self, kind: RecordKind, contact: Mapping[str, object], email: str) -> None:
        """The primary contact person's e-mail: changed, added as a new primary person, or emptied (a person with
        neither name nor e-mail is removed: Billy keeps no such person)."""
        person = vendor.primary_person(contact)
        if person is None and email:
            body = {"contactId": contact["id"], "email": email, "isPrimary": True}
            if kind == "contact" and contact.get("name"):
                body["name"] = contact["name"]
            self.client.write("POST", "contactPersons", body)
        elif person is not None and (email or person.get("name")):
            self.client.write("PUT", "contactPersons", {"email": email or None}, str(person["id"]))
        elif person is not None:
            self.client.call("DELETE", f"/contactPersons/{person['id']}")
