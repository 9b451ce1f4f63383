"""How CCV Shop's field values read exactly: amounts as Decimal from the JSON text (never a float), flags, text and
the create date. Pure; README.md in this folder has the API facts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from koppel.errors import PermanentError
from koppel.money import ZERO


def created_at(order: Mapping[str, Any]) -> datetime:
    """The order's ``create_date`` as an aware timestamp (UTC when CCV leaves the zone out)."""
    value = order.get("create_date")
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise PermanentError(f"CCV Shop order {order.get('id')} has no readable create_date: {value!r}")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def flag(source: Mapping[str, Any], key: str, *, default: bool | None) -> bool | None:
    value = source.get(key)
    return value if isinstance(value, bool) else default


def first_present(source: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    return next((key for key in keys if source.get(key) is not None), keys[-1])


def text(source: object, key: str) -> str:
    value = source.get(key) if isinstance(source, Mapping) else None
    if value is None or isinstance(value, bool):
        return ""
    return str(value).strip()


def money(source: Mapping[str, Any], key: str, where: str, *, default: Decimal | None = ZERO) -> Decimal:
    """An amount exactly as CCV wrote it: int and Decimal from the JSON text, a numeric string; never a float."""
    value = source.get(key)
    if value is None or value == "":
        if default is None:
            raise PermanentError(f"{where} has no {key}")
        return default
    if isinstance(value, float):
        raise PermanentError(
            f"{where}: {key} was read as a float ({value!r}); read CCV's JSON with parse_float=Decimal"
        )
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise PermanentError(f"{where}: {key} is not an amount: {value!r}")
    try:
        amount = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation as error:
        raise PermanentError(f"{where}: {key} is not an amount: {value!r}") from error
    if not amount.is_finite():
        raise PermanentError(f"{where}: {key} is not a finite amount: {value!r}")
    return amount
