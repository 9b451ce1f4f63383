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

from decimal import Decimal, InvalidOperation
from functools import partial
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.snelstart.odata_filter import FilterParser
from devkit.sandboxes.snelstart.odata_values import ODataError, resolve

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

MAX_TOP = 500


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
    value = resolve(row, path)
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
            predicate = FilterParser(args["$filter"], fields, type_name, v3_only).parse()
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
