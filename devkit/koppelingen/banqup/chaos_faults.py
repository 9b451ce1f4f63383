"""Banqup's own faults in a chaos run, beyond the 503s and 429s of its FaultPlan, each decided by one seeded
generator: every token the firm holds expires just before some reads (mid-poll: the shared token is renewed once on
the 401), some download addresses are signed already expired (the storage host refuses them with its XML error, and
the file is read again for a fresh address), and the poll publishes some documents twice (a duplicate delivery)."""

from __future__ import annotations

import random
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

    from devkit.sandboxes.banqup.sandbox import BanqupSandbox


FRESH_SECONDS = 5
"""A token issued this recently never lapses in the run: a real one lasts five minutes, so it cannot expire twice
within one call (that would turn the connection red, asking to reconnect)."""


class BanqupFaults:
    def __init__(self, seed: int, token_expiry_rate: float, expired_url_rate: float, duplicate_rate: float) -> None:
        self.token_expiry_rate = token_expiry_rate
        self.expired_url_rate = expired_url_rate
        self.duplicate_rate = duplicate_rate
        self.counts = {"tokens expired": 0, "download addresses expired": 0, "published twice": 0}
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def roll(self, rate: float, counted: str) -> bool:
        with self._lock:
            if self._random.random() >= rate:
                return False
            self.counts[counted] += 1
            return True

    def on(self, banqup: BanqupSandbox) -> None:
        """Wrap the sandbox: its tokens lapse before some datastore requests, and some download URLs are expired."""
        handle, sign = banqup.handle, banqup.storage_url

        def expiring(request: Any) -> Any:
            if request.path.startswith("/datastore/") and self.roll(self.token_expiry_rate, "tokens expired"):
                with banqup.lock:
                    # a token lasts five minutes: one that was just issued (the renewal after a 401) does not lapse
                    issued_before = banqup.clock() + banqup.token_lifetime - FRESH_SECONDS
                    banqup.tokens = {
                        token: (firm, 0.0 if expires < issued_before else expires)
                        for token, (firm, expires) in banqup.tokens.items()
                    }
            return handle(request)

        def signed(method: str, document: Any) -> str:
            if method == "GET" and self.roll(self.expired_url_rate, "download addresses expired"):
                query = banqup.signer.query(method, document.id, banqup.clock(), lifetime=-1)
                return f"{banqup.base_url}/storage/banqup-sandbox/{document.id}?{query}"
            return sign(method, document)

        banqup.handle = expiring  # type: ignore[method-assign]
        banqup.storage_url = signed  # type: ignore[method-assign]

    @contextmanager
    def publishing_twice(self) -> Iterator[None]:
        """The poll publishes a share of its documents twice, as an at-least-once queue may deliver them."""
        from koppel.services import poll

        real = poll.publish  # type: ignore[attr-defined]

        def publish(connection: Any, events: Any, publisher: Any) -> None:
            real(connection, events, publisher)
            again = [e for e in events if self.roll(self.duplicate_rate, "published twice")]
            if again:
                real(connection, again, publisher)

        poll.publish = publish  # type: ignore[attr-defined]
        try:
            yield
        finally:
            poll.publish = real  # type: ignore[attr-defined]
