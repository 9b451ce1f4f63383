"""Pipedrive's limits: a daily token budget per company and a burst limit per user, with their headers.

Verified [V] (https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting,
https://pipedrive.readme.io/docs/guide-for-optimizing-api-usage):
- Each request costs tokens from a daily budget per company, shared by all its users and apps (OAuth apps
  draw from the user's company); 30,000 × plan multiplier (Lite 1, Growth 2, Premium 5, Ultimate 7) × seats;
  reset at midnight server time. v2 endpoints cost less than v1 (x-token-cost in the OpenAPI files, as
  quoted by a third party: v2 get 1, list 10, create/update 5, delete 3; v1 get 2, list 20, update 10,
  delete 6). Exhausted → 429 until the reset.
- Burst limit per token in a rolling 2-second window: API token Lite 20, Growth 40, Premium 100, Ultimate
  120; OAuth access token Lite 80, Growth 160, Premium 400, Ultimate 480. Over it → 429.
- Headers on every answer: ``x-ratelimit-limit``, ``x-ratelimit-remaining``, ``x-ratelimit-reset`` (the
  window left; the unit, seconds, is [I]); ``x-daily-requests-left`` on POST/PUT with an API token (legacy).
  ``x-daily-ratelimit-token-limit`` / ``x-daily-ratelimit-token-remaining`` are named by Pipedrive staff on
  the developer forum and may be missing [V, community].
- An integration that keeps calling after 429s can get a 403 with a Cloudflare HTML page [V, third-party
  reading of the docs]: ``burst_answer`` = ``"403"`` (JSON 403) or ``"html"`` (403 text/html) plays it.
Assumed [I]: the 429 body (Pipedrive's error body, "Request over limit" / "Daily token budget exceeded"),
no Retry-After header (unverified; ``retry_after_header=True`` adds one), v1 create costs 10, deal
products list 10, webhooks list 20/create 10/delete 6 (v1 rates), the OAuth endpoints cost nothing.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from devkit.sandboxes.pipedrive.wire import PipedriveError

if TYPE_CHECKING:
    from datetime import datetime

WINDOW_SECONDS = 2.0
COSTS: dict[tuple[str, str], int] = {
    ("v2", "get"): 1,
    ("v2", "list"): 10,
    ("v2", "create"): 5,
    ("v2", "update"): 5,
    ("v2", "delete"): 3,
    ("v1", "get"): 2,
    ("v1", "list"): 20,
    ("v1", "create"): 10,
    ("v1", "update"): 10,
    ("v1", "delete"): 6,
}
BURST = {
    "api_token": {"lite": 20, "growth": 40, "premium": 100, "ultimate": 120},
    "oauth": {"lite": 80, "growth": 160, "premium": 400, "ultimate": 480},
}
BURST_ANSWERS = ("429", "403", "html")
CLOUDFLARE_PAGE = """<!DOCTYPE html>
<html lang="en-US"><head><title>Attention Required! | Cloudflare</title></head>
<body><div id="cf-wrapper"><h1>Sorry, you have been blocked</h1>
<h2>You are unable to access pipedrive.com</h2>
<p>This website is using a security service to protect itself from online attacks.</p>
<p>Cloudflare Ray ID: <strong>8e2b1f0c9d7a4b3e</strong></p></div></body></html>
"""


def operation(method: str, last_segment_is_id: bool) -> str:
    if method == "GET":
        return "get" if last_segment_is_id else "list"
    return {"POST": "create", "PATCH": "update", "PUT": "update", "DELETE": "delete"}.get(method, "get")


@dataclass
class Limits:
    """Settings; ``burst_override`` replaces the plan's burst numbers (handy to hit the limit in a test)."""

    burst_override: int | None = None
    burst_answer: str = "429"
    retry_after_header: bool = False
    costs: dict[tuple[str, str], int] = field(default_factory=lambda: dict(COSTS))


class Budget:
    """Spent tokens per company and day, and recent request times per user and token kind."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._spent: dict[tuple[int, str], int] = {}
        self._recent: dict[tuple[int, str], deque[float]] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._spent.clear()
            self._recent.clear()

    def burst_limit(self, plan: str, kind: str) -> int:
        return self.limits.burst_override or BURST[kind][plan]

    def tokens_left(self, company_id: int, daily_budget: int, now: datetime) -> int:
        with self._lock:
            return max(0, daily_budget - self._spent.get((company_id, now.date().isoformat()), 0))

    def spend(self, company_id: int, tokens: int, now: datetime) -> None:
        """Spend tokens outside a request (other integrations of the same company)."""
        with self._lock:
            key = (company_id, now.date().isoformat())
            self._spent[key] = self._spent.get(key, 0) + tokens

    def admit(
        self,
        *,
        company_id: int,
        daily_budget: int,
        user_id: int,
        kind: str,
        plan: str,
        cost: int,
        method: str,
        now: datetime,
    ) -> dict[str, str]:
        """Count one request; returns the rate-limit headers, or raises the vendor's refusal."""
        stamp = now.timestamp()
        day = (company_id, now.date().isoformat())
        limit = self.burst_limit(plan, kind)
        with self._lock:
            recent = self._recent.setdefault((user_id, kind), deque())
            while recent and recent[0] <= stamp - WINDOW_SECONDS:
                recent.popleft()
            reset = math.ceil(recent[0] + WINDOW_SECONDS - stamp) if recent else int(WINDOW_SECONDS)
            spent = self._spent.get(day, 0)
            headers = {
                "x-ratelimit-limit": str(limit),
                "x-ratelimit-remaining": str(max(0, limit - len(recent) - 1)),
                "x-ratelimit-reset": str(max(1, reset)),
                "x-daily-ratelimit-token-limit": str(daily_budget),
                "x-daily-ratelimit-token-remaining": str(max(0, daily_budget - spent)),
            }
            if len(recent) >= limit:
                headers["x-ratelimit-remaining"] = "0"
                raise self._burst_refusal(headers)
            if spent + cost > daily_budget:
                headers["x-ratelimit-remaining"] = str(max(0, limit - len(recent)))
                raise self._daily_refusal(headers, now)
            recent.append(stamp)
            self._spent[day] = spent + cost
            headers["x-daily-ratelimit-token-remaining"] = str(daily_budget - spent - cost)
            if kind == "api_token" and method in ("POST", "PUT"):
                headers["x-daily-requests-left"] = headers["x-daily-ratelimit-token-remaining"]
            return headers

    def _burst_refusal(self, headers: dict[str, str]) -> PipedriveError:
        if self.limits.retry_after_header:
            headers["Retry-After"] = headers["x-ratelimit-reset"]
        answer = self.limits.burst_answer
        if answer == "403":
            return PipedriveError(403, "Forbidden", headers)
        if answer == "html":
            return PipedriveError(403, "blocked", headers, body={"html": CLOUDFLARE_PAGE})
        return PipedriveError(429, "Request over limit", headers)

    def _daily_refusal(self, headers: dict[str, str], now: datetime) -> PipedriveError:
        midnight = (now.timestamp() // 86400 + 1) * 86400
        if self.limits.retry_after_header:
            headers["Retry-After"] = str(math.ceil(midnight - now.timestamp()))
        headers["x-daily-ratelimit-token-remaining"] = "0"
        return PipedriveError(429, "Daily token budget exceeded", headers)
