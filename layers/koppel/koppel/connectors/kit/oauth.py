"""OAuth 2.0 grants whose refresh token rotates (QuickBooks Online, Pipedrive): renewed by one worker at a time,
and the rotated refresh token stored before anything uses it, so that no race and no crash loses it.

Why by hand: Intuit's ``intuit-oauth`` client can make the refresh call, but the hard part is around it. Every
worker of a connection shares one grant in the connection store (encrypted, versioned), and a refresh token that
rotates may be used once: two workers refreshing at once would each spend it, and the loser's answer would be
``invalid_grant`` or, worse, a rotated token that nobody stored. So a worker first takes a short lease on the
grant with a conditional write on its version; only the lease holder calls the vendor; it stores the answer
(version + 1) at once; the others wait for that version and use it. A lease left by a worker that died lapses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from koppel.connectors.kit.replies import StatusNote
from koppel.errors import AuthError, RetryableError
from koppel.ports import CachedToken

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from koppel.connectors.contract import ConnectorContext

REFRESH_MARGIN = timedelta(seconds=120)
"""Renew this long before the access token expires, so no call starts with a token about to lapse."""
LEASE = timedelta(seconds=90)
"""How long one worker may take to renew: longer than a refresh call with its timeouts ever takes."""
POLL_SECONDS = 0.05
"""How often a worker waiting for another's renewal looks at the store."""
KEEP_ALIVE = timedelta(days=1)
"""An idle grant is renewed at least this often: refresh tokens lapse after weeks without use."""
N = TypeVar("N", bound=StatusNote)
T = TypeVar("T")


@dataclass(frozen=True)
class Renewal:
    """The vendor's answer to a refresh: a new access token, and the refresh token to use next time."""

    access_token: str
    expires_in: int
    refresh_token: str
    """The rotated refresh token; the one sent, when the vendor did not rotate it."""
    refresh_expires_in: int | None = None


class OAuthTokens:
    """``renew(refresh_token)`` calls the vendor's token endpoint; it raises AuthError for ``invalid_grant``."""

    def __init__(
        self,
        ctx: ConnectorContext,
        system: str,
        renew: Callable[[str], Renewal],
        *,
        vendor: str,
        wait: Callable[[float], None] = time.sleep,
    ) -> None:
        self._ctx = ctx
        self._system = system
        self._renew = renew
        self._vendor = vendor
        self._wait = wait
        self._grant: CachedToken | None = None

    def current(self) -> str:
        """A fresh access token: the stored one, or one renewed now (by this worker or the one holding the lease)."""
        grant = self._grant or self._stored()
        if grant is None or grant.refreshing_until is not None or self._expiring(grant):
            grant = self._refreshed(grant)
        self._grant = grant
        return grant.value

    def renew_now(self) -> None:
        """After the vendor refused the access token it gave (a 401): renew, whatever the clock says."""
        self._grant = self._refreshed(self._grant or self._stored(), force=True)

    def call_renewing(self, attempt: Callable[[N], T], new_note: Callable[[], N]) -> T:
        """One call with the current token; a 401 renews the grant and tries once more (a second 401 stands)."""
        note = new_note()
        try:
            return attempt(note)
        except AuthError:
            if note.status != 401:
                raise
        self.renew_now()
        return attempt(new_note())

    def keep_alive(self, every: timedelta = KEEP_ALIVE) -> bool:
        """Renew an idle grant so that its refresh token never lapses; True when it was renewed now."""
        grant = self._stored()
        if grant is None:
            return False
        last = grant.refreshed_at or grant.expires_at - timedelta(hours=1)
        if self._ctx.clock() - last < every:
            return False
        self._grant = self._refreshed(grant, force=True)
        return True

    # -- the single flight ------------------------------------------------------------------------------------------
    def _refreshed(self, seen: CachedToken | None, *, force: bool = False) -> CachedToken:
        """The grant renewed by this worker under a lease, or by the worker that holds it (``force``: the access
        token ``seen`` was refused, so only a newer one will do)."""
        seen_version = seen.version if seen else 0
        waited = 0.0
        while True:
            grant = self._stored()
            if grant is None:
                raise AuthError(f"{self._vendor} is not connected (no OAuth grant stored): reconnect it")
            now = self._ctx.clock()
            if grant.refreshing_until is None:
                if not self._expiring(grant) and (grant.version > seen_version or not force):
                    return grant
            elif grant.refreshing_until > now:  # another worker renews it now: its answer is stored in seconds
                if waited > LEASE.total_seconds():
                    raise RetryableError(f"{self._vendor}'s token is being renewed by another worker", retry_after=5)
                self._wait(POLL_SECONDS)
                waited += POLL_SECONDS
                continue
            # Expiring, refused, or left leased by a worker that died: take the lease (one worker wins the write)
            leased = grant.model_copy(update={"version": grant.version + 1, "refreshing_until": now + LEASE})
            if self._put(leased):
                return self._renew_holding(leased)

    def _renew_holding(self, leased: CachedToken) -> CachedToken:
        try:
            answer = self._renew(leased.refresh_token)
        except BaseException:
            self._put(leased.model_copy(update={"version": leased.version + 1, "refreshing_until": None}))
            raise
        now = self._ctx.clock()
        renewed = CachedToken(
            value=answer.access_token,
            expires_at=now + timedelta(seconds=answer.expires_in),
            version=leased.version + 1,
            refresh_token=answer.refresh_token or leased.refresh_token,
            refresh_expires_at=(
                now + timedelta(seconds=answer.refresh_expires_in)
                if answer.refresh_expires_in
                else leased.refresh_expires_at
            ),
            refreshed_at=now,
        )
        if not self._put(renewed):  # only if the lease lapsed and another worker took it: keep the newest anyway
            current = self._stored()
            version = (current.version if current else renewed.version - 1) + 1
            renewed = renewed.model_copy(update={"version": version})
            self._put(renewed)
        return renewed

    # -- the store --------------------------------------------------------------------------------------------------
    def _expiring(self, grant: CachedToken) -> bool:
        return self._ctx.clock() >= grant.expires_at - REFRESH_MARGIN

    def _stored(self) -> CachedToken | None:
        store = self._ctx.store
        if store is None:  # a preview: the grant lives in this object, seeded from the placeholder secrets
            return self._grant or self._placeholder()
        return store.get_token(self._ctx.connection.connection_id, self._system)

    def _put(self, grant: CachedToken) -> bool:
        store = self._ctx.store
        if store is None:
            self._grant = grant
            return True
        return store.put_token(self._ctx.connection.connection_id, self._system, grant)

    def _placeholder(self) -> CachedToken:
        epoch: datetime = self._ctx.clock() - timedelta(days=1)
        return CachedToken(value="", expires_at=epoch, refresh_token=self._ctx.secrets.get("refresh_token", ""))
