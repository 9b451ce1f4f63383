"""Pipedrive webhooks: subscriptions (``/v1/webhooks``) and v2 bodies like the recorded one (delivery.py posts).

Verified [V] (https://pipedrive.readme.io/docs/guide-for-webhooks-v2,
https://pipedrive.readme.io/docs/webhooks-for-apps, pipedrive/client-nodejs v1 models ``add-webhook-request``,
``base-webhook``):
- ``POST /v1/webhooks`` ``{subscription_url, event_action (create|change|delete|*), event_object (deal,
  person, organization, product, …, *), name?, user_id?, http_auth_user?, http_auth_password?, version
  ("1.0"|"2.0")}``; v2 adds objects such as ``deal_product``; at most 40 webhooks per user; over it the
  API answers 403 (status code page: "when the webhooks limit is reached … forbidden to create a new one").
  Webhooks made by an OAuth app have ``type`` "application", others "general".
- A v2 body is ``{"data", "previous", "meta"}``; meta as in the recorded ``create.deal`` body (ids as
  strings, ``version`` "2.0", ``attempt`` counting deliveries). No signature: only HTTP Basic auth with the
  subscription's user and password.
- A delivery fails on a non-2xx answer or after a 10-second timeout.
Assumed [I]: the retry schedule (see delivery.py). ``previous`` holds the old values of the fields the
change set (``null`` on create). Version "1.0" subscriptions are stored but get no deliveries (the v1 body
is not modelled). Error bodies of the
webhook endpoints: 400 ``{"success": false, "status": "error", "errors": {field: [message]}}`` (the SDK's
``WebhooksBadRequestResponse`` names), 403 in Pipedrive's generic error body.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from devkit.sandboxes.pipedrive.wire import PipedriveError, rfc3339_millis, v1_time

if TYPE_CHECKING:
    from datetime import datetime

MAX_PER_USER = 40
ACTIONS = ("create", "change", "delete", "*")
OBJECTS: tuple[str, ...] = ("activity", "deal", "deal_product", "lead", "note", "organization", "person")
OBJECTS += ("pipeline", "product", "stage", "user", "*")


class WebhookInvalid(PipedriveError):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(400, "Validation failed", body={"success": False, "status": "error", "errors": errors})


def new_subscription(
    ident: int, company_id: int, user_id: int, body: dict[str, Any], app: bool, now: datetime
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    url = body.get("subscription_url")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        errors["subscription_url"] = ["subscription_url must be a full, valid URL"]
    if body.get("event_action") not in ACTIONS:
        errors["event_action"] = [f"event_action must be one of {', '.join(ACTIONS)}"]
    if body.get("event_object") not in OBJECTS:
        errors["event_object"] = [f"event_object must be one of {', '.join(OBJECTS)}"]
    version = body.get("version", "1.0")
    if version not in ("1.0", "2.0"):
        errors["version"] = ["version must be 1.0 or 2.0"]
    if errors:
        raise WebhookInvalid(errors)
    return {
        "id": ident,
        "company_id": company_id,
        "owner_id": user_id,
        "user_id": int(body.get("user_id") or user_id),
        "event_action": body["event_action"],
        "event_object": body["event_object"],
        "subscription_url": url,
        "version": version,
        "is_active": True,
        "add_time": v1_time(now),
        "remove_time": None,
        "type": "application" if app else "general",
        "http_auth_user": body.get("http_auth_user"),
        "http_auth_password": body.get("http_auth_password"),
        "remove_reason": None,
        "last_delivery_time": None,
        "last_http_status": None,
        "admin_id": user_id,
        "name": body.get("name"),
    }


def matches(hook: dict[str, Any], action: str, entity: str) -> bool:
    return (
        hook["is_active"]
        and hook["version"] == "2.0"
        and hook["event_action"] in (action, "*")
        and hook["event_object"] in (entity, "*")
    )


def payload(
    hook: dict[str, Any],
    *,
    action: str,
    entity: str,
    entity_id: int,
    data: dict[str, Any] | None,
    previous: dict[str, Any] | None,
    user_id: int,
    host: str,
    change_source: str,
    now: datetime,
) -> dict[str, Any]:
    meta = {
        "action": action,
        "company_id": str(hook["company_id"]),
        "correlation_id": str(uuid.uuid4()),
        "entity_id": str(entity_id),
        "entity": entity,
        "id": str(uuid.uuid4()),
        "is_bulk_edit": False,
        "timestamp": rfc3339_millis(now),
        "type": "general",
        "user_id": str(user_id),
        "version": "2.0",
        "webhook_id": str(hook["id"]),
        "webhook_owner_id": str(hook["owner_id"]),
        "change_source": change_source,
        "permitted_user_ids": [str(hook["user_id"])],
        "attempt": 1,
        "host": host,
    }
    return {"data": data, "previous": previous, "meta": meta}
