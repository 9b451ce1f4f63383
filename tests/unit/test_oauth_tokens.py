"""OAuth grants with rotating refresh tokens (koppel/connectors/kit/oauth.py): many workers, one renewal, and the
rotated refresh token never lost, against a fake token endpoint that accepts each refresh token exactly once."""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests

from koppel.adapters.memory import MemoryConnectionStore
from koppel.connectors.contract import ConnectorContext
from koppel.connectors.kit.oauth import OAuthTokens, Renewal
from koppel.connectors.kit.replies import StatusNote
from koppel.errors import AuthError, RetryableError
from koppel.ports import CachedToken
from tests.fakes import T0, a_connection

SYSTEM = "fakebooks"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


class TokenEndpoint:
    """Rotates on every refresh; a refresh token works once (the strictest vendor); slow enough to race on."""

    def __init__(self, first_refresh: str = "r-0") -> None:
        self.valid = first_refresh
        self.seen: list[str] = []
        self.down = False
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def renew(self, refresh_token: str) -> Renewal:
        time.sleep(0.02)
        with self._lock:
            self.seen.append(refresh_token)
            if self.down:
                raise RetryableError("the token endpoint answered 503")
            if refresh_token != self.valid:
                raise AuthError("the vendor refused the refresh token (invalid_grant): reconnect")
            n = next(self._numbers)
            self.valid = f"r-{n}"
            return Renewal(access_token=f"a-{n}", expires_in=3600, refresh_token=self.valid, refresh_expires_in=8640000)


@pytest.fixture
def world() -> tuple[MemoryConnectionStore, TokenEndpoint, Clock]:
    store, vendor, clock = MemoryConnectionStore([a_connection()]), TokenEndpoint(), Clock()
    # Given a connection whose grant was stored when it connected: an access token that has just expired
    granted = CachedToken(value="a-0", expires_at=T0, version=1, refresh_token="r-0", refreshed_at=T0)
    assert store.put_token("demo-shop", SYSTEM, granted)
    return store, vendor, clock


def worker(store: MemoryConnectionStore, vendor: TokenEndpoint, clock: Clock) -> OAuthTokens:
    """What one Lambda container builds for the connection: its own object, the shared store."""
    ctx = ConnectorContext(
        connection=a_connection(), settings={}, secrets={}, session=requests.Session(), store=store, clock=clock
    )
    return OAuthTokens(ctx, SYSTEM, vendor.renew, vendor="FakeBooks")


def all_at_once(workers: list[OAuthTokens]) -> list[str]:
    """Every worker asks for the token at the same moment (a barrier releases them together)."""
    start = threading.Barrier(len(workers))

    def use(tokens: OAuthTokens) -> str:
        start.wait()
        return tokens.current()

    with ThreadPoolExecutor(len(workers)) as pool:
        return list(pool.map(use, workers))


def test_many_workers_renewing_at_once_spend_each_refresh_token_once_and_never_lose_the_rotated_one(world) -> None:
    store, vendor, clock = world
    workers = [worker(store, vendor, clock) for _ in range(16)]
    for round_ in range(1, 21):
        # When the access token has expired and sixteen workers all need it at the same moment
        clock.now = T0 + timedelta(hours=round_)
        tokens = all_at_once(workers)

        # Then the vendor was asked once, every worker got the one new token, and the store holds the newest refresh
        assert set(tokens) == {f"a-{round_}"}
        stored = store.get_token("demo-shop", SYSTEM)
        assert stored is not None and stored.refresh_token == vendor.valid and stored.refreshing_until is None
    # And no refresh token was ever sent twice (no invalid_grant, no rotated token lost)
    assert len(vendor.seen) == len(set(vendor.seen)) == 20


def test_a_refused_access_token_is_renewed_once_and_the_call_made_again(world) -> None:
    store, vendor, clock = world
    tokens = worker(store, vendor, clock)
    used: list[str] = []

    def call(note: StatusNote) -> str:
        token = tokens.current()
        used.append(token)
        if token == "a-1":  # the vendor refuses the first token it gave (revoked early)
            note.status = 401
            raise AuthError("401 from the vendor")
        return "booked"

    # When a call meets a 401, then the grant is renewed once and the second call goes through
    assert tokens.call_renewing(call, lambda: StatusNote(lambda response: response.text)) == "booked"
    assert used == ["a-1", "a-2"]


def test_invalid_grant_says_reconnect_and_leaves_no_lease_behind(world) -> None:
    store, vendor, clock = world
    vendor.valid = "r-issued-elsewhere"  # the user revoked Koppel's access at the vendor
    clock.now = T0 + timedelta(hours=1)
    # When a worker needs a token, then the vendor's refusal tells the person to reconnect
    with pytest.raises(AuthError, match="reconnect"):
        worker(store, vendor, clock).current()
    stored = store.get_token("demo-shop", SYSTEM)
    assert stored is not None and stored.refreshing_until is None


def test_a_renewal_that_failed_or_a_worker_that_died_lets_the_next_worker_renew(world) -> None:
    store, vendor, clock = world
    clock.now = T0 + timedelta(hours=1)
    # Given the token endpoint was down for one worker
    vendor.down = True
    with pytest.raises(RetryableError):
        worker(store, vendor, clock).current()
    vendor.down = False
    # And another worker took the lease and vanished (its lease lapsed)
    stored = store.get_token("demo-shop", SYSTEM)
    assert stored is not None
    vanished = stored.model_copy(update={"version": stored.version + 1, "refreshing_until": clock.now})
    assert store.put_token("demo-shop", SYSTEM, vanished)
    clock.now += timedelta(seconds=1)
    # When the next worker needs a token, then it renews with the refresh token that is still good
    assert worker(store, vendor, clock).current() == "a-1"


def test_an_idle_grant_is_kept_alive_once_a_day(world) -> None:
    store, vendor, clock = world
    tokens = worker(store, vendor, clock)
    # When less than a day passed since the last renewal, then nothing is renewed
    clock.now = T0 + timedelta(hours=23)
    assert tokens.keep_alive() is False
    # When a day passed, then the grant is renewed and its refresh token with it
    clock.now = T0 + timedelta(days=1, minutes=1)
    assert tokens.keep_alive() is True
    assert vendor.seen == ["r-0"]
    assert store.get_token("demo-shop", SYSTEM).refresh_token == "r-1"  # type: ignore[union-attr]
