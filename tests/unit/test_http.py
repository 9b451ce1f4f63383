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
