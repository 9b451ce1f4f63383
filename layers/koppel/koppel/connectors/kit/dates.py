"""The Dutch calendar day of a moment, for every vendor whose documents are dated in the Netherlands."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["amsterdam_date"]


def amsterdam_date(moment: datetime) -> date:
    """The calendar date in the Netherlands: an order placed at 00:30 Dutch time belongs to that day."""
    if _AMSTERDAM is not None:
        return moment.astimezone(_AMSTERDAM).date()
    # No tz database (a slim Lambda image): the EU rule, unchanged since 1996 — summer time from the last
    # Sunday of March 01:00 UTC to the last Sunday of October 01:00 UTC.
    utc = moment.astimezone(UTC)
    summer = _last_sunday_0100(utc.year, 3) <= utc < _last_sunday_0100(utc.year, 10)
    return (utc + timedelta(hours=2 if summer else 1)).date()


def _load_amsterdam() -> ZoneInfo | None:
    try:
        return ZoneInfo("Europe/Amsterdam")
    except ZoneInfoNotFoundError:
        return None


_AMSTERDAM = _load_amsterdam()


def _last_sunday_0100(year: int, month: int) -> datetime:
    last = datetime(year, month + 1, 1, 1, tzinfo=UTC) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - 6) % 7)
