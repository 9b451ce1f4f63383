from __future__ import annotations

from koppel.http import RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_limiter_never_lets_more_than_the_limit_into_any_window() -> None:
    # Given a vendor that allows 10 requests a second and 500 a minute (QuickBooks' shape)
    time = FakeTime()
    limiter = RateLimiter([(10, 1.0), (500, 60.0)], clock=time.clock, sleep=time.sleep)
    # When 1,000 requests are made as fast as the limiter lets them
    stamps = []
    for _ in range(1000):
        limiter.acquire()
        stamps.append(time.now)
    # Then no second and no minute holds more than allowed: 500 at 10/s take 50 s, the next 500 start when the
    # first minute has passed, and no time is wasted beyond that
    for i, start in enumerate(stamps):
        assert sum(1 for t in stamps[i:] if t - start < 1.0) <= 10
        assert sum(1 for t in stamps[i:] if t - start < 60.0) <= 500
    assert stamps[500] == 60.0
    assert 109.0 <= stamps[-1] < 110.0


def test_no_limits_means_no_waiting() -> None:
    time = FakeTime()
    limiter = RateLimiter([(0, 1.0), (0, 60.0)], clock=time.clock, sleep=time.sleep)
    assert sum(limiter.acquire() for _ in range(100)) == 0
    assert time.now == 0


def _answer(status: int, text: str = "", headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    import requests

    response = requests.Response()
    response.status_code = status
    response._content = text.encode()
    response.headers.update(headers or {})
    response.request = requests.Request("POST", "https://vendor.example/v2/things").prepare()
    return response


def test_a_throttle_disguised_as_403_is_retried_not_a_reconnect() -> None:
    from koppel.errors import AuthError, RetryableError
    from koppel.http import error_for

    # Given a vendor that answers a throttle with 403 and says so in the body, and a real 403
    throttled = error_for(_answer(403, "<Fault>ThrottleExceeded; errorCode=003001</Fault>"), vendor="Vendor")
    refused = error_for(_answer(403, '{"message": "invalid token"}'), vendor="Vendor")
    # Then the first is retried and only the second asks for a reconnect
    assert isinstance(throttled, RetryableError)
    assert isinstance(refused, AuthError)


def test_the_wait_comes_from_retry_after_or_a_rate_limit_reset_header() -> None:
    from koppel.http import retry_after_seconds

    assert retry_after_seconds(_answer(429, headers={"Retry-After": "7"})) == 7
    assert retry_after_seconds(_answer(429, headers={"X-RateLimit-Reset": "3"})) == 3
    assert retry_after_seconds(_answer(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0
    assert retry_after_seconds(_answer(429)) is None


def test_two_workers_together_keep_within_the_vendors_limits() -> None:
    from koppel.http import shared_limits

    # Given a vendor limit of 10 a second and 500 a minute, and two deliver workers at once
    time = FakeTime()
    workers = [
        RateLimiter(shared_limits([(10, 1.0), (500, 60.0)], 2), clock=time.clock, sleep=time.sleep) for _ in "ab"
    ]
    # When both send as fast as their limiter lets them (interleaved on one clock)
    stamps = []
    for i in range(600):
        workers[i % 2].acquire()
        stamps.append(time.now)
    # Then together they never exceed the vendor's limits
    for i, start in enumerate(stamps):
        assert sum(1 for t in stamps[i:] if t - start < 1.0) <= 10
        assert sum(1 for t in stamps[i:] if t - start < 60.0) <= 500


def test_a_vendor_that_never_answers_is_reported_as_slow_not_as_unreachable() -> None:
    # Given a vendor that accepts the connection but never answers, on every in-process retry of a GET
    import pytest
    import requests
    from requests.adapters import BaseAdapter
    from urllib3.exceptions import MaxRetryError, ReadTimeoutError

    from koppel.errors import RetryableError
    from koppel.http import send

    class Silent(BaseAdapter):
        def send(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
            timeout = ReadTimeoutError(None, request.url, "Read timed out. (read timeout=20)")
            raise requests.ConnectionError(MaxRetryError(None, request.url, timeout), request=request)

        def close(self) -> None:
            """Nothing to close."""

    session = requests.Session()
    session.mount("https://", Silent())
    # When Koppel reads from it, then the retryable error says it did not answer in time
    with pytest.raises(RetryableError, match=r"SnelStart did not answer GET .* in time"):
        send(session, "GET", "https://vendor.example/v2/relaties", vendor="SnelStart")
