"""Simply CRM as one side of a two-way record sync (``RecordSide``): organizations (``Accounts``), contacts and
products in canonical fields, with the connection's mapping (``fields.field_map``). Changes come from vtiger's
``sync`` (deletions included); a record is found by its natural keys with ``query``. README.md has the API facts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from koppel.connectors.pipedrive.fields import country_code
from koppel.connectors.simplycrm.fields import MODULES, check_mapping, field_map, moment, text, webservice_id
from koppel.errors import MappingError
from koppel.records import RecordChanges, SyncRecord, full_name, lookup_keys

if TYPE_CHECKING:
    from collections.abc import Mapping

    from koppel.connectors.simplycrm.client import SimplyCrmClient
    from koppel.connectors.simplycrm.settings import SimplyCrmSettings
    from koppel.records import RecordKind


def quoted(value: str) -> str:
    """A VTQL string literal: single quotes, a quote or backslash inside escaped with a backslash."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def to_record(kind: RecordKind, row: Mapping[str, Any], mapped: Mapping[str, str]) -> SyncRecord:
    """A vtiger record in canonical fields; a country name (vtiger's country fields are free text) as its code."""
    fields = {canonical: text(row, name) for canonical, name in mapped.items()}
    if fields.get("country_code"):
        fields["country_code"] = country_code(fields["country_code"]) or fields["country_code"]
    record = SyncRecord(kind=kind, ident=text(row, "id"), fields=fields, changed_at=moment(row.get("modifiedtime")))
    return record.model_copy(update={"label": full_name(record) or record.value("product_number") or record.ident})


class SimplyCrmRecords:
    """``RecordSide`` for organizations, contacts and products."""

    def __init__(self, client: SimplyCrmClient, settings: SimplyCrmSettings) -> None:
        self.client = client
        self.settings = settings
        self._checked: set[RecordKind] = set()

    def describe(self, module: str) -> Mapping[str, Any]:
        """vtiger's ``describe`` (so ``check_mapping`` takes the source itself)."""
        return self.client.describe(module)

    def mapped(self, kind: RecordKind) -> dict[str, str]:
        """The kind's mapping; a custom one is checked against ``describe`` before it is used."""
        names = field_map(self.settings, kind)
        if self.settings.mapping == "custom" and kind in self.settings.fields and kind not in self._checked:
            problems = check_mapping(self.client, {kind: names})
            if problems:
                raise MappingError(f"the custom Simply CRM mapping of {kind} cannot be used: {'; '.join(problems)}")
            self._checked.add(kind)
        return names

    def mapping_problems(self) -> list[str]:
        """The connection's mapping (standard or custom) of every module against Simply CRM's ``describe``: run when
        the credentials are saved, so a mapping that cannot work is refused then, not at the first sync."""
        return check_mapping(self.client, {kind: field_map(self.settings, kind) for kind in MODULES})

    def record_fields(self, kind: RecordKind) -> frozenset[str]:
        return frozenset(self.mapped(kind))

    def changed_records(self, kind: RecordKind, since: datetime | None) -> RecordChanges:
        mapped = self.mapped(kind)
        found: dict[str, SyncRecord] = {}
        deleted: list[str] = []
        until = since
        for answer in self.client.sync(MODULES[kind], since):
            for row in answer.get("updated") or []:
                if isinstance(row, dict) and text(row, "id"):
                    found[text(row, "id")] = to_record(kind, row, mapped)
            deleted += [str(ident) for ident in answer.get("deleted") or [] if webservice_id(ident)]
            until = datetime.fromtimestamp(int(str(answer.get("lastModifiedTime") or 0)), UTC)
        gone = set(deleted)
        return RecordChanges([r for r in found.values() if r.ident not in gone], sorted(gone), until=until)

    def read_record(self, kind: RecordKind, ident: str) -> SyncRecord | None:
        ident = webservice_id(ident)  # as vtiger writes it, or "" for no id at all
        if not self._is_of(kind, ident):
            return None
        row = self.client.retrieve(ident)
        return to_record(kind, row, self.mapped(kind)) if row is not None else None

    def find_record(self, kind: RecordKind, record: SyncRecord) -> SyncRecord | None:
        """By the natural keys, strongest first: an organization's VAT number, e-mail, name; a contact's e-mail,
        name; a product's number, name (each only where the mapping holds it)."""
        mapped = self.mapped(kind)
        for key, value in lookup_keys(record):
            if kind == "contact" and key == "name":
                parts = [(mapped.get(n, ""), record.value(n)) for n in ("first_name", "last_name")]
                conditions = [(name, part) for name, part in parts if name and part]
            else:
                conditions = [(mapped[key], value)] if mapped.get(key) else []
            if not conditions:
                continue
            where = " AND ".join(f"{name} = {quoted(part)}" for name, part in conditions)
            # vtiger's query language, not SQL: the module is ours, every field name is one ``describe`` lists (the
            # mapping is checked before use) and every value went through ``quoted``
            row = next(self.client.query(f"SELECT * FROM {MODULES[kind]} WHERE {where}"), None)  # nosec B608
            if row is not None:
                return to_record(kind, row, mapped)
        return None

    def create_record(self, kind: RecordKind, fields: Mapping[str, str]) -> SyncRecord:
        """Created with the connected user as its owner (vtiger requires one)."""
        mapped = self.mapped(kind)
        element = {**self._element(kind, fields, mapped), "assigned_user_id": self.client.user_id()}
        return to_record(kind, self.client.create(MODULES[kind], element), mapped)

    def update_record(self, kind: RecordKind, ident: str, fields: Mapping[str, str]) -> SyncRecord:
        """vtiger's ``revise`` with only the given fields; the whole record as vtiger answers it."""
        mapped = self.mapped(kind)
        element = self._element(kind, fields, mapped)
        row = self.client.revise({"id": ident, **element}) if element else self.client.retrieve(ident)
        if row is None:
            raise MappingError(f"Simply CRM no longer has {kind} {ident}")
        return to_record(kind, row, mapped)

    def _element(self, kind: RecordKind, fields: Mapping[str, str], mapped: Mapping[str, str]) -> dict[str, str]:
        """The given fields in vtiger's names, without those Simply CRM numbers itself (read-only)."""
        specs = {str(f.get("name")): f for f in self.client.describe(MODULES[kind]).get("fields") or []}
        element = {}
        for canonical, value in fields.items():
            name = mapped.get(canonical)
            if name and specs.get(name, {}).get("editable") is not False:
                element[name] = value
        return element

    def _is_of(self, kind: RecordKind, ident: str) -> bool:
        prefix = str(self.client.describe(MODULES[kind]).get("idPrefix") or "")
        return bool(webservice_id(ident)) and (not prefix or ident.partition("x")[0] == prefix)
