"""Listing CCV Shop resources: the order filters and sort keys, and paging into CCV's collection shape
(the vendor facts and assumptions are in api.py's docstring).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from devkit.sandboxes.ccvshop.auth import BAD_INPUT, CcvError

if TYPE_CHECKING:
    from collections.abc import Callable

    from werkzeug.datastructures import MultiDict
    from werkzeug.wrappers import Request

DEFAULT_PAGE_SIZE = 25
_SORT_KEYS = {
    "id": lambda o: (o["id"],),
    "create_date": lambda o: (o["create_date"], o["id"]),
    "ordernumber": lambda o: (o["ordernumber"], o["id"]),
    "deliver_date": lambda o: (o["deliver_date"] or "", o["id"]),
}


def _int(args: MultiDict[str, str], name: str, default: int | None = None) -> int:
    raw = args.get(name)
    if raw is None and default is not None:
        return default
    try:
        return int(raw or "")
    except ValueError as error:
        raise CcvError(400, BAD_INPUT, f"Parameter {name} must be an integer, got '{raw}'") from error


def _bool(args: MultiDict[str, str], name: str) -> bool:
    raw = (args.get(name) or "").lower()
    if raw not in {"true", "false", "1", "0"}:
        raise CcvError(400, BAD_INPUT, f"Parameter {name} must be true or false, got '{raw}'")
    return raw in {"true", "1"}


def _date(args: MultiDict[str, str], name: str, end_of_day: bool) -> datetime:
    raw = args.get(name) or ""
    for text in (raw, raw.replace(" ", "+")):  # an unescaped '+' in the offset arrives as a space
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            continue
        if len(text) == 10 and end_of_day:
            moment = datetime.combine(moment.date(), time.max)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise CcvError(400, BAD_INPUT, f"Parameter {name} must be an ISO-8601 date, got '{raw}'")


def _created(order: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(order["create_date"])


def collection(
    request: Request,
    items: list[dict[str, Any]],
    render: Callable[[dict[str, Any]], dict[str, Any]],
    href_base: str,
    max_page_size: int,
) -> dict[str, Any]:
    """One page of ``items`` as CCV's collection, its links keeping the request's filters."""
    start = _int(request.args, "start", 0)
    size = _int(request.args, "size", DEFAULT_PAGE_SIZE)
    if start < 0 or size < 1:
        raise CcvError(400, BAD_INPUT, "start must be 0 or more and size 1 or more")
    size = min(size, max_page_size)
    kept = [
        (k, v)
        for k, v in parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True)
        if k not in {"start", "size"}
    ]
    base = f"{href_base}{request.path}"

    def page(offset: int) -> str:
        return f"{base}?{urlencode([*kept, ('start', offset), ('size', size)])}"

    query = request.query_string.decode("latin-1")
    return {
        "start": start,
        "size": size,
        "href": f"{base}?{query}" if query else base,
        "first": page(0),
        "previous": page(max(0, start - size)) if start > 0 else None,
        "next": page(start + size) if start + size < len(items) else None,
        "items": [render(item) for item in items[start : start + size]],
    }


def select_orders(orders: list[dict[str, Any]], args: MultiDict[str, str]) -> list[dict[str, Any]]:
    """The orders the filters in ``args`` keep, in the order ``orderby`` asks (see api.py's docstring)."""
    is_completed = _bool(args, "is_completed") if "is_completed" in args else True
    orders = [o for o in orders if o["is_completed"] is is_completed]
    for name in ("ordernumber", "status", "paymethod_id"):
        if name in args:
            wanted = _int(args, name)
            orders = [o for o in orders if o[name] == wanted]
    if "transaction_id" in args:
        orders = [o for o in orders if str(o["transaction_id"]) == args["transaction_id"]]
    if "is_paid" in args:
        paid = _bool(args, "is_paid")
        orders = [o for o in orders if o["paid"] is paid]
    if "min_create_date" in args:
        low = _date(args, "min_create_date", end_of_day=False)
        orders = [o for o in orders if _created(o) >= low]
    if "max_create_date" in args:
        high = _date(args, "max_create_date", end_of_day=True)
        orders = [o for o in orders if _created(o) <= high]
    orderby = args.get("orderby", "id")
    key = _SORT_KEYS.get(orderby.removeprefix("-"))
    if key is None:
        raise CcvError(400, BAD_INPUT, f"orderby must be one of {sorted(_SORT_KEYS)}, optionally with '-'")
    orders.sort(key=key, reverse=orderby.startswith("-"))
    return orders
