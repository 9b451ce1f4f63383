"""The CRM's records: one crmid sequence shared by all modules (vtiger_crmentity), per-module record numbers
(CON1, ACC1, PRO1, INV1 [V, DefaultDataPopulator ``modseq``]), soft deletes that bump ``modifiedtime``
(``UPDATE vtiger_crmentity SET deleted=1, modifiedtime=?`` [V, data/CRMEntity.php]) and custom fields
``cf_NNN`` appended before ``id`` as in the recorded describe [V shape; numbering I].

Records are kept as vtiger returns them: every value a string. Hidden bookkeeping keys start with ``_``.
"""

from __future__ import annotations

import itertools
from typing import Any

from devkit.sandboxes.simplycrm.schema import Field, Module, all_modules
from devkit.sandboxes.simplycrm.wire import timestamp

HIDDEN = ("_mtime", "_deleted", "_owner")


def visible(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


class Store:
    def __init__(self) -> None:
        self._fresh()

    def _fresh(self) -> None:
        self.modules: dict[str, Module] = all_modules()
        self.records: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in self.modules}
        self.lines: dict[int, list[dict[str, Any]]] = {}
        self._crmid = itertools.count(1)
        self._numbers: dict[str, itertools.count[int]] = {}
        self._custom = itertools.count(701)
        self._line_id = 1

    def clear(self) -> None:
        users = self.records["Users"]
        self._fresh()
        self.records["Users"] = users

    # -- ids ---------------------------------------------------------------------------------------------------
    def next_crmid(self) -> int:
        return next(self._crmid)

    def next_number(self, module: Module) -> str:
        counter = self._numbers.setdefault(module.name, itertools.count(1))
        return f"{module.number_prefix}{next(counter)}"

    def take_line_ids(self, count: int) -> int:
        first, self._line_id = self._line_id, self._line_id + count
        return first

    def module_of(self, webservice_id: str) -> tuple[Module, int] | None:
        prefix, _, number = str(webservice_id).partition("x")
        module = next((m for m in self.modules.values() if m.id_prefix == prefix), None)
        if module is None or not number.isdigit():
            return None
        return module, int(number)

    # -- records -----------------------------------------------------------------------------------------------
    def live(self, module: str) -> list[dict[str, Any]]:
        return [r for r in self.records[module].values() if not r.get("_deleted")]

    def get(self, webservice_id: str) -> dict[str, Any] | None:
        found = self.module_of(webservice_id)
        if found is None:
            return None
        record = self.records[found[0].name].get(found[1])
        return None if record is None or record.get("_deleted") else record

    def put(self, module: Module, crmid: int, record: dict[str, Any]) -> None:
        self.records[module.name][crmid] = record

    def touch(self, record: dict[str, Any], now: float, user_id: str) -> None:
        record["modifiedtime"] = timestamp(now)
        record["modifiedby"] = user_id
        record["_mtime"] = int(now)

    def delete(self, webservice_id: str, now: float, user_id: str) -> None:
        record = self.get(webservice_id)
        if record is not None:
            record["_deleted"] = True
            self.touch(record, now, user_id)
            self.lines.pop(int(webservice_id.partition("x")[2]), None)

    # -- fields ------------------------------------------------------------------------------------------------
    def add_custom_field(self, module: str, label: str, type_name: str = "string", places: int | None = None) -> str:
        spec = Field(f"cf_{next(self._custom)}", label, type_name, places=places)
        fields = self.modules[module].fields
        fields.insert(len(fields) - 1, spec)  # before "id", as vtiger lists them
        for record in self.records[module].values():
            record.setdefault(spec.name, "")
        return spec.name
