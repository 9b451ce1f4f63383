"""The sandbox's data: organizations (one per access token), each with its own tables of records.

Records are kept as Billy renders them (``GET /v2/<plural>/:id``), money as Decimal, with internal keys
prefixed ``_``. Ids look like Billy's (22 URL-safe base64 characters [V, e.g. ``cgYxHZWCSfajDIvj9Q8yRQ`` in the
docs]) and are derived from a seed and a counter, so a seeded run gives the same ids every time.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

Record = dict[str, Any]


@dataclass
class Organization:
    id: str
    token: str
    tables: dict[str, dict[str, Record]] = field(default_factory=dict)

    @property
    def record(self) -> Record:
        return self.tables["organizations"][self.id]

    def table(self, plural: str) -> dict[str, Record]:
        return self.tables.setdefault(plural, {})

    def get(self, plural: str, ident: Any) -> Record | None:
        return self.table(plural).get(str(ident)) if ident is not None else None

    def children(self, plural: str, key: str, parent_id: str) -> list[Record]:
        return [r for r in self.table(plural).values() if r.get(key) == parent_id]

    def everything(self) -> Iterator[tuple[str, Record]]:
        for plural, table in self.tables.items():
            for record in table.values():
                yield plural, record


class Store:
    def __init__(self, seed: int = 0, clock: Callable[[], datetime] | None = None) -> None:
        self.seed = seed
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.organizations: dict[str, Organization] = {}
        self.tokens: dict[str, str] = {}  # access token -> organization id
        self._counter = 0

    def new_id(self) -> str:
        self._counter += 1
        digest = hashlib.sha256(f"billy:{self.seed}:{self._counter}".encode()).digest()
        return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")

    def now(self) -> datetime:
        return self.clock().astimezone(UTC).replace(microsecond=0)

    def by_token(self, token: str | None) -> Organization | None:
        org_id = self.tokens.get(token or "")
        return self.organizations.get(org_id) if org_id else None


def public(record: Record) -> Record:
    return {k: v for k, v in record.items() if not k.startswith("_")}
