"""An in-memory Odoo ORM: records per model and the generic methods Odoo exposes over RPC.

Error texts are Odoo 17's (``odoo/models.py``): ``ValueError("Invalid field 'x' on model 'y'")`` for an unknown field
in ``read``/``fields``/``order``/``create``/``write``; ``UserError('Invalid "order" specified (...)')`` for a
malformed order; ``ValueError("Wrong value for <model>.<field>: 'v'")`` for a bad selection value. Log-access fields
(``create_date``/``write_date``/``id``) are dropped from written values as Odoo does. Subclasses (the accounting
layer) hook ``_prepare``, ``_recompute`` and ``_check_unlink``.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.bizzcloud import domain as domains
from devkit.sandboxes.bizzcloud.errors import MissingError, PythonError, UserError, invalid_value
from devkit.sandboxes.bizzcloud.models import DEFAULT_ORDER, MAGIC_FIELDS, MODELS, Field

if TYPE_CHECKING:
    from collections.abc import Callable

CENT = Decimal("0.01")
_ORDER_RE = re.compile(
    r"^(\s*([a-z0-9:_]+|\"[a-z0-9:_]+\")(\.id)?(\s+(desc|asc))?(\s+(nulls first|nulls last))?\s*(,|$))+(?<!,)$", re.I
)
_MOVE_KIND = {"out_invoice": "Invoice", "out_refund": "Credit Note", "entry": "Entry", "out_receipt": "Receipt"}


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_decimal(value: Any) -> Decimal:
    if value is False or value is None:
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


class Store:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.data: dict[str, dict[int, dict[str, Any]]] = {model: {} for model in MODELS}
        self.custom: dict[str, dict[str, Field]] = {model: {} for model in MODELS}

    # -- clock & schema -----------------------------------------------------------------------------------------
    def now(self) -> datetime:
        moment = self.clock()
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return moment

    def today(self) -> str:
        return self.now().date().isoformat()

    def model(self, name: str) -> dict[int, dict[str, Any]]:
        if name not in self.data:
            raise UserError(f"Object {name} doesn't exist")
        return self.data[name]

    def fields_of(self, model: str) -> dict[str, Field]:
        return MODELS[model] | self.custom[model]

    def field(self, model: str, name: str) -> Field:
        field = self.fields_of(model).get(name)
        if field is None:
            raise invalid_value(f"Invalid field {name!r} on model {model!r}")
        return field

    # -- the evaluator's view ----------------------------------------------------------------------------------
    def ids_of(self, model: str) -> list[int]:
        return sorted(self.data[model])

    def raw(self, model: str, record_id: int, name: str) -> Any:
        record = self.data[model][record_id]
        field = self.fields_of(model)[name]
        if name == "id":
            return record_id
        if name == "display_name":
            return self.label(model, record_id)
        if field.type == "one2many":
            assert field.relation and field.inverse_name
            rows = self.data[field.relation]
            return [other for other in sorted(rows) if rows[other].get(field.inverse_name) == record_id]
        if model == "res.partner" and name == "country_code":
            country = record.get("country_id")
            return self.data["res.country"][country]["code"] if country else None
        if model == "res.currency" and name == "decimal_places":
            return 2
        return record.get(name, [] if field.type == "many2many" else None)

    def label(self, model: str, record_id: int) -> str:
        record = self.data[model].get(record_id)
        if record is None:
            return ""
        if model == "product.product" and record.get("default_code"):
            return f"[{record['default_code']}] {record['name']}"
        if model == "account.move":
            text = record.get("name") or "/"
            if record.get("state") == "draft" and text == "/":
                text = f"Draft {_MOVE_KIND.get(record['move_type'], 'Entry')} (* {record_id})"
            return f"{text} ({record['ref']})" if record.get("ref") else text
        if model == "account.payment.register":
            return "Register Payment"
        return str(record.get("name") or f"{model},{record_id}")

    # -- reading -------------------------------------------------------------------------------------------------
    def search(
        self, model: str, domain: list[Any] | None, offset: int = 0, limit: int | None = None, order: str | None = None
    ) -> list[int]:
        self.model(model)
        domain = list(domain or [])
        if "active" in self.fields_of(model) and not domains.mentions(domains.parse(domain), "active"):
            domain = ["&", ("active", "=", True), *(domain or [domains.TRUE_LEAF])]
        ids = self.sort(model, domains.search(self, model, domain), order)
        ids = ids[int(offset or 0) :]
        return ids[: int(limit)] if limit else ids

    def sort(self, model: str, ids: list[int], order: str | None) -> list[int]:
        order = order or DEFAULT_ORDER.get(model, "id")
        if not _ORDER_RE.match(order):
            raise UserError(
                f'Invalid "order" specified ({order}). A valid "order" specification is a comma-separated list of '
                "valid field names (optionally followed by asc/desc for the direction)"
            )
        result = sorted(ids)
        for term in reversed([part.split() for part in order.split(",")]):
            name, descending = term[0].strip('"'), len(term) > 1 and term[1].lower() == "desc"
            field = self.field(model, name)
            keys = {record_id: self._sort_key(model, record_id, name, field) for record_id in result}
            present = sorted((i for i in result if keys[i] is not None), key=lambda i: keys[i], reverse=descending)
            nulls = [i for i in result if keys[i] is None]
            result = nulls + present if descending else present + nulls  # PostgreSQL: NULLS LAST ascending
        return result

    def _sort_key(self, model: str, record_id: int, name: str, field: Field) -> Any:
        value = self.raw(model, record_id, name)
        if field.type == "many2one":
            return self.label(field.relation or "", value) if value else None
        if isinstance(value, list):
            return None
        return value

    def read(self, model: str, ids: list[int], fields: list[str] | None = None) -> list[dict[str, Any]]:
        rows = self.model(model)
        names = list(fields or [n for n in self.fields_of(model) if n != "id"])
        for name in names:
            self.field(model, name)
        return [
            {"id": record_id} | {name: self.serialize(model, record_id, name) for name in names if name != "id"}
            for record_id in ids
            if record_id in rows
        ]

    def serialize(self, model: str, record_id: int, name: str) -> Any:
        field = self.fields_of(model)[name]
        value = self.raw(model, record_id, name)
        if field.type == "many2one":
            return [value, self.label(field.relation or "", value)] if value else False
        shape = _OUTPUT.get(field.type)
        if shape is not None:
            return shape(value)
        return False if value is None else value

    def fields_get(self, model: str, allfields: list[str] | None, attributes: list[str] | None) -> dict[str, Any]:
        described = {name: field.describe(name) for name, field in self.fields_of(model).items()}
        if allfields:
            described = {name: described[name] for name in allfields if name in described}
        if attributes:
            described = {name: {k: v for k, v in data.items() if k in attributes} for name, data in described.items()}
        return described

    def name_search(self, model: str, name: str, domain: list[Any] | None, operator: str, limit: int) -> list[Any]:
        ids = self.search(model, domain)
        hits = [i for i in ids if not name or domains.compare(self.label(model, i), operator, name, "char")]
        return [[i, self.label(model, i)] for i in hits[: limit or None]]

    # -- writing -------------------------------------------------------------------------------------------------
    def insert(self, model: str, values: dict[str, Any]) -> int:
        """Store a record as given (reference data and helpers), stamping create/write dates."""
        rows = self.data[model]
        record_id = max(rows, default=0) + 1
        moment = self.now()
        rows[record_id] = {"create_date": moment, "write_date": moment} | values
        return record_id

    def touch(self, model: str, record_id: int) -> None:
        self.data[model][record_id]["write_date"] = self.now()

    def create(self, model: str, vals: dict[str, Any]) -> int:
        rows = self.model(model)
        plain, nested = self._split(model, vals)
        record_id = max(rows, default=0) + 1
        moment = self.now()
        rows[record_id] = {"create_date": moment, "write_date": moment}
        rows[record_id].update(self._prepare(model, record_id, plain, creating=True))
        self._apply_nested(model, record_id, nested)
        self._recompute(model, [record_id])
        return record_id

    def write(self, model: str, ids: list[int], vals: dict[str, Any]) -> bool:
        rows = self.model(model)
        missing = [i for i in ids if i not in rows]
        if missing:
            raise MissingError(
                "One of the documents you are trying to access has been deleted, please try again after refreshing."
                f"\n\n(Document type: {model}, Operation: write, Records: {missing[:6]}, User: 2)"
            )
        plain, nested = self._split(model, vals)
        for record_id in ids:
            rows[record_id].update(self._prepare(model, record_id, plain, creating=False))
            rows[record_id]["write_date"] = self.now()
            self._apply_nested(model, record_id, nested)
        self._recompute(model, ids)
        return True

    def unlink(self, model: str, ids: list[int]) -> bool:
        rows = self.model(model)
        existing = [i for i in ids if i in rows]
        self._check_unlink(model, existing)
        for record_id in existing:
            for name, field in self.fields_of(model).items():
                if field.type == "one2many" and field.relation and field.inverse_name:
                    children = self.raw(model, record_id, name)
                    if MODELS[field.relation][field.inverse_name].required:
                        self.unlink(field.relation, children)
            del rows[record_id]
        return True

    def _split(self, model: str, vals: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        plain: dict[str, Any] = {}
        nested: dict[str, Any] = {}
        for name, value in vals.items():
            field = self.field(model, name)
            if name in MAGIC_FIELDS or (field.computed and not field.store and field.type != "one2many"):
                continue  # Odoo drops log-access columns and non-stored computed fields without inverse
            if field.type == "one2many":
                nested[name] = value
            else:
                plain[name] = self.convert(model, name, field, value)
        return plain, nested

    def convert(self, model: str, name: str, field: Field, value: Any) -> Any:
        kind = field.type
        if kind == "many2many":
            return self._m2m(value)
        if value is False or value is None:
            return False if kind == "boolean" else None
        if kind == "selection" and field.selection and value not in {key for key, _ in field.selection}:
            raise invalid_value(f"Wrong value for {model}.{name}: {value!r}")
        return _INPUT.get(kind, str)(value)

    @staticmethod
    def _m2m(value: Any) -> list[int]:
        if not value:
            return []
        if all(isinstance(item, int) for item in value):
            return list(value)
        ids: list[int] = []
        for command in value:
            code = command[0]
            if code == 6:
                ids = list(command[2])
            elif code == 4 and command[1] not in ids:
                ids.append(command[1])
            elif code in (3, 2):
                ids = [i for i in ids if i != command[1]]
            elif code == 5:
                ids = []
        return ids

    def _apply_nested(self, model: str, record_id: int, nested: dict[str, Any]) -> None:
        for name, commands in nested.items():
            field = self.fields_of(model)[name]
            child, inverse = field.relation or "", field.inverse_name or ""
            for command in commands or []:
                code = command[0]
                if code == 0:
                    self.create(child, {inverse: record_id} | dict(command[2]))
                elif code == 1:
                    self.write(child, [command[1]], dict(command[2]))
                elif code in (2, 3):
                    self.unlink(child, [command[1]])
                elif code == 4:
                    self.write(child, [command[1]], {inverse: record_id})
                elif code in (5, 6):
                    keep = set(command[2]) if code == 6 else set()
                    self.unlink(child, [i for i in self.raw(model, record_id, name) if i not in keep])
                    for other in keep:
                        self.write(child, [other], {inverse: record_id})
                else:
                    raise PythonError("ValueError", f"Invalid command {command!r}")

    # -- hooks ---------------------------------------------------------------------------------------------------
    def _prepare(self, model: str, record_id: int, vals: dict[str, Any], creating: bool) -> dict[str, Any]:
        return vals

    def _recompute(self, model: str, ids: list[int]) -> None:
        """Recompute stored computed fields after a change (accounting overrides)."""

    def _check_unlink(self, model: str, ids: list[int]) -> None:
        """Refuse deletions Odoo refuses (accounting overrides)."""


def _as_date(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()[:10]
    text = str(value)
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise invalid_value(f"time data {text!r} does not match format '%Y-%m-%d'") from None


def _as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.strptime(str(value)[:19], "%Y-%m-%d %H:%M:%S")


def _many2one_id(value: Any) -> int:
    return int(value[0] if isinstance(value, list | tuple) else value)


_INPUT: dict[str, Callable[[Any], Any]] = {
    "float": to_decimal,
    "monetary": to_decimal,
    "integer": int,
    "boolean": bool,
    "many2one": _many2one_id,
    "date": _as_date,
    "datetime": _as_datetime,
}
_OUTPUT: dict[str, Callable[[Any], Any]] = {
    "one2many": lambda value: list(value or []),
    "many2many": lambda value: list(value or []),
    "monetary": lambda value: cents(to_decimal(value)),
    "float": to_decimal,
    "integer": lambda value: int(value or 0),
    "boolean": bool,
    "datetime": lambda value: value.strftime("%Y-%m-%d %H:%M:%S") if value else False,
}
