"""One HTTP client recipe for every connector: timeouts always, retries that honour Retry-After, errors mapped.

requests + urllib3 Retry do the retrying; this module only sets them up and maps what is left over into
koppel.errors, so that every connector answers a 429, a 503 or a timeout the same way.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from koppel.errors import AuthError, PermanentError, RetryableError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

DEFAULT_TIMEOUT = (3.05, 20.0)
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class _TimeoutSession(requests.Session):
    """A Session that never waits forever: every request gets the connect/read timeout unless one is given."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self._timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)


class _CappedRetry(Retry):
    """urllib3 Retry that waits at most ``max_retry_after`` in-process; a longer Retry-After is honoured by
    the queue instead (the final 429 surfaces as RetryableError carrying the vendor's Retry-After)."""

    def __init__(self, *args: Any, max_retry_after: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_retry_after = max_retry_after

    def new(self, **kwargs: Any) -> _CappedRetry:
        kwargs.setdefault("max_retry_after", self.max_retry_after)
        return super().new(**kwargs)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        """A 429 that names no wait is not sent again at once: it surfaces to the connector, whose limiter (shared
        by the workers) or the queue waits. An in-process retry would pass the limiter by, and hammer the vendor."""
        if status_code == 429 and not has_retry_after:
            return False
        return bool(super().is_retry(method, status_code, has_retry_after))

    def get_retry_after(self, response: Any) -> float | None:
        retry_after = super().get_retry_after(response)
        return None if retry_after is None else min(retry_after, self.max_retry_after)


def session_for(
    user_agent: str = "Koppel/0.1 (+https://github.com/koppel)",
    *,
    retries: int = 2,
    max_retry_after: float = 10.0,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> requests.Session:
    """A Session with timeouts and in-process retries of idempotent requests (GET/PUT/DELETE, never POST).

    A Retry-After longer than ``max_retry_after`` is not slept in a Lambda: the error surfaces as
    RetryableError(retry_after=…) and the message goes back to the queue for that long instead.
    """
    retry = _CappedRetry(
        max_retry_after=max_retry_after,
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=0.2,
        status_forcelist=sorted(RETRYABLE_STATUS),
        allowed_methods=frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}),
        respect_retry_after_header=True,
        raise_on_status=False,
        backoff_max=max_retry_after,
    )
    session = _TimeoutSession(timeout)
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = user_agent
    # No proxy or .netrc look-ups from the environment on every request (a quarter of the client's CPU in a
    # profile): vendor calls go straight out; set HTTPS_PROXY handling per session where a deployment needs it.
    session.trust_env = False
    return session


RATE_LIMIT_RESET_HEADERS = ("RateLimit-Reset", "X-RateLimit-Reset", "X-Rate-Limit-Reset")
THROTTLE_WORDS = ("throttl", "rate limit", "ratelimit", "too many requests")


def retry_after_seconds(response: requests.Response) -> float | None:
    """How long the vendor asks us to wait: Retry-After (seconds or an HTTP date), else a rate-limit reset header
    (seconds to wait, or an epoch time when it is that large)."""
    value = response.headers.get("Retry-After")
    if value:
        if value.strip().isdigit():
            return float(value.strip())  # ok: not money (seconds)
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            pass
    for name in RATE_LIMIT_RESET_HEADERS:
        reset = response.headers.get(name, "").strip()
        if reset.isdigit():
            seconds = float(reset)  # ok: not money (seconds or epoch)
            return max(0.0, seconds - time.time()) if seconds > 1_000_000_000 else seconds
    return None


def _is_disguised_throttle(response: requests.Response) -> bool:
    """Some vendors answer a throttle with 403 (QuickBooks has been seen to, in XML): read the words, not the code."""
    return response.status_code == 403 and any(word in response.text[:2000].lower() for word in THROTTLE_WORDS)


SECRET_PARAMETER = re.compile(
    r"(?i)((?:session_?name|session|api_?token|access_?token|access_?key|token|key|password|secret)=)[^&\s'\"]+"
)
"""Query parameters that carry a credential (vtiger's sessionName, a Pipedrive api_token, …): never in an error."""


def redacted(text: str) -> str:
    """``text`` with every credential-like query parameter's value blanked out: error texts reach logs, the ledger
    and people (a button's answer), so a session id a vendor takes in its URL must not travel with them."""
    return SECRET_PARAMETER.sub(r"\1…", text)


