"""Webhook deliveries: the POSTs Pipedrive makes, the outbox tests drain, and the sandbox's webhook desk.

A delivery fails on a non-2xx answer or after a 10-second timeout [V]
(https://pipedrive.readme.io/docs/webhooks-for-apps). Retries [I]: 3 more tries, 3 s, 30 s and 150 s after
the failure before them; each retry carries ``meta.attempt`` one higher (the recorded body has
``"attempt": 1``). The outbox only hands out deliveries that are due, unless asked for all.
"""

from __future__ import annotations

import base64
import copy
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.pipedrive import deals
from devkit.sandboxes.pipedrive.core import Core
from devkit.sandboxes.pipedrive.webhooks import matches, new_subscription, payload
from devkit.sandboxes.pipedrive.wire import dumps

if TYPE_CHECKING:
    from collections.abc import Callable

    from devkit.sandboxes.pipedrive.store import Company, User

RETRY_DELAYS = (timedelta(seconds=3), timedelta(seconds=30), timedelta(seconds=150))
TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Delivery:
    """One webhook POST as Pipedrive sends it; ``body`` is rendered with this delivery's attempt number."""

    url: str
    auth: tuple[str, str] | None
    payload: dict[str, Any]
    webhook_id: int
    event: str
    attempt: int = 1
    due_at: datetime | None = None

    @property
    def body(self) -> bytes:
        meta = {**self.payload["meta"], "attempt": self.attempt}
        return dumps({**self.payload, "meta": meta}).encode()

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "Pipedrive Webhooks"}
        if self.auth:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
        return headers


def post_with_requests(delivery: Delivery) -> int:
    import requests  # only needed when the sandbox posts by itself

    try:
        response = requests.post(delivery.url, data=delivery.body, headers=delivery.headers, timeout=TIMEOUT_SECONDS)
    except requests.RequestException:
        return 0  # no answer (refused, timed out): a failed attempt
    return response.status_code


@dataclass
class Outbox:
    """Deliveries waiting to be POSTed (tests decide when), with Pipedrive's retries after a failure."""

    items: list[Delivery] = field(default_factory=list)
    delivered: list[tuple[Delivery, int]] = field(default_factory=list)
    failed: list[tuple[Delivery, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, deliveries: list[Delivery]) -> None:
        with self.lock:
            self.items.extend(deliveries)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.delivered.clear()
            self.failed.clear()

    def pending(self) -> list[Delivery]:
        with self.lock:
            return list(self.items)

    def deliver(
        self, post: Callable[[Delivery], int], now: datetime, *, due_only: bool = True
    ) -> list[tuple[Delivery, int]]:
        """POST every delivery that is due (all when ``due_only`` is False); returns (delivery, status) pairs."""
        with self.lock:
            batch = [d for d in self.items if not due_only or d.due_at is None or d.due_at <= now]
            self.items = [d for d in self.items if not any(d is b for b in batch)]
        results = []
        for delivery in batch:
            status = post(delivery)
            results.append((delivery, status))
            with self.lock:
                if 200 <= status < 300:
                    self.delivered.append((delivery, status))
                elif delivery.attempt <= len(RETRY_DELAYS):
                    retry = replace(
                        delivery, attempt=delivery.attempt + 1, due_at=now + RETRY_DELAYS[delivery.attempt - 1]
                    )
                    self.items.append(retry)
                else:
                    self.failed.append((delivery, status))
        return results


class WebhookDesk(Core):
    """Mixed into PipedriveSandbox: fire, register, list and deliver webhooks."""

    def emit(
        self,
        company: Company,
        action: str,
        entity: str,
        entity_id: int,
        previous: dict[str, Any] | None,
        *,
        user_id: int | None = None,
        source: str = "app",
    ) -> None:
        record = self.store.find(entity, entity_id, company.id)
        data: dict[str, Any] | None
        if entity == "deal" and record is not None:
            data = deals.webhook_data(record, self.field_types(company.id), created=action == "create")
        else:
            data = None if record is None else copy.deepcopy(record)
        now, who = self.clock(), user_id or self.owner(company)
        fresh = [
            Delivery(
                url=hook["subscription_url"],
                auth=(hook["http_auth_user"], hook["http_auth_password"] or "") if hook["http_auth_user"] else None,
                payload=payload(
                    hook,
                    action=action,
                    entity=entity,
                    entity_id=entity_id,
                    data=data,
                    previous=previous,
                    user_id=who,
                    host=company.host,
                    change_source=source,
                    now=now,
                ),
                webhook_id=hook["id"],
                event=f"{action}.{entity}",
            )
            for hook in self.webhooks.values()
            if hook["company_id"] == company.id and matches(hook, action, entity)
        ]
        self.outbox.add(fresh)
        if self.auto_deliver and fresh:
            threading.Thread(target=self.deliver_webhooks, daemon=True).start()

    def register_webhook(
        self,
        event: str,
        url: str,
        *,
        user: User | None = None,
        http_auth: tuple[str, str] | None = None,
    ) -> dict[str, Any]:
        """The Python twin of ``POST /v1/webhooks`` (``event`` like "change.deal"; version 2.0)."""
        action, _, entity = event.partition(".")
        who = user or next(iter(self.company().users.values()))
        body = {"subscription_url": url, "event_action": action, "event_object": entity, "version": "2.0"}
        if http_auth:
            body |= {"http_auth_user": http_auth[0], "http_auth_password": http_auth[1]}
        with self.lock:
            hook = new_subscription(self.store.next_id("webhook"), who.company_id, who.id, body, False, self.clock())
            hook["_client"] = None
            self.webhooks[hook["id"]] = hook
            return dict(hook)

    def pending_webhooks(self) -> list[Delivery]:
        return self.outbox.pending()

    def deliver_webhooks(
        self, post: Callable[[Delivery], int] | None = None, *, due_only: bool = True
    ) -> list[tuple[Delivery, int]]:
        """POST the due deliveries (``requests`` unless ``post`` is given; it returns the HTTP status)."""
        results = self.outbox.deliver(post or post_with_requests, self.clock(), due_only=due_only)
        with self.lock:
            for delivery, status in results:
                hook = self.webhooks.get(delivery.webhook_id)
                if hook is not None:
                    hook["last_delivery_time"], hook["last_http_status"] = (
                        self.clock().strftime("%Y-%m-%d %H:%M:%S"),
                        status,
                    )
        return results
