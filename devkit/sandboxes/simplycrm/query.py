"""vtiger's query language (VTQL) as the webservice ``query`` operation reads it [V, ``VTQL_Parser.php``]:

``SELECT * | count(*) | col, col FROM Module [WHERE col op value [AND|OR ...]] [ORDER BY col[, col] [ASC|DESC]]
[LIMIT [offset,] n];`` with ops ``= != <> < > <= >= LIKE IN (...)``. The ``;`` is required. Without LIMIT
vtiger adds ``LIMIT 100``, and a row count above 100 is cut to 100 (the offset is not) [V]. A parse error is
``QUERY_SYNTAX_ERROR`` with "Syntax Error on line 1: token '...'" [V code, message shortened: I]; an unknown
column ``ACCESS_DENIED`` "Permission to access <col> attribute denied." [V]; a reference compared with a
value that is not a webservice id (``12x34``) ``INVALID_ID_ATTRIBUTE`` [V]. AND binds before OR, as SQL does
(vtiger pastes the conditions into SQL) [V]. Text compares case-insensitively like MySQL's default collation,
numbers as numbers [I].
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.simplycrm.wire import ACCESS_DENIED, INVALID_ID_ATTRIBUTE, QUERY_SYNTAX_ERROR, VtigerError

if TYPE_CHECKING:
    from devkit.sandboxes.simplycrm.schema import Module

MAX_ROWS = 100
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<op><=|>=|!=|<>|=|<|>)|(?P<punct>[(),;*])"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)|(?P<num>-?\d+(?:\.\d+)?))"
)
_KEYWORDS = {"select", "from", "where", "and", "or", "order", "by", "limit", "like", "in", "asc", "desc", "count"}


@dataclass
class Condition:
    column: str
    op: str
    value: str | list[str]


@dataclass
class Query:
    module: str
    columns: list[str]  # ["*"] or ["count(*)"] or names
    groups: list[list[Condition]] = field(default_factory=list)  # OR of ANDs
    order_by: list[str] = field(default_factory=list)
    descending: bool = False
    offset: int = 0
    limit: int = MAX_ROWS


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise _syntax(text[pos:].strip()[:1])
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        elif kind == "word" and value.lower() in _KEYWORDS:
            kind, value = "kw", value.lower()
        out.append((kind, value))
        pos = match.end()
    return out


def _syntax(token: str) -> VtigerError:
    return VtigerError(QUERY_SYNTAX_ERROR, f"Syntax Error on line 1: token '{token}' Unexpected {token}")


class _Reader:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.at = tokens, 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def take(self, kind: str, value: str | None = None) -> str:
        got = self.peek()
        if got[0] != kind or (value is not None and got[1] != value):
            raise _syntax(got[1])
        self.at += 1
        return got[1]

    def accept(self, kind: str, value: str) -> bool:
        if self.peek() == (kind, value):
            self.at += 1
            return True
        return False


def parse(text: str) -> Query:
    read = _Reader(_tokens(text))
    read.take("kw", "select")
    query = Query("", _columns(read))
    read.take("kw", "from")
    query.module = read.take("word")
    if read.accept("kw", "where"):
        query.groups = [[_condition(read)]]
        while read.peek() in (("kw", "and"), ("kw", "or")):
            if read.take("kw") == "or":
                query.groups.append([])
            query.groups[-1].append(_condition(read))
    if read.accept("kw", "order"):
        read.take("kw", "by")
        query.order_by = _names(read)
        query.descending = read.accept("kw", "desc")
        if not query.descending:
            read.accept("kw", "asc")
    if read.accept("kw", "limit"):
        first = int(read.take("num"))
        if read.accept("punct", ","):
            query.offset, query.limit = first, min(int(read.take("num")), MAX_ROWS)
        else:
            query.limit = min(first, MAX_ROWS)
    read.take("punct", ";")
    if read.peek()[0] != "end":
        raise _syntax(read.peek()[1])
    return query


def _columns(read: _Reader) -> list[str]:
    if read.accept("punct", "*"):
        return ["*"]
    if read.accept("kw", "count"):
        for symbol in "(*)":
            read.take("punct", symbol)
        return ["count(*)"]
    return _names(read)


def _names(read: _Reader) -> list[str]:
    names = [read.take("word")]
    while read.accept("punct", ","):
        names.append(read.take("word"))
    return names


def _condition(read: _Reader) -> Condition:
    column = read.take("word")
    kind, value = read.peek()
    if kind == "op":
        op = read.take("op")
    elif (kind, value) in (("kw", "like"), ("kw", "in")):
        op = read.take("kw")
    else:
        raise _syntax(value)
    if read.accept("punct", "("):
        values = [_value(read)]
        while read.accept("punct", ","):
            values.append(_value(read))
        read.take("punct", ")")
        return Condition(column, op, values)
    return Condition(column, op, _value(read))


def _value(read: _Reader) -> str:
    kind, value = read.peek()
    if kind not in ("str", "num"):
        raise _syntax(value)
    read.at += 1
    return value


# -- evaluation -----------------------------------------------------------------------------------------------------
def check_columns(query: Query, module: Module) -> None:
    known = set(module.names())
    named = [c for c in query.columns if c not in ("*", "count(*)")]
    named += [c.column for group in query.groups for c in group] + query.order_by
    for column in named:
        if column not in known:
            raise VtigerError(ACCESS_DENIED, f"Permission to access {column} attribute denied.")
    for group in query.groups:
        for condition in group:
            spec = module.field(condition.column)
            if spec and spec.type in ("reference", "owner"):
                values = condition.value if isinstance(condition.value, list) else [condition.value]
                if any("x" not in v for v in values if condition.op != "like"):
                    raise VtigerError(INVALID_ID_ATTRIBUTE, "Id specified is incorrect")


def _comparable(value: str, numeric: bool) -> Any:
    if numeric:
        try:
            return Decimal(value or "0")
        except InvalidOperation:
            return Decimal(0)
    return value.lower()


def _like(value: str, pattern: str) -> bool:
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL) is not None


def _holds(record: dict[str, Any], condition: Condition, module: Module) -> bool:
    spec = module.field(condition.column)
    numeric = bool(spec and spec.places is not None) or condition.column == "id"
    have = str(record.get(condition.column) or "")
    wanted: str | list[str] = condition.value
    if condition.column == "id":  # ids compare by their record number
        have = have.partition("x")[2]
        wanted = [v.partition("x")[2] for v in wanted] if isinstance(wanted, list) else wanted.partition("x")[2]
    condition = Condition(condition.column, condition.op, wanted)
    if condition.op == "like":
        return _like(have, str(condition.value))
    if condition.op == "in":
        values = condition.value if isinstance(condition.value, list) else [condition.value]
        return bool(_comparable(have, numeric) in {_comparable(v, numeric) for v in values})
    left, right = _comparable(have, numeric), _comparable(str(condition.value), numeric)
    return bool(
        {
            "=": left == right,
            "!=": left != right,
            "<>": left != right,
            "<": left < right,
            ">": left > right,
            "<=": left <= right,
            ">=": left >= right,
        }[condition.op]
    )


def _sort_key(record: dict[str, Any], column: str, numeric: bool) -> Any:
    return _comparable(str(record.get(column) or ""), numeric)


def run(query: Query, module: Module, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    check_columns(query, module)
    rows = [r for r in records if not query.groups or any(all(_holds(r, c, module) for c in g) for g in query.groups)]
    if query.columns == ["count(*)"]:
        return [{"count": str(len(rows))}]
    for column in reversed(query.order_by):
        spec = module.field(column)
        numeric = bool(spec and spec.places is not None)
        rows.sort(key=partial(_sort_key, column=column, numeric=numeric), reverse=query.descending)
    rows = rows[query.offset : query.offset + query.limit]
    if query.columns == ["*"]:
        return rows
    return [{**{c: r.get(c) for c in query.columns}, "id": r["id"]} for r in rows]
