"""The subset of QuickBooks' query language a connector needs.

``SELECT * | COUNT(*) | f1, f2 FROM <Entity> [WHERE <f> <op> <value> [AND ...]] [ORDERBY <f> [ASC|DESC]]
[STARTPOSITION n] [MAXRESULTS m]`` with ``op`` one of ``= != < > <= >= LIKE IN``; values are quoted strings
(``\\'`` escapes a quote), numbers or true/false. Keywords, entity and property names are case-insensitive;
string values compare case-insensitively [I]. A Bill or VendorCredit filters on ``VendorRef``; an Attachable on
``AttachableRef.EntityRef.Type``/``.value`` (any of its references) [V: Intuit's Attachable reference].
Inactive names (``Active: false``) are left out unless the query names ``Active`` (e.g. ``WHERE Active IN
(true, false)``) [I: widely reported] — a connector that looks a customer up by name must ask for inactive
ones too, or its create meets 6240. No OR, no joins, no brackets around conditions [I: as Intuit's query
pages are quoted]. ``PrimaryEmailAddr``/``CustomerRef`` compare their ``Address``/``value``;
``MetaData.LastUpdatedTime`` (also spelled ``Metadata``) compares as a time.

Answers: ``{"QueryResponse": {"<Entity>": [...], "startPosition", "maxResults"}, "time"}`` where maxResults is
the number returned [I: recorded answers mostly say so]; nothing found is ``{"QueryResponse": {}}``;
``COUNT(*)`` answers ``{"QueryResponse": {"totalCount": n}}``. Defaults: STARTPOSITION 1, MAXRESULTS 100,
at most 1000 [V]. Syntax errors: 4000 "Error parsing query" with a ``QueryParserError: Encountered ...``
Detail; unknown properties and bad paging: 4001 "Invalid query" with ``QueryValidationError: ...`` [V: both
shapes recorded from the live sandbox by public clients].
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from devkit.sandboxes.quickbooks.store import ENTITIES
from devkit.sandboxes.quickbooks.wire import Fault, parse_time

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<id>[A-Za-z_][\w.]*)|(?P<op><=|>=|!=|<>|[=<>(),*]))"
)
_NAMES = ("DisplayName", "GivenName", "FamilyName", "CompanyName", "PrimaryEmailAddr", "Active", "Balance")
_TXN = ("DocNumber", "TxnDate", "CustomerRef", "DueDate", "TotalAmt")
FILTERABLE: dict[str, tuple[str, ...]] = {
    "Customer": _NAMES,
    "Vendor": _NAMES,
    "Employee": _NAMES,
    "Item": ("Name", "Type", "Active", "Sku"),
    "Account": ("Name", "AccountType", "Classification", "Active"),
    "TaxCode": ("Name", "Active"),
    "TaxRate": ("Name", "Active"),
    "Term": ("Name", "Active"),
    "Invoice": (*_TXN, "Balance"),
    "CreditMemo": _TXN,
    "Payment": ("TxnDate", "CustomerRef", "TotalAmt"),
    "Bill": ("DocNumber", "TxnDate", "VendorRef", "DueDate", "TotalAmt", "Balance"),
    "VendorCredit": ("DocNumber", "TxnDate", "VendorRef", "TotalAmt"),
    "Attachable": ("AttachableRef.EntityRef.Type", "AttachableRef.EntityRef.value", "FileName"),
}
COMMON = ("Id", "MetaData.CreateTime", "MetaData.LastUpdatedTime")
MAX_RESULTS = 1000


def parse_error(text: str, column: int, kind: str = "") -> Fault:
    found = f'" <{kind}> "{text} ""' if kind else '"<EOF>"'
    detail = f"QueryParserError: Encountered {found} at line 1, column {column}."
    return Fault(400, "ValidationFault", ("4000", "Error parsing query", detail, ""))


def invalid(detail: str) -> Fault:
    return Fault(400, "ValidationFault", ("4001", "Invalid query", f"QueryValidationError: {detail}", ""))


@dataclass
class Query:
    entity: str
    fields: list[str] | None  # None is *, [] is COUNT(*)
    conditions: list[tuple[str, str, Any]] = field(default_factory=list)
    order: tuple[str, bool] | None = None
    start: int = 1
    limit: int = 100


class _Tokens:
    def __init__(self, text: str) -> None:
        self.items: list[tuple[str, str, int]] = []  # kind, text, column
        position = 0
        text = text.strip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise parse_error(text[position:].strip()[:20], position + 1, "UNKNOWN")
            kind = match.lastgroup or "op"
            self.items.append((kind, match.group(kind), match.start(kind) + 1))
            position = match.end()
        self.index = 0
        self.end = len(text) + 1

    def peek(self) -> tuple[str, str, int] | None:
        return self.items[self.index] if self.index < len(self.items) else None

    def take(self, *expected: str) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise parse_error("", self.end)
        if expected and token[1].upper() not in expected:
            raise parse_error(
                token[1], token[2], {"id": "IDENTIFIER", "num": "INTEGER", "str": "STRING"}.get(token[0], token[1])
            )
        self.index += 1
        return token

    def symbol(self, text: str) -> bool:
        token = self.peek()
        if token and token[0] == "op" and token[1] == text:
            self.index += 1
            return True
        return False

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token and token[0] == "id" and token[1].upper() == word:
            self.index += 1
            return True
        return False


def parse(text: str) -> Query:
    tokens = _Tokens(text)
    tokens.take("SELECT")
    fields = _select(tokens)
    tokens.take("FROM")
    name = tokens.take()[1]
    entity = next((e for e in ENTITIES if e.lower() == name.lower()), None)
    if entity is None:
        raise invalid(f"Entity {name} is not supported")
    query = Query(entity, fields)
    if tokens.keyword("WHERE"):
        query.conditions.append(_condition(tokens, entity))
        while tokens.keyword("AND"):
            query.conditions.append(_condition(tokens, entity))
    if tokens.keyword("ORDERBY") or (tokens.keyword("ORDER") and tokens.take("BY")):
        prop = _property(tokens.take()[1], entity)
        descending = tokens.keyword("DESC")
        tokens.keyword("ASC")
        query.order = (prop, descending)
    if tokens.keyword("STARTPOSITION"):
        query.start = _bound(tokens.take()[1])
    if tokens.keyword("MAXRESULTS"):
        query.limit = _bound(tokens.take()[1])
    leftover = tokens.peek()
    if leftover:
        raise parse_error(leftover[1], leftover[2], "IDENTIFIER")
    return query


def _select(tokens: _Tokens) -> list[str] | None:
    if tokens.symbol("*"):
        return None
    if tokens.keyword("COUNT"):
        tokens.take("(")
        tokens.take("*")
        tokens.take(")")
        return []
    fields = [tokens.take()[1]]
    while tokens.symbol(","):
        fields.append(tokens.take()[1])
    return fields


def _bound(text: str) -> int:
    value = int(Decimal(text))
    if value < 1:
        raise invalid(f"value {value} is too small. Min allowed value is 1")
    if value > MAX_RESULTS:
        raise invalid(f"value {value} is too large. Max allowed value is {MAX_RESULTS}")
    return value


def _property(name: str, entity: str) -> str:
    normal = re.sub(r"(?i)^metadata\.", "MetaData.", name)
    for known in (*COMMON, *FILTERABLE.get(entity, ())):
        if known.lower() == normal.lower():
            return known
    raise invalid(f"Property {name} not found for Entity {entity}")


def _condition(tokens: _Tokens, entity: str) -> tuple[str, str, Any]:
    prop = _property(tokens.take()[1], entity)
    op = tokens.take("=", "!=", "<>", "<", ">", "<=", ">=", "LIKE", "IN")[1].upper()
    if op == "IN":
        tokens.take("(")
        values = [_value(tokens.take())]
        while tokens.symbol(","):
            values.append(_value(tokens.take()))
        tokens.take(")")
        return prop, op, values
    return prop, "!=" if op == "<>" else op, _value(tokens.take())


def _value(token: tuple[str, str, int]) -> Any:
    kind, text, column = token
    if kind == "str":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    if kind == "num":
        return Decimal(text)
    if kind == "id" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    raise parse_error(text, column, "IDENTIFIER")


# -- evaluation ----------------------------------------------------------------------------------------------------
def _field(row: dict[str, Any], prop: str) -> Any:
    """The property's value; a list on the way (an Attachable's AttachableRef) gives the values of its elements."""
    value: Any = row
    for index, part in enumerate(prop.split(".")):
        if isinstance(value, list):
            rest = ".".join(prop.split(".")[index:])
            return [_field(element, rest) for element in value if isinstance(element, dict)]
        value = _key(value, part) if isinstance(value, dict) else None
    if isinstance(value, dict):
        value = value.get("value", value.get("Address"))
    return value


def _key(row: dict[str, Any], name: str) -> Any:
    """A property by its name in any letter case (an EntityRef's ``type`` is queried as ``Type``)."""
    if name in row:
        return row[name]
    return next((value for key, value in row.items() if key.lower() == name.lower()), None)


def _comparable(value: Any, wanted: Any, prop: str) -> tuple[Any, Any]:
    if prop.startswith("MetaData."):
        return parse_time(str(value)), parse_time(str(wanted))
    if isinstance(wanted, Decimal) or prop in ("Id", "TotalAmt", "Balance"):
        try:
            return Decimal(str(value)), Decimal(str(wanted))
        except InvalidOperation:
            return str(value), str(wanted)
    if isinstance(wanted, bool):
        return bool(value), wanted
    return str(value).casefold(), str(wanted).casefold()


def _matches(row: dict[str, Any], condition: tuple[str, str, Any]) -> bool:
    prop, op, wanted = condition
    value = _field(row, prop)
    if isinstance(value, list):
        return any(_matches({"one": one}, ("one", op, wanted)) for one in value)
    if value is None:
        return op == "!="
    if op == "IN":
        return any(_matches(row, (prop, "=", one)) for one in wanted)
    left, right = _comparable(value, wanted, prop)
    if op == "LIKE":
        pattern = "".join(".*" if ch == "%" else re.escape(ch) for ch in str(right))
        return re.fullmatch(pattern, str(left), re.DOTALL) is not None
    outcome: bool = {
        "=": left == right,
        "!=": left != right,
        "<": left < right,
        ">": left > right,
        "<=": left <= right,
        ">=": left >= right,
    }[op]
    return outcome


def _sort_key(value: Any, prop: str) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if prop.startswith("MetaData."):
        return (1, parse_time(str(value)))
    if prop in ("Id", "TotalAmt", "Balance"):
        return (1, Decimal(str(value)))
    return (1, str(value).casefold())


def run(query: Query, rows: list[dict[str, Any]]) -> dict[str, Any]:
    conditions = list(query.conditions)
    if "Active" in FILTERABLE.get(query.entity, ()) and not any(c[0] == "Active" for c in conditions):
        conditions.append(("Active", "=", True))  # inactive names only when asked for
    found = [row for row in rows if all(_matches(row, c) for c in conditions)]
    if query.fields == []:
        return {"totalCount": len(found)}
    if query.order:
        prop, descending = query.order
        found.sort(key=lambda row: _sort_key(_field(row, prop), prop), reverse=descending)
    page = found[query.start - 1 : query.start - 1 + query.limit]
    if query.fields:
        keep = {name.lower() for name in query.fields} | {"id"}
        page = [{**{k: v for k, v in row.items() if k.lower() in keep}, "sparse": True} for row in page]
    if not page:
        return {}
    return {query.entity: page, "startPosition": query.start, "maxResults": len(page)}
