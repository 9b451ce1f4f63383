"""JSON with exact decimals: Decimal is written as the number literal it is (81.46, 100.00), never via float.

The standard library's json can only write a Decimal through float or as a string; vendors want numbers and
bookkeepers want the cents that were computed. Written by hand because it is short and no dependency does it
(simplejson's use_decimal would add a package for one function).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def dumps(value: Any, *, indent: int | None = None) -> str:
    return "".join(_encode(value, indent, 0))


def _encode(value: Any, indent: int | None, level: int) -> list[str]:
    if isinstance(value, float):
        raise TypeError("a float reached a request body: amounts must be Decimal")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        text = format(value, "f")
        return [text]
    if isinstance(value, dict):
        items = [(json.dumps(str(k)), _encode(v, indent, level + 1)) for k, v in value.items()]
        return _wrap("{", "}", [[k, ": " if indent is not None else ":", *v] for k, v in items], indent, level)
    if isinstance(value, (list, tuple)):
        return _wrap("[", "]", [_encode(v, indent, level + 1) for v in value], indent, level)
    if isinstance(value, (datetime, date)):
        return [json.dumps(value.isoformat())]
    return [json.dumps(value, ensure_ascii=False)]


def _wrap(open_: str, close: str, parts: list[list[str]], indent: int | None, level: int) -> list[str]:
    if not parts:
        return [open_ + close]
    if indent is None:
        return [open_, ",".join("".join(p) for p in parts), close]
    pad = "\n" + " " * indent * (level + 1)
    return [open_, pad, ("," + pad).join("".join(p) for p in parts), "\n" + " " * indent * level, close]
