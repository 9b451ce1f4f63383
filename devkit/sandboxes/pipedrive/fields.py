"""Deal fields over v1 (``GET/POST /v1/dealFields``): how a connector finds or makes its custom field.

Verified [V] (pipedrive/client-nodejs v1 models ``field``, ``create-field-request*``; a third party's reading
of the v1 OpenAPI): a field has ``id``, ``key`` (a 40-character hash for custom fields, different per
account), ``name``, ``field_type``, ``edit_flag`` (true for custom fields), flags and ``options``; create
takes ``name``, ``field_type`` (17 types incl. varchar, text, double, monetary, enum, set, date) and
``options`` for enum/set; v1 lists page with ``start``/``limit`` and ``additional_data.pagination``.
Assumed [I]: the built-in fields listed (a handful of the real ones), default limit 100 and max 500, the
validation messages, ``order_nr`` counting on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devkit.sandboxes.pipedrive.store import field_key
from devkit.sandboxes.pipedrive.wire import bad_request, v1_time

if TYPE_CHECKING:
    from datetime import datetime

FIELD_TYPES = [
    "address",
    "date",
    "daterange",
    "double",
    "enum",
    "monetary",
    "org",
    "people",
    "phone",
    "set",
    "text",
    "time",
    "timerange",
    "user",
    "varchar",
    "varchar_auto",
    "visible_to",
]
BUILTIN = (
    ("id", "ID", "int"),
    ("title", "Title", "varchar"),
    ("creator_user_id", "Creator", "user"),
    ("user_id", "Owner", "user"),
    ("value", "Value", "monetary"),
    ("org_id", "Organization", "org"),
    ("person_id", "Contact person", "people"),
    ("stage_id", "Stage", "stage"),
    ("status", "Status", "status"),
    ("won_time", "Won time", "date"),
)


def new_field(
    ident: int,
    key: str,
    name: str,
    field_type: str,
    order_nr: int,
    user_id: int,
    now: datetime,
    *,
    custom: bool,
    options: list[Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": ident,
        "key": key,
        "name": name,
        "order_nr": order_nr,
        "field_type": field_type,
        "add_time": v1_time(now),
        "update_time": v1_time(now),
        "last_updated_by_user_id": user_id if custom else None,
        "created_by_user_id": user_id if custom else None,
        "active_flag": True,
        "edit_flag": custom,
        "index_visible_flag": True,
        "details_visible_flag": True,
        "add_visible_flag": custom,
        "important_flag": False,
        "bulk_edit_allowed": True,
        "searchable_flag": custom and field_type in ("varchar", "varchar_auto", "text"),
        "filtering_allowed": True,
        "sortable_flag": True,
        "mandatory_flag": False,
        "options": options,
    }


def builtin_fields(first_id: int, now: datetime) -> list[dict[str, Any]]:
    return [
        new_field(first_id + n, key, name, kind, n + 1, 0, now, custom=False)
        for n, (key, name, kind) in enumerate(BUILTIN)
    ]


def custom_field(
    ident: int, company_id: int, order_nr: int, user_id: int, body: dict[str, Any], now: datetime
) -> dict[str, Any]:
    name, field_type = body.get("name"), body.get("field_type")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("Validation failed: name: Parameter is required")
    if field_type not in FIELD_TYPES:
        raise bad_request(f"Validation failed: field_type: must be one of {', '.join(FIELD_TYPES)}")
    options = None
    if field_type in ("enum", "set"):
        labels = body.get("options") or []
        if not labels:
            raise bad_request("Validation failed: options: required for enum and set fields")
        options = [{"id": n + 1, "label": o["label"] if isinstance(o, dict) else str(o)} for n, o in enumerate(labels)]
    key = field_key(company_id, name, ident)
    return new_field(ident, key, name, field_type, order_nr, user_id, now, custom=True, options=options)


def page_v1(items: list[dict[str, Any]], args: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    try:
        start, limit = int(args.get("start", 0)), int(args.get("limit", 100))
    except ValueError as error:
        raise bad_request("Validation failed: start and limit must be integers") from error
    if start < 0 or not 1 <= limit <= 500:
        raise bad_request("Validation failed: limit must be between 1 and 500")
    page = items[start : start + limit]
    more = start + limit < len(items)
    pagination: dict[str, Any] = {"start": start, "limit": limit, "more_items_in_collection": more}
    if more:
        pagination["next_start"] = start + limit
    return page, {"pagination": pagination}
