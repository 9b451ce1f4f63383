"""Per-tenant sliding-window rate limits, for vendors that limit each administration (or company) on its own.

A test sets ``per_second`` and/or ``per_minute`` for one tenant; each vendor answers a refusal in its own shape,
so ``admit`` only says how long to wait. Not thread-safe on its own: the sandbox calls it under its lock.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Window:
    """A sliding-window limit: at most ``limit`` requests per ``seconds``."""

    limit: int
    seconds: float
    hits: deque[float] = field(default_factory=deque)

    def wait(self, now: float) -> int:
        """0 when a request may pass now, else the whole seconds until one may."""
        while self.hits and self.hits[0] <= now - self.seconds:
            self.hits.popleft()
        if len(self.hits) < self.limit:
            return 0
        return max(1, math.ceil(self.hits[0] + self.seconds - now))


@dataclass
class TenantLimits:
    """Each tenant's windows; a tenant without any is not limited."""

    windows: dict[str, list[Window]] = field(default_factory=dict)  # tenant id -> windows

    def set(self, tenant: str, per_second: int | None, per_minute: int | None) -> None:
        """Limit one tenant (None for both lifts its limit)."""
        self.windows[tenant] = [Window(n, s) for n, s in ((per_second, 1.0), (per_minute, 60.0)) if n]

    def admit(self, tenant: str, now: float) -> int:
        """0 and the request counted, or the whole seconds the tenant must wait (nothing counted)."""
        windows = self.windows.get(tenant, [])
        wait = max((window.wait(now) for window in windows), default=0)
        if wait:
            return wait
        for window in windows:
            window.hits.append(now)
        return 0
