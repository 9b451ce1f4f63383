"""CCV Shop as a source: orders read through the signed client, webhook checks, and polling by create date.

The shop's API and what is verified about it are in README.md in this folder; the signed calls are in ``client``,
the webhook recipe in ``webhooks`` and the pure translation to the canonical model in ``mapping``.

CCV has no "modified since" filter, so ``poll`` lists by create date and reports still-open orders as
unsettled: the poll service keeps its watermark before them and sees them again once they complete.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode

from pydantic import ValidationError

from koppel.connectors.ccvshop import webhooks
from koppel.connectors.ccvshop.client import CcvshopClient
from koppel.connectors.ccvshop.fields import created_at
from koppel.connectors.ccvshop.mapping import (
    CANCELLED,
    normalize_order,
    order_event_id,
    read_preview_file,
    skip_reason,
)
from koppel.connectors.ccvshop.settings import CcvshopSettings
from koppel.connectors.ccvshop.webhooks import ORDER_EVENTS
from koppel.errors import InputError, PermanentError
from koppel.inbound import ascii_digits
from koppel.ports import PolledRecord, WebhookNotice

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import requests

    from koppel.connectors.contract import ConnectorContext
    from koppel.model import Connection, HubEvent


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
        self._client = CcvshopClient(
            settings.base_url, public_key=public_key, secret_key=secret_key, session=session, clock=clock
        )
        self._webhook_keys = webhook_keys
        self._clock = clock
        self._listed: dict[str, Mapping[str, Any]] = {}
        """Orders a poll just listed in full: hydrating one of them reads only its rows."""

    # --- webhooks -------------------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, url: str) -> None:
        """Check the webhook's x-hash under the configured recipe (``webhook_signature``), in constant time."""
        webhooks.verify_signature(headers, body, url, keys=self._webhook_keys, recipe=self.settings.webhook_signature)

    def parse_webhook(self, body: bytes) -> WebhookNotice:
        return webhooks.parse_order_webhook(body)

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
        return self._client.collection(uri)

    def _get(self, uri: str) -> Any:
        return self._client.get(uri)

    def register_webhooks(self, address: str, events: tuple[str, ...] = ORDER_EVENTS) -> list[str]:
        """Subscribe ``address`` to the order events (existing subscriptions reused); the keys that sign them."""
        return webhooks.register(self._client, address, events)

    def subscribe_webhooks(self, address: str) -> dict[str, str]:
        """When a connection is added with a webhook address: the keys become the ``webhook_key`` secret."""
        return {"webhook_key": ",".join(self.register_webhooks(address))}


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
