"""Pipedrive's webhooks: the Basic credentials check, the v2 body read into a notice, and the subscription.

Pipedrive signs nothing: the only proof of the sender is the HTTP Basic user and password Koppel set on the
subscription (README.md in this folder). A deal is won when a ``change.deal`` body has ``data.status`` "won" and
``previous.status`` something else; every other body is acknowledged with a notice that books nothing.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING

from koppel.connectors.pipedrive.fields import VENDOR, record_id
from koppel.errors import InputError, PermanentError, SignatureError
from koppel.inbound import read_json, same_secret
from koppel.ports import WebhookNotice

if TYPE_CHECKING:
    from koppel.connectors.pipedrive.client import PipedriveClient

WON = "won"
"""The notice topic of a won deal (also the poll's): the invoice's date is the day it was won."""
BUTTON = "button"
"""The notice topic of the "Create invoice" button (app extension): the invoice's date is the day of the click."""
IGNORED = "ignored"
"""A webhook that books nothing (another change, another entity, or won deals do not invoice by themselves)."""
MAX_PER_USER = 40


def verify_basic(headers: Mapping[str, str], *, user: str, password: str) -> None:
    """The ``Authorization: Basic`` of a webhook must carry the subscription's user and password (constant time)."""
    if not user or not password:
        raise SignatureError(
            "no webhook_user and webhook_password secrets are set for this Pipedrive connection: subscribe the "
            "webhook again (koppel connections add --webhook-base), which sets them"
        )
    given = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, encoded = given.strip().partition(" ")
    refused = "the Pipedrive webhook did not carry the Basic credentials of its subscription"
    if scheme.lower() != "basic" or not encoded:
        raise SignatureError(refused)
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as error:  # ValueError: non-ASCII text; UnicodeDecodeError is one too
        raise SignatureError(refused) from error
    given_user, colon, given_password = decoded.partition(":")
    user_ok = same_secret(given_user, user)
    password_ok = same_secret(given_password, password)  # both compared, whatever the first says
    if not (colon and user_ok and password_ok):
        raise SignatureError(refused)


def parse_deal_webhook(body: bytes, *, won_creates_invoice: bool) -> WebhookNotice:
    """A v2 webhook as a notice: a won deal (when won deals make invoices), or one that books nothing."""
    data = read_json(body, "Pipedrive webhook body")
    meta = data.get("meta") if isinstance(data, Mapping) else None
    if not isinstance(meta, Mapping):
        raise InputError("the Pipedrive webhook body has no meta: it is not a Pipedrive webhook")
    if str(meta.get("version")) != "2.0":  # a v1 body (an old subscription): acknowledged, never refused
        entity, ident_text = str(meta.get("object") or "unknown"), str(meta.get("id") or "unknown")
        return WebhookNotice(entity=entity[:40], record_id=ident_text[:40], topic=IGNORED)
    entity = str(meta.get("entity") or "unknown")[:40]
    current = data.get("data")
    previous = data.get("previous")
    ident = record_id(current.get("id")) if isinstance(current, Mapping) else None
    ident = ident or record_id(meta.get("entity_id"))
    if ident is None:
        return WebhookNotice(entity=entity, record_id="unknown", topic=IGNORED)
    won = (
        entity == "deal"
        and meta.get("action") == "change"
        and isinstance(current, Mapping)
        and current.get("status") == WON
        and isinstance(previous, Mapping)
        and "status" in previous
        and previous.get("status") != WON
    )
    topic = WON if won and won_creates_invoice else IGNORED
    return WebhookNotice(entity=entity, record_id=str(ident), topic=topic)


def subscribe(client: PipedriveClient, address: str) -> dict[str, str]:
    """Subscribe ``address`` to ``change.deal`` (v2) with fresh Basic credentials; an existing subscription of the
    address is reused when Pipedrive shows its credentials, else replaced, so a second run adds no duplicate."""
    for hook in client.pages_v1("/v1/webhooks"):
        if hook.get("subscription_url") != address or hook.get("event_object") != "deal":
            continue
        user, password = str(hook.get("http_auth_user") or ""), str(hook.get("http_auth_password") or "")
        if hook.get("event_action") == "change" and str(hook.get("version")) == "2.0" and user and password:
            return {"webhook_user": user, "webhook_password": password}
        client.call("DELETE", f"/v1/webhooks/{hook.get('id')}")
    user, password = f"koppel-{secrets.token_hex(4)}", secrets.token_urlsafe(32)
    body = {
        "subscription_url": address,
        "event_action": "change",
        "event_object": "deal",
        "version": "2.0",
        "http_auth_user": user,
        "http_auth_password": password,
        "name": "Koppel: won deals to the accounting package",
    }
    try:
        client.call("POST", "/v1/webhooks", body=body)
    except PermanentError as error:
        if error.status == 403:
            raise PermanentError(
                f"{VENDOR} allows at most {MAX_PER_USER} webhooks per user and the connected user has reached it "
                f"({error.vendor_message}): delete unused ones in Pipedrive (Tools and apps → Webhooks), then "
                "subscribe again",
                status=403, vendor_message=error.vendor_message,
            ) from error  # fmt: skip
        raise
    return {"webhook_user": user, "webhook_password": password}
