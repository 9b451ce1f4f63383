"""How SnelStart's OData compares: literals read from a query, row values found by a property path, and the
comparisons between them (strings case-insensitively, as SQL Server's default collation makes them), with
ASP.NET's 400 for a query it would refuse.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.snelstart.schema import parse_datetime

if TYPE_CHECKING:
    from collections.abc import Mapping

_INVALID = "The query specified in the URI is not valid. "


class ODataError(ValueError):
    """A query SnelStart would refuse with 400; ``body`` is ASP.NET's error shape."""

    @property
    def body(self) -> dict[str, str]:
        return {"Message": _INVALID + str(self)}


def read_literal(kind: str, raw: str) -> Any:
    """A literal token as a Python value: str, int, Decimal, UUID or an aware datetime."""
    if kind == "string":
        return raw[1:-1].replace("''", "'")
    if kind == "number":
        return Decimal(raw) if "." in raw else int(raw)
    prefix, _, value = raw.partition("'") if kind == "typed" else (kind, "", raw + "'")
    value = value[:-1]
    try:
        return uuid.UUID(value) if prefix == "guid" else aware(parse_datetime(value))
    except ValueError as error:
        raise ODataError(f"Unrecognized '{prefix}' literal '{raw}'.") from error


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def resolve(row: Mapping[str, Any], path: list[str]) -> Any:
    value: Any = row
    for part in path:
        if not isinstance(value, dict):
            return None
        lowered = {key.lower(): key for key in value}
        value = value.get(lowered.get(part.lower(), part))
    return value


def coerce(value: Any, literal: Any) -> tuple[Any, Any]:
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
            return aware(parse_datetime(value)), literal
        except ValueError:
            pass
    raise ODataError(
        f"A binary operator with incompatible types was detected. Found operand types "
        f"'{type(value).__name__}' and '{type(literal).__name__}'."
    )


def compare(value: Any, operator: str, literal: Any) -> bool:
    if literal is None or value is None:
        same = value is literal or value == literal
        return same if operator == "eq" else (not same if operator == "ne" else False)
    left, right = coerce(value, literal)
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
