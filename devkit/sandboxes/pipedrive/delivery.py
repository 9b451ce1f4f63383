"""Webhook deliveries: the POSTs Pipedrive makes and the outbox tests drain.

Verified [V] (https://pipedrive.readme.io/docs/guide-for-webhooks, "Retry logic" and "Webhooks policy";
https://pipedrive.readme.io/docs/webhooks-for-apps): a delivery fails on any non-2xx answer or after a
10-second timeout; then Pipedrive tries 3 more times, after 3, 30 and 150 seconds. Each failed *first*
attempt raises the webhook's ban counter; at 10 the webhook is banned for 30 minutes, and events in that
time are lost (not kept for later); then the counter starts at zero again. A webhook without any
successful delivery on 3 consecutive days is deleted (not modelled).
Assumed [I]: the delays count from the failure before (not from the first attempt); each retry carries
``meta.attempt`` one higher (the recorded body has ``"attempt": 1``). The outbox only hands out deliveries
that are due, unless asked for all; ``lost`` lists the events a ban swallowed.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.pipedrive.wire import dumps

if TYPE_CHECKING:
    from collections.abc import Callable


RETRY_DELAYS = (timedelta(seconds=3), timedelta(seconds=30), timedelta(seconds=150))
TIMEOUT_SECONDS = 10
BAN_AFTER = 10
BAN_FOR = timedelta(minutes=30)


def ban_on_failure(hook: dict[str, Any], now: datetime) -> None:
    """Count a failed first attempt; the tenth bans the webhook for 30 minutes."""
    hook["_ban_count"] = hook.get("_ban_count", 0) + 1
    if hook["_ban_count"] >= BAN_AFTER:
        hook["_banned_until"], hook["_ban_count"] = now + BAN_FOR, 0


def banned(hook: dict[str, Any], now: datetime, lost: list[str]) -> bool:
    """Whether the webhook is banned now; a banned webhook's event is noted in ``lost``."""
    until = hook.get("_banned_until")
    if until is not None and now < until:
        lost.append(str(hook["id"]))
        return True
    return False


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
    lost: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, deliveries: list[Delivery]) -> None:
        with self.lock:
            self.items.extend(deliveries)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.delivered.clear()
            self.failed.clear()
            self.lost.clear()

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
