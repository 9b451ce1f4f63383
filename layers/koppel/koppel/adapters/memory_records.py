"""The record links of a two-way sync in memory: the fake of the unit tests, with the DynamoDB adapter's contract
(a save expecting an older version is refused; one run's turn at a time)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from koppel.records import RecordKind, RecordLink


class MemoryRecordLinks:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, str, str], RecordLink] = {}
        """(connection, kind, side, id) → the link, once per side as in DynamoDB."""
        self.turns: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def links(self, connection_id: str, kind: RecordKind) -> list[RecordLink]:
        found = {id(link): link for key, link in self.rows.items() if key[:2] == (connection_id, kind)}
        return list(found.values())

    def link_of(self, connection_id: str, kind: RecordKind, side: str, ident: str) -> RecordLink | None:
        return self.rows.get((connection_id, kind, side, ident))

    def save(self, link: RecordLink) -> bool:
        with self._lock:
            stored = [self.rows.get((link.connection_id, link.kind, side, ident)) for side, ident in link.ids.items()]
            if any(row is not None and row.version != link.version for row in stored):
                return False
            if link.version and not any(stored):
                return False
            saved = link.model_copy(update={"version": link.version + 1})
            for side, ident in link.ids.items():
                self.rows[(link.connection_id, link.kind, side, ident)] = saved
            return True

    def take_turn(self, connection_id: str, until: datetime, now: datetime) -> bool:
        with self._lock:
            held = self.turns.get(connection_id)
            if held is not None and held > now:
                return False
            self.turns[connection_id] = until
            return True

    def end_turn(self, connection_id: str) -> None:
        with self._lock:
            self.turns.pop(connection_id, None)
