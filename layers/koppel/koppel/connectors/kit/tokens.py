"""Short-lived access tokens (SnelStart's bearer, e-Boekhouden's session) cached in the connection store so every
worker shares one, renewed before they expire and after a 401."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from koppel.connectors.kit.replies import StatusNote
from koppel.errors import AuthError
from koppel.ports import CachedToken

if TYPE_CHECKING:
    from collections.abc import Callable

    from koppel.connectors.contract import ConnectorContext

REFRESH_MARGIN = timedelta(seconds=60)
N = TypeVar("N", bound=StatusNote)
T = TypeVar("T")


class SharedTokens:
    """``fetch()`` returns (token, seconds it lives); it is called only when no fresh token is cached.

    Tokens go in the connection store (in memory in a preview): concurrent workers that renew at once each store
    with the next version, one wins, and the loser takes the winner's token while it is fresh (both stay valid).
    """

    def __init__(self, ctx: ConnectorContext, system: str, fetch: Callable[[], tuple[str, int]]) -> None:
        self._ctx = ctx
        self._system = system
        self._fetch = fetch
        self._token: CachedToken | None = None

    def current(self) -> str:
        token = self._token or self._stored()
        if token is None or self._is_expiring(token):
            token = self._renew(token)
        self._token = token
        return token.value

    def call_renewing(self, attempt: Callable[[N], T], new_note: Callable[[], N]) -> T:
        """One call with the current token; a 401 renews the token and tries once more (a second 401 stands)."""
        note = new_note()
        try:
            return attempt(note)
        except AuthError:
            if note.status != 401:
                raise
        self.renew()
        return attempt(new_note())

    def renew(self) -> None:
        """After the vendor refused the token it gave (a 401): a new one, whatever the clock says."""
        self._token = self._renew(self._token or self._stored())

    def _stored(self) -> CachedToken | None:
        store = self._ctx.store
        return store.get_token(self._ctx.connection.connection_id, self._system) if store else None

    def _is_expiring(self, token: CachedToken) -> bool:
        return self._ctx.clock() >= token.expires_at - REFRESH_MARGIN

    def _renew(self, previous: CachedToken | None) -> CachedToken:
        value, lifetime = self._fetch()
        token = CachedToken(
            value=value,
            expires_at=self._ctx.clock() + timedelta(seconds=lifetime),
            version=previous.version + 1 if previous else 1,
        )
        store = self._ctx.store
        if store and not store.put_token(self._ctx.connection.connection_id, self._system, token):
            theirs = self._stored()
            if theirs and not self._is_expiring(theirs):
                return theirs
        return token
