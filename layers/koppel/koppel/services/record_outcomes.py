"""What a record sync reports: per kind, and per record synced on request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class KindSummary:
    created: int = 0
    linked: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    """Per failed record: what it is, and why (the vendor's words)."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one record synced on request."""

    state: str
    """"in sync", "synced", "failed" or "waiting"."""
    words: str
    other_id: str = ""
    """Its id on the other side, when linked."""


Progress = Callable[[str, int, int], None]
"""(kind, records handled, records to handle): for a progress bar."""
