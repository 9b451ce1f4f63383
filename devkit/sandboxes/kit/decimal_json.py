"""JSON as vendors write it, from Decimals and never through a float: each sandbox says how it prints a number
(SnelStart its own digits, e-Boekhouden two decimals) and a date; the walk over objects and lists is shared."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable


def plain_number(value: Decimal) -> str:
    """A Decimal as a JSON number without trailing zeros or exponent (``12.5``, ``0``), as Pipedrive and Billy
    write amounts."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def loads(raw: bytes | str) -> Any:
    return json.loads(raw, parse_float=Decimal)


def dumps(value: Any, number: Callable[[Decimal], str], special: Callable[[Any], Any] = lambda v: v) -> str:
    """``number`` writes a finite Decimal; ``special`` turns other values (dates) into JSON-able ones."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot write {value} as JSON")
        return number(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {dumps(v, number, special)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(dumps(item, number, special) for item in value) + "]"
    return json.dumps(special(value))
