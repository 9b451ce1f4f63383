"""The part of OData that SnelStart's list endpoints answer: ``$filter``, ``$orderby``, ``$top`` (≤ 500), ``$skip``.

SnelStart runs ASP.NET Web API OData over SQL Server, so the sandbox mimics what a client can notice:
- property names are case-insensitive (``Email``, ``email``), nested with ``/`` (``relatie/id``);
- string comparison is case-insensitive, as SQL Server's default collation makes it, including contains();
- an unknown property or a malformed filter is refused with 400 and ASP.NET's ``{"Message": ...}`` body
  (``Could not find a property named 'X'``; a client built against the live API reported this shape [I]);
- there is no paging metadata: a bare JSON array, and a short page means the end.
Supported: ``eq ne gt ge lt le``, ``and``, ``or``, ``not``, parentheses, ``contains``/``startswith``/
``endswith``(prop, 'x') and v3's ``substringof``('x', prop), ``tolower``/``toupper``(prop), literals 'text'
(with '' escapes), integers, decimals, true/false/null, bare GUIDs and ``guid'…'``, bare date-times and
``datetime'…'``. Lambda operators (``any``/``all``) are not supported by the sandbox and answer 400.

Which OData version the live API parses is unverified [I]. The spec links the v4.01 conventions, but its schema
names (``System.Web.Http.OData.Query.ODataQueryOptions``) are ASP.NET's OData **v3** package, which knows
``substringof`` but not ``contains`` and wants ``datetime'…'``/``guid'…'`` literals. Both forms are accepted
by default; ``v3_only`` refuses the v4-only forms so a connector can prove it writes filters v3 understands.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.snelstart.schema import parse_datetime

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

MAX_TOP = 500
_INVALID = "The query specified in the URI is not valid. "


class ODataError(ValueError):
    """A query SnelStart would refuse with 400; ``body`` is ASP.NET's error shape."""

    @property
    def body(self) -> dict[str, str]:
        return {"Message": _INVALID + str(self)}


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<typed>(?:datetime|datetimeoffset|guid)'[^']*')
    | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
    | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:\d{2})?)
    | (?P<number>-?\d+(?:\.\d+)?)[mMdD]?
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<punct>[(),:])
    )""",
    re.VERBOSE,
)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_TEXT_FUNCTIONS = {"contains", "substringof", "startswith", "endswith"}
_CASE_FUNCTIONS = {"tolower", "toupper"}


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ODataError(f"Syntax error at position {position} in '{text}'.")
        position = match.end()
        kind = match.lastgroup or ""
        raw = match.group(kind)
        out.append((kind, raw))
    return out


def _literal(kind: str, raw: str) -> Any:
    if kind == "string":
        return raw[1:-1].replace("''", "'")
    if kind == "number":
        return Decimal(raw) if "." in raw else int(raw)
    prefix, _, value = raw.partition("'") if kind == "typed" else (kind, "", raw + "'")
    value = value[:-1]
    try:
        return uuid.UUID(value) if prefix == "guid" else _aware(parse_datetime(value))
    except ValueError as error:
        raise ODataError(f"Unrecognized '{prefix}' literal '{raw}'.") from error


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _Parser:
    def __init__(self, text: str, fields: Iterable[str], type_name: str, v3_only: bool) -> None:
        self.tokens = _tokens(text)
        self.index = 0
        self.fields = {name.lower(): name for name in fields}
        self.type_name = type_name
        self.v3_only = v3_only
        if v3_only and any(kind in ("guid", "datetime") for kind, _ in self.tokens):
            raise ODataError("Unrecognized literal: OData v3 writes datetime'…' and guid'…'.")

    def parse(self) -> Callable[[Mapping[str, Any]], bool]:
        predicate = self._or()
        if self.index != len(self.tokens):
            raise ODataError(f"Syntax error: unexpected '{self.tokens[self.index][1]}'.")
        return predicate

    def _peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> tuple[str, Any]:
        token = self._peek()
        if token is None or (expected is not None and token[1].lower() != expected):
            raise ODataError(f"Syntax error: expected '{expected or 'an expression'}'.")
        self.index += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token and token[0] == "name" and token[1].lower() == word:
            self.index += 1
            return True
        return False

    def _or(self) -> Callable[[Mapping[str, Any]], bool]:
        terms = [self._and()]
        while self._keyword("or"):
            terms.append(self._and())
        return terms[0] if len(terms) == 1 else lambda row: any(term(row) for term in terms)

    def _and(self) -> Callable[[Mapping[str, Any]], bool]:
        terms = [self._unary()]
        while self._keyword("and"):
            terms.append(self._unary())
        return terms[0] if len(terms) == 1 else lambda row: all(term(row) for term in terms)

    def _unary(self) -> Callable[[Mapping[str, Any]], bool]:
        if self._keyword("not"):
            inner = self._unary()
            return lambda row: not inner(row)
        token = self._peek()
        if token and token[1] == "(":
            self._take("(")
            inner = self._or()
            self._take(")")
            return inner
        if token and token[0] == "name" and token[1].lower() in _TEXT_FUNCTIONS:
            return self._text_function()
        return self._comparison()

    def _needle(self, name: str) -> str:
        kind, raw = self._take()
        if kind != "string":
            raise ODataError(f"The function '{name}' takes a string literal.")
        return str(_literal(kind, raw)).casefold()

    def _text_function(self) -> Callable[[Mapping[str, Any]], bool]:
        """contains(Prop,'x') (v4), substringof('x',Prop) (v3), startswith/endswith(Prop,'x'); ``eq true`` optional."""
        name = self._take()[1].lower()
        if name == "contains" and self.v3_only:
            raise ODataError("Unknown function 'contains'; OData v3 has substringof('text', Property).")
        self._take("(")
        if name == "substringof":
            needle = self._needle(name)
            self._take(",")
            getter = self._operand()
        else:
            getter = self._operand()
            self._take(",")
            needle = self._needle(name)
        self._take(")")
        expected = self._truth()

        def test(row: Mapping[str, Any]) -> bool:
            value = getter(row)
            if value is None:
                return False
            if not isinstance(value, str):
                raise ODataError(f"The function '{name}' needs a string property.")
            text = value.casefold()
            if name in ("contains", "substringof"):
                return (needle in text) is expected
            return (text.startswith(needle) if name == "startswith" else text.endswith(needle)) is expected

        return test

    def _truth(self) -> bool:
        """The optional ``eq true`` / ``eq false`` (or ``ne``) after a boolean function, as v3 clients write it."""
        token = self._peek()
        if not token or token[0] != "name" or token[1].lower() not in ("eq", "ne"):
            return True
        operator = self._take()[1].lower()
        value = self._take()[1].lower()
        if value not in ("true", "false"):
            raise ODataError("A boolean function can only be compared with true or false.")
        return (value == "true") is (operator == "eq")

    def _operand(self) -> Callable[[Mapping[str, Any]], Any]:
        kind, raw = self._take()
        if kind == "name" and raw.lower() in _CASE_FUNCTIONS:
            self._take("(")
            inner = self._operand()
            self._take(")")
            return inner  # comparisons are case-insensitive already
        if kind != "name" or raw.lower() in _COMPARE | {"and", "or", "not", "true", "false", "null"}:
            raise ODataError(f"Syntax error: expected a property name but found '{raw}'.")
        following = self._peek()
        if following and following[1] in ("(", ":"):
            raise ODataError(f"Unknown function or unsupported lambda '{raw}' (the sandbox supports no any/all).")
        parts = raw.split("/")
        if parts[0].lower() not in self.fields:
            raise ODataError(f"Could not find a property named '{parts[0]}' on type '{self.type_name}'.")
        if len(parts) > 1 and parts[1].lower() in ("any", "all"):
            raise ODataError(f"The lambda operator '{parts[1]}' is not supported by the sandbox.")
        path = [self.fields[parts[0].lower()], *parts[1:]]
        return lambda row: _resolve(row, path)

    def _comparison(self) -> Callable[[Mapping[str, Any]], bool]:
        getter = self._operand()
        kind, operator = self._take()
        operator = operator.lower()
        if kind != "name" or operator not in _COMPARE:
            raise ODataError(f"Syntax error: expected a comparison operator but found '{operator}'.")
        kind, raw = self._take()
        if kind == "name" and raw.lower() in ("true", "false", "null"):
            literal: Any = {"true": True, "false": False, "null": None}[raw.lower()]
        elif kind in ("string", "number", "guid", "datetime", "typed"):
            literal = _literal(kind, raw)
        else:
            raise ODataError(f"Syntax error: expected a literal but found '{raw}'.")
        return lambda row: _compare(getter(row), operator, literal)


def _resolve(row: Mapping[str, Any], path: list[str]) -> Any:
    value: Any = row
    for part in path:
        if not isinstance(value, dict):
            return None
        lowered = {key.lower(): key for key in value}
        value = value.get(lowered.get(part.lower(), part))
    return value


def _coerce(value: Any, literal: Any) -> tuple[Any, Any]:
    """Both sides as comparable Python values, or ODataError when SnelStart would find the types incompatible."""
    if isinstance(literal, bool) or isinstance(value, bool):
        if isinstance(literal, bool) and isinstance(value, bool):
            return value, literal
    elif isinstance(literal, str) and isinstance(value, str):
        return value.casefold(), literal.casefold()
    elif isinstance(literal, (int, Decimal)) and isinstance(value, (int, Decimal)):
        return Decimal(value), Decimal(literal)
    elif isinstance(literal, uuid.UUID) and isinstance(value, str):
        try:
            return uuid.UUID(value), literal
        except ValueError:
            pass
    elif isinstance(literal, datetime) and isinstance(value, str):
        try:
            return _aware(parse_datetime(value)), literal
        except ValueError:
            pass
    raise ODataError(
        f"A binary operator with incompatible types was detected. Found operand types "
        f"'{type(value).__name__}' and '{type(literal).__name__}'."
    )


def _compare(value: Any, operator: str, literal: Any) -> bool:
    if literal is None or value is None:
        same = value is literal or value == literal
        return same if operator == "eq" else (not same if operator == "ne" else False)
    left, right = _coerce(value, literal)
    if operator == "eq":
        return bool(left == right)
    if operator == "ne":
        return bool(left != right)
    try:
        if operator == "gt":
            return bool(left > right)
        if operator == "ge":
            return bool(left >= right)
        return bool(left < right) if operator == "lt" else bool(left <= right)
    except TypeError as error:
        raise ODataError(f"The operator '{operator}' cannot compare these values.") from error


def _int_option(args: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise ODataError(f"Invalid value '{raw}' for {name} query option found.") from error
    if high is not None and value > high:
        raise ODataError(
            f"The limit of '{high}' for Top query has been exceeded. The value from the incoming request is '{value}'."
        )
    if value < low:
        raise ODataError(f"Invalid value '{raw}' for {name} query option found; it must be at least {low}.")
    return value


def _sort_key(row: Mapping[str, Any], path: list[str]) -> tuple[int, Any]:
    value = _resolve(row, path)
    if value is None:
        return (0, "")
    if isinstance(value, str):
        return (1, value.casefold())
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return (1, Decimal(value))
    return (1, str(value))


def query(
    rows: list[dict[str, Any]],
    args: Mapping[str, str],
    fields: Iterable[str],
    type_name: str,
    *,
    v3_only: bool = False,
) -> list[dict[str, Any]]:
    """Apply $filter, $orderby, $skip and $top (in OData's order) to ``rows``; raises ODataError.

    ``v3_only`` refuses the OData v4 forms (contains(), bare date-times and GUIDs) the way a v3 server would.
    """
    fields = list(fields)
    try:
        top = _int_option(args, "$top", MAX_TOP, 1, MAX_TOP)
        skip = _int_option(args, "$skip", 0, 0, None)
        selected = rows
        if args.get("$filter"):
            predicate = _Parser(args["$filter"], fields, type_name, v3_only).parse()
            selected = [row for row in rows if predicate(row)]
        for clause in reversed([c.strip() for c in args.get("$orderby", "").split(",") if c.strip()]):
            name, _, direction = clause.partition(" ")
            path = name.split("/")
            if path[0].lower() not in {f.lower() for f in fields}:
                raise ODataError(f"Could not find a property named '{path[0]}' on type '{type_name}'.")
            selected = sorted(selected, key=partial(_sort_key, path=path), reverse=direction.strip().lower() == "desc")
    except InvalidOperation as error:
        raise ODataError(f"Invalid number in the query: {error}") from error
    return selected[skip : skip + top]