def json_body(response: requests.Response) -> Any:
    """Parse a JSON answer with every number as Decimal: vendor amounts never pass through float."""
    try:
        return json.loads(response.text, parse_float=Decimal)
    except ValueError as error:
        raise RetryableError(
            redacted(f"{response.request.method} {response.url} answered {response.status_code} with no JSON body"),
            status=response.status_code,
        ) from error


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    vendor: str,
    describe_error: Callable[[requests.Response], str] | None = None,
    **kwargs: Any,
) -> requests.Response:
    """Send one request and map failure into koppel.errors; returns only 2xx responses."""
    try:
        response = session.request(method, url, **kwargs)
    except requests.Timeout as error:
        raise RetryableError(redacted(f"{vendor} did not answer {method} {url} in time: {error}")) from error
    except requests.ConnectionError as error:
        if _timed_out(error):  # a read timeout after the last in-process retry arrives wrapped as ConnectionError
            raise RetryableError(redacted(f"{vendor} did not answer {method} {url} in time: {error}")) from error
        raise RetryableError(redacted(f"could not reach {vendor} for {method} {url}: {error}")) from error
    if response.ok:
        return response
    raise error_for(response, vendor=vendor, describe_error=describe_error)


def _timed_out(error: requests.ConnectionError) -> bool:
    from urllib3.exceptions import MaxRetryError, ReadTimeoutError

    reason = error.args[0] if error.args else None
    return isinstance(reason, MaxRetryError) and isinstance(reason.reason, ReadTimeoutError)


def error_for(
    response: requests.Response, *, vendor: str, describe_error: Callable[[requests.Response], str] | None = None
) -> Exception:
    status = response.status_code
    detail = redacted((describe_error or _default_detail)(response))
    where = redacted(f"{response.request.method} {response.request.path_url}")
    if status in RETRYABLE_STATUS or _is_disguised_throttle(response):
        return RetryableError(
            f"{vendor} answered {status} to {where}: {detail}", retry_after=retry_after_seconds(response), status=status
        )
    if status in (401, 403):
        return AuthError(f"{vendor} refused the credentials ({status}) for {where}: {detail}. Reconnect the account.")
    return PermanentError(f"{vendor} rejected {where} ({status}): {detail}", status=status, vendor_message=detail)


def _default_detail(response: requests.Response) -> str:
    text = response.text.strip()
    return text[:500] if text else response.reason or "no message"


def shared_limits(limits: Sequence[tuple[int, float]], workers: int, margin: float = 0.05) -> list[tuple[int, float]]:
    """One worker's share of a vendor's limits when ``workers`` run at once, with a small margin for the time a
    request takes to arrive (the vendor counts arrivals, we count departures)."""
    shared = []
    for count, window in limits:
        if count <= 0:
            continue
        per_worker = max(1, count // max(1, workers))
        stretch = max(1.0, workers / count)
        shared.append((per_worker, window * stretch * (1 + margin)))
    return shared


class RateLimiter:
    """A vendor's published limits (N per second, M per minute, …) kept on our side, so a backlog drains at the
    allowed rate instead of in 429 storms.

    Sliding windows: exact for "at most N requests in any W seconds", which a token bucket is not (it allows its
    burst on top of the rate). Thread-safe. Hand-written because it is twenty lines and the libraries that do it
    (ratelimit, limits) would add a dependency for less. Across Lambdas, the queue's MaximumConcurrency divides it.
    """

    def __init__(
        self,
        limits: Sequence[tuple[int, float]],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._limits = [(count, window) for count, window in limits if count > 0]
        self._stamps: list[deque[float]] = [deque() for _ in self._limits]
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait until one more request fits every window; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                wait = 0.0
                for (count, window), stamps in zip(self._limits, self._stamps, strict=True):
                    while stamps and now - stamps[0] >= window - 1e-9:  # float sums of waits land a hair short
                        stamps.popleft()
                    if len(stamps) >= count:
                        wait = max(wait, stamps[0] + window - now)
                if wait <= 0:
                    for stamps in self._stamps:
                        stamps.append(now)
                    return waited
            self._sleep(wait)
            waited += wait
