"""Deals: the v2 record, the changes ``PATCH /api/v2/deals/{id}`` accepts, and the deal as a webhook carries it.

API shape [V]: the v2 ``GET /api/v2/deals/{id}`` example (keys in its order; ``source_lead_id`` only on
request, left out). Writable keys [V]: title, owner_id, person_id, org_id, pipeline_id, stage_id, value,
currency, is_archived, archive_time, status, probability, lost_reason, visible_to, close_time, won_time,
lost_time, expected_close_date, label_ids, custom_fields. ``lost_reason`` only on a lost deal [V]. Custom
fields live under ``custom_fields`` keyed by 40-character hashes [V]; a key the company does not have is
refused with 400 [I]. Winning sets ``won_time``, ``close_time`` and (once) ``first_won_time`` [I on the
exact set]; reopening clears won/lost/close times [I].

Webhook shape [V]: the keys of the recorded v2 ``create.deal`` body (tests/fixtures/pipedrive), in its
order; custom field values there are typed objects like ``{"type": "monetary", "value": 13, "currency":
"BRL"}`` (seen in a second recorded body, not saved) [V], ``visible_to`` is a string [V].
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.pipedrive.store import DEAL_WRITABLE
from devkit.sandboxes.pipedrive.wire import bad_request

if TYPE_CHECKING:
    from datetime import datetime
    from decimal import Decimal

STATUSES = ("open", "won", "lost")
WEBHOOK_DEAL_KEYS = [
    "add_time",
    "channel",
    "channel_id",
    "close_time",
    "creator_user_id",
    "currency",
    "custom_fields",
    "expected_close_date",
    "first_won_time",
    "id",
    "label_ids",
    "lost_reason",
    "lost_time",
    "org_id",
    "origin",
    "origin_id",
    "owner_id",
    "person_id",
    "pipeline_id",
    "probability",
    "stage_change_time",
    "stage_id",
    "status",
    "title",
    "update_time",
    "value",
    "visible_to",
    "won_time",
    "is_archived",
    "archive_time",
]


def new_deal(
    ident: int,
    *,
    title: str,
    owner_id: int,
    person_id: int | None,
    org_id: int | None,
    currency: str,
    value: Decimal,
    now: datetime,
    pipeline_id: int = 1,
    stage_id: int = 1,
    custom_fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": ident,
        "title": title,
        "creator_user_id": owner_id,
        "owner_id": owner_id,
        "value": value,
        "person_id": person_id,
        "org_id": org_id,
        "stage_id": stage_id,
        "pipeline_id": pipeline_id,
        "currency": currency,
        "archive_time": None,
        "add_time": now,
        "update_time": now,
        "stage_change_time": None,
        "status": "open",
        "is_archived": False,
        "is_deleted": False,
        "probability": None,
        "lost_reason": None,
        "visible_to": 3,
        "close_time": None,
        "won_time": None,
        "lost_time": None,
        "local_won_date": None,
        "local_lost_date": None,
        "local_close_date": None,
        "expected_close_date": None,
        "label_ids": [],
        "origin": "ManuallyCreated",
        "origin_id": None,
        "channel": None,
        "channel_id": None,
        "acv": None,
        "arr": None,
        "mrr": None,
        "custom_fields": dict(custom_fields or {}),
        "_first_won_time": None,
    }


def render(deal: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in deal.items() if not k.startswith("_")}


def webhook_data(deal: dict[str, Any], field_types: dict[str, str], *, created: bool = False) -> dict[str, Any]:
    typed = typed_fields(deal["custom_fields"], field_types)
    data = {
        **render(deal),
        "first_won_time": deal["_first_won_time"],
        "custom_fields": typed,
        "visible_to": str(deal["visible_to"]),
        "update_time": None if created else deal["update_time"],
    }
    return {key: data[key] for key in WEBHOOK_DEAL_KEYS}


def typed_fields(values: dict[str, Any], field_types: dict[str, str]) -> dict[str, Any]:
    return {key: _typed(value, field_types.get(key, "varchar")) for key, value in values.items()}


def _typed(value: Any, field_type: str) -> Any:
    if value is None:
        return None
    if isinstance(value, dict):
        return {"type": field_type, **value}
    return {"type": field_type, "value": value}


def apply_changes(
    deal: dict[str, Any], changes: dict[str, Any], field_types: dict[str, str], now: datetime
) -> dict[str, Any]:
    """Check and apply a PATCH body; returns ``previous`` (old values of what the body changed)."""
    _check(deal, changes, field_types)
    previous: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "custom_fields":
            custom = value or {}
            old = {k: deal["custom_fields"].get(k) for k, v in custom.items() if deal["custom_fields"].get(k) != v}
            if old:
                previous["custom_fields"] = old
                deal["custom_fields"].update(custom)
        elif deal.get(key) != value:
            previous[key] = deal.get(key)
            deal[key] = value
    if "status" in previous:
        _status_times(deal, now)
    if "stage_id" in previous:
        deal["stage_change_time"] = now
    if previous:
        deal["update_time"] = now
    return previous


def _check(deal: dict[str, Any], changes: dict[str, Any], field_types: dict[str, str]) -> None:
    unknown = sorted(set(changes) - set(DEAL_WRITABLE))
    if unknown:
        raise bad_request(f"Validation failed: unknown or read-only properties: {', '.join(unknown)}")
    status = changes.get("status", deal["status"])
    if status not in STATUSES:
        raise bad_request(f"Validation failed: status: must be one of {', '.join(STATUSES)}")
    if changes.get("lost_reason") is not None and status != "lost":
        raise bad_request("Validation failed: lost_reason: Can only be set if deal status is lost")
    custom = changes.get("custom_fields") or {}
    if not isinstance(custom, dict):
        raise bad_request("Validation failed: custom_fields: must be an object")
    texts = ("varchar", "varchar_auto", "text")
    for key, value in custom.items():
        if key not in field_types:
            raise bad_request(f"Validation failed: custom_fields: unknown field {key}")
        if field_types[key] in texts and value is not None and not isinstance(value, str):
            raise bad_request(f"Validation failed: custom_fields.{key}: must be a string")


def _status_times(deal: dict[str, Any], now: datetime) -> None:
    status = deal["status"]
    for key in ("won_time", "lost_time", "close_time", "local_won_date", "local_lost_date", "local_close_date"):
        deal[key] = None
    if status == "open":
        deal["lost_reason"] = None
        return
    deal["close_time"] = now
    deal["local_close_date"] = now.date()
    if status == "won":
        deal["won_time"] = now
        deal["local_won_date"] = now.date()
        deal["_first_won_time"] = deal["_first_won_time"] or now
    else:
        deal["lost_time"] = now
        deal["local_lost_date"] = now.date()
