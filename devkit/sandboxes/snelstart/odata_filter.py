"""SnelStart's ``$filter`` grammar (what the odata module's docstring lists as supported) turned into a
predicate over rows.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.snelstart.odata_values import ODataError, compare, read_literal, resolve

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

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


class FilterParser:
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
        return str(read_literal(kind, raw)).casefold()

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
        return lambda row: resolve(row, path)

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
            literal = read_literal(kind, raw)
        else:
            raise ODataError(f"Syntax error: expected a literal but found '{raw}'.")
        return lambda row: compare(getter(row), operator, literal)
