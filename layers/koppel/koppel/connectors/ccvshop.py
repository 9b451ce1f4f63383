"""CCV Shop as a source: signed REST reads of orders, webhook checks, and polling by create date.

API: ``{shop}/api/rest/v1/`` (docs at https://demo.ccvshop.nl/API/Docs/; VENDORS.md §1). Every request is
signed: ``x-hash = hex HMAC-SHA512(secret, public|METHOD|uri|body|x-date)`` with ``uri`` the path including
``/api/rest/v1/…`` and the query string, as the official PHP SDK (ccvshop/ccvshop-api ``BaseEndpoint``) does;
responses carry the same kind of hash, checked here when present. Mapping to the canonical model lives in
``ccvshop_mapping``.

CCV has no "modified since" filter, so ``poll`` lists by create date and reports still-open orders as
unsettled: the poll service keeps its watermark before them and sees them again once they complete.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import urlencode, urlsplit

import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from koppel.connectors.ccvshop_mapping import (
    CANCELLED,
    created_at,
    normalize_order,
    order_event_id,
    read_preview_file,
    skip_reason,
)
from koppel.errors import AuthError, InputError, PermanentError, RetryableError, SignatureError
from koppel.http import json_body, send
from koppel.inbound import ascii_digits, read_json
from koppel.ports import PolledRecord, WebhookNotice

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from koppel.connectors import ConnectorContext
    from koppel.model import Connection, HubEvent

__all__ = [
    "CcvshopSettings",
    "CcvshopSource",
    "build_source",
    "normalize_order",
    "preview_events",
    "read_preview_file",
]

API_PREFIX = "/api/rest/v1/"
ORDER_EVENTS = ("orders.status_changed", "orders.is_paid")
"""Order events Koppel subscribes to (named after the recorded webhook bodies; CCV does not document the list)."""
ACCEPT = "application/vnd.verto.webshop+json"
VENDOR = "CCV Shop"
RATE_LIMIT_WAIT = 60.0
"""CCV's limits are per minute (codes 429.10 per resource, 429.11 shop-wide): without a Retry-After, wait one."""
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class CcvshopSettings(BaseModel):
    """A connection's CCV Shop settings (``Connection.source_settings``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str
    """The shop's root address, like https://demo.ccvshop.nl (the API is under /api/rest/v1/)."""
    webhook_signature: Literal["body", "address_body"] = "body"
    """How CCV computes a webhook's x-hash — unverified, hence a switch: "body" = hex HMAC-SHA512(webhook key,
    raw body); "address_body" = the same over ``delivery address + "|" + raw body`` (the recipe of CCV's
    app handshake)."""
    book_on_status: tuple[int, ...] = (7,)
    """Order statuses that make a paid order bookable (7 = Completed)."""
    max_open_days: int = Field(default=30, ge=1, le=366)
    """An order still open after this many days is no longer waited for by the poll watermark."""
    page_size: int = Field(default=100, ge=1, le=1000)

    @field_validator("base_url")
    @classmethod
    def _shop_root(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        value = value.removesuffix(API_PREFIX.rstrip("/"))
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be the shop's address, like https://demo.ccvshop.nl")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
            raise ValueError("must use https (plain http only for a local sandbox on 127.0.0.1)")
        if parts.path or parts.query or parts.fragment:
            raise ValueError("must be the shop's root address without a path, like https://demo.ccvshop.nl")
        return value

    @field_validator("book_on_status")
    @classmethod
    def _statuses(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value:
            raise ValueError("needs at least one status (7 = Completed)")
        if any(status not in range(1, 15) for status in value):
            raise ValueError("CCV order statuses are 1 to 14")
        if CANCELLED in value:
            raise ValueError("status 8 is Cancelled: a cancelled order is never booked")
        return value


class CcvshopSource:
    """The Source port for one CCV shop (one connection)."""

    name: ClassVar[str] = "ccvshop"

    def __init__(
        self,
        settings: CcvshopSettings,
        connection: Connection,
        *,
        public_key: str,
        secret_key: str,
        webhook_keys: tuple[str, ...],
        session: requests.Session,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self._connection = connection
        self._public = public_key
        self._secret = secret_key.encode()
        self._webhook_keys = webhook_keys
        self._session = session
        self._clock = clock
        self._listed: dict[str, Mapping[str, Any]] = {}
        """Orders a poll just listed in full: hydrating one of them reads only its rows."""

    # --- webhooks -------------------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, url: str) -> None:
        """Check the webhook's x-hash under the configured recipe (``webhook_signature``), in constant time."""
        recipe = self.settings.webhook_signature
        other = "address_body" if recipe == "body" else "body"
        if not self._webhook_keys:
            raise SignatureError(
                "no webhook_key secret is set for this CCV Shop connection: set it to the 'key' CCV returned "
                "when the webhook was registered"
            )
        # bytes, not str: compare_digest raises on a non-ASCII str, and a sender's header may be anything
        given = next((v for k, v in headers.items() if k.lower() == "x-hash"), "").strip().lower().encode()
        if not given:
            raise SignatureError("the CCV Shop webhook has no x-hash header, so its sender cannot be verified")
        if recipe == "address_body" and not url:
            raise SignatureError("the 'address_body' webhook recipe needs the address the webhook was sent to")
        message = body if recipe == "body" else url.encode() + b"|" + body
        expected = [hmac.new(key.encode(), message, hashlib.sha512).hexdigest().encode() for key in self._webhook_keys]
        if not any(hmac.compare_digest(given, candidate) for candidate in expected):
            raise SignatureError(
                f"the CCV Shop webhook's x-hash does not match the {recipe!r} recipe "
                f"({_RECIPES[recipe]}). Check the webhook_key secret; if it is right, CCV signs another way: "
                f"set webhook_signature to {other!r} ({_RECIPES[other]}) in the connection's CCV Shop settings"
            )

    def parse_webhook(self, body: bytes) -> WebhookNotice:
        return parse_order_webhook(body)

    # --- reads ----------------------------------------------------------------------------------------

    def hydrate(self, notice: WebhookNotice) -> list[HubEvent]:
        """Re-read the order and its rows; [] while it is not bookable (not completed, not paid, cancelled)."""
        if notice.entity != "order":
            raise InputError(f"the CCV Shop connector only reads orders, not {notice.entity!r}")
        order_id = _numeric_id(notice.record_id)
        listed = self._listed.pop(order_id, None) if notice.topic == "poll" else None
        order = listed if listed is not None else self._get(f"orders/{order_id}")
        if not isinstance(order, Mapping):
            raise PermanentError(f"CCV Shop answered GET orders/{order_id} with something that is not an order")
        if skip_reason(order, self.settings.book_on_status):
            return []
        return [normalize_order(order, self._rows(order_id), self._connection)]

    def poll(self, since: datetime, until: datetime) -> Iterator[PolledRecord]:
        """Orders created in [since, until), oldest first, each bookable, skipped (with why) or still open."""
        if since.tzinfo is None or until.tzinfo is None:
            raise InputError("a CCV Shop poll window needs time-zone aware timestamps")
        query = {
            "min_create_date": _ccv_time(since),
            "max_create_date": _ccv_time(until),
            "orderby": "create_date",
            "start": 0,
            "size": self.settings.page_size,
        }
        listed = []
        for order in self._collection(f"orders?{urlencode(query)}"):
            created = created_at(order)
            if since <= created < until:
                listed.append((created, str(order.get("id")), order))
        # CCV is asked to sort by create date; sorting again makes "oldest first" hold even if it did not.
        listed.sort(key=lambda item: (item[0], item[1].zfill(20)))
        for created, _, order in listed:
            yield self._polled(order, created)

    def _polled(self, order: Mapping[str, Any], created: datetime) -> PolledRecord:
        if "customer" not in order or "status" not in order or "paid" not in order:
            order = self._get(f"orders/{_numeric_id(str(order.get('id')))}")
        order_id = _numeric_id(str(order.get("id")))
        reason = skip_reason(order, self.settings.book_on_status)
        if not reason:
            # Its rows are read only if the poll asks (hydrate): most polled orders are booked already.
            self._listed[order_id] = order
            return PolledRecord(
                record_id=order_id,
                changed_at=created,
                event_ids=(order_event_id(order_id),),
                notice=WebhookNotice(entity="order", record_id=order_id, topic="poll"),
            )
        if order.get("status") == CANCELLED:
            return PolledRecord(record_id=order_id, changed_at=created, skipped_reason=reason)
        is_stale = self._clock() - created > timedelta(days=self.settings.max_open_days)
        if is_stale:
            reason += f"; open for more than {self.settings.max_open_days} days, no longer waited for"
        return PolledRecord(record_id=order_id, changed_at=created, skipped_reason=reason, is_settled=is_stale)

    def _rows(self, order_id: str) -> list[Mapping[str, Any]]:
        query = urlencode({"start": 0, "size": self.settings.page_size})
        return list(self._collection(f"orders/{order_id}/orderrows?{query}"))

    def _collection(self, uri: str) -> Iterator[Mapping[str, Any]]:
        """Every item of a collection, following ``next`` (kept to its path: only this shop is ever asked)."""
        seen: set[str] = set()
        next_uri: str | None = uri
        while next_uri and next_uri not in seen:
            seen.add(next_uri)
            page = self._get(next_uri)
            items = page.get("items") if isinstance(page, Mapping) else None
            if not isinstance(items, list):
                raise PermanentError(f"CCV Shop answered GET {next_uri} without an items list")
            yield from (item for item in items if isinstance(item, Mapping))
            link = page.get("next")
            next_uri = _api_path(link) if isinstance(link, str) and link and items else None

    def _get(self, uri: str) -> Any:
        """A signed GET of ``/api/rest/v1/<uri>``; the answer's own x-hash is checked when it has one."""
        return self._request("GET", uri)

    def register_webhooks(self, address: str, events: tuple[str, ...] = ORDER_EVENTS) -> list[str]:
        """Subscribe ``address`` to the order events (once each: an existing subscription is reused) and return
        the webhook keys, which sign what CCV Shop sends there."""
        existing = {
            (str(hook.get("event")), str(hook.get("address"))): str(hook.get("key", ""))
            for hook in self._collection("webhooks")
        }
        keys = []
        for event in events:
            key = existing.get((event, address))
            if not key:
                created = self._request("POST", "webhooks", {"event": event, "address": address, "is_active": True})
                key = str(created.get("key", "")) if isinstance(created, Mapping) else ""
            if not key:
                raise PermanentError(f"CCV Shop registered the {event} webhook without a key")
            keys.append(key)
        return keys

    def _request(self, method: str, uri: str, payload: Mapping[str, Any] | None = None) -> Any:
        url = self.settings.base_url + API_PREFIX + uri
        body = json.dumps(payload, separators=(",", ":")) if payload is not None else ""
        path = requests.Request(method, url).prepare().path_url  # exactly what goes on the wire
        x_date = self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        headers = {
            "x-public": self._public,
            "x-date": x_date,
            "x-hash": self._sign(f"{self._public}|{method}|{path}|{body}|{x_date}".encode()),
            "Accept": ACCEPT,
        }
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = send(
                self._session, method, url, vendor=VENDOR, describe_error=describe_error, headers=headers,
                data=body.encode() if body else None,
            )  # fmt: skip
        except RetryableError as error:
            if error.status == 429 and error.retry_after is None:
                raise RetryableError(str(error), retry_after=RATE_LIMIT_WAIT, status=429) from error
            raise
        self._check_answer(method, path, response)
        return json_body(response) if response.content else None

    def _check_answer(self, method: str, path: str, response: requests.Response) -> None:
        given = response.headers.get("x-hash")
        if given is None:
            return
        message = f"{self._public}|{method}|{path}|".encode() + response.content
        message += f"|{response.headers.get('x-date', '')}".encode()
        if not hmac.compare_digest(given.strip().lower().encode(), self._sign(message).encode()):
            raise AuthError(
                f"response signature invalid for {method} {path}: CCV Shop's x-hash does not match the answer, so the "
                "secret_key is wrong or the answer was altered on the way. Check the API keys and reconnect."
            )

    def _sign(self, message: bytes) -> str:
        return hmac.new(self._secret, message, hashlib.sha512).hexdigest()


_RECIPES = {
    "body": "hex HMAC-SHA512 of the raw body with the webhook key",
    "address_body": 'hex HMAC-SHA512 of the delivery address + "|" + the raw body with the webhook key',
}
_ORDER_HREF = re.compile(r"/orders/[0-9]+/?$")


def parse_order_webhook(body: bytes) -> WebhookNotice:
    """A CCV order webhook (status changed, paid, track and trace) as a notice; the order is re-read later."""
    data = read_json(body, "CCV Shop webhook body")
    if not isinstance(data, dict):
        raise InputError("the CCV Shop webhook body must be a JSON object with the order's id")
    href = data.get("href")
    if isinstance(href, str) and href and not _ORDER_HREF.search(href):
        raise InputError(f"the CCV Shop webhook is about {href}, not an order")
    order_id = ascii_digits(data.get("id"), "the CCV Shop webhook's order id ('id')")
    if "previous_status" in data or "status" in data:
        topic = "status_changed"
    elif "track_and_trace_code" in data:
        topic = "track_and_trace"
    elif "paid" in data:
        topic = "is_paid"
    else:
        topic = "changed"
    return WebhookNotice(entity="order", record_id=str(int(order_id)), topic=topic)


def describe_error(response: requests.Response) -> str:
    """CCV's error body ``{"code": "429.10", "status": 429, "developermessage": "..."}`` as one sentence."""
    try:
        data = json_body(response)
    except RetryableError:
        data = None
    if isinstance(data, dict) and (data.get("developermessage") or data.get("code")):
        message = str(data.get("developermessage") or data.get("message") or "no message")
        return f"{message} (code {data['code']})" if data.get("code") else message
    text = response.text.strip()
    return text[:300] if text else response.reason or "no message"


def build_source(ctx: ConnectorContext) -> CcvshopSource:
    """The CCV Shop source of one connection; settings and secrets are checked here, with what to fix."""
    try:
        settings = CcvshopSettings.model_validate(dict(ctx.settings))
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in error.errors())
        raise InputError(
            f"the CCV Shop settings of connection {ctx.connection.connection_id} are wrong: {problems}"
        ) from error
    webhook_key = ctx.secrets.get("webhook_key", "")
    return CcvshopSource(
        settings,
        ctx.connection,
        public_key=_secret(ctx, "public_key", "the public key of the shop's API credentials"),
        secret_key=_secret(ctx, "secret_key", "the secret key of the shop's API credentials"),
        webhook_keys=tuple(key for key in re.split(r"[\s,]+", webhook_key) if key),
        session=ctx.session,
        clock=ctx.clock,
    )


def preview_events(
    record: Mapping[str, Any], connection: Connection, *, book_on_status: tuple[int, ...] = (7,)
) -> list[HubEvent]:
    """``koppel preview``: one file (the order with its rows collection, see read_preview_file) as the events
    the connector would enqueue — [] while the order is not bookable, as ``hydrate`` would answer."""
    order, rows = read_preview_file(record)
    if skip_reason(order, book_on_status):
        return []
    return [normalize_order(order, rows, connection)]


def _secret(ctx: ConnectorContext, name: str, what: str) -> str:
    value = ctx.secrets.get(name, "").strip()
    if not value:
        raise InputError(
            f"the CCV Shop secret {name!r} is not set for connection {ctx.connection.connection_id}: set it to {what}"
        )
    return value


def _numeric_id(value: str) -> str:
    return ascii_digits(value, "a CCV Shop order id")


def _ccv_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _api_path(link: str) -> str:
    """A ``next`` href (absolute, maybe on another host name of the shop) as a path under the API prefix."""
    parts = urlsplit(link)
    path = parts.path
    if not path.startswith(API_PREFIX):
        raise PermanentError(f"CCV Shop's next link {link!r} is not under {API_PREFIX}")
    return path.removeprefix(API_PREFIX) + (f"?{parts.query}" if parts.query else "")


def register_webhooks(source: CcvshopSource, address: str) -> dict[str, str]:
    """Called when a connection is added with a webhook address: the keys become the ``webhook_key`` secret."""
    return {"webhook_key": ",".join(source.register_webhooks(address))}
