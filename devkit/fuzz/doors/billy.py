"""Billy, the accounting side of the Simply CRM ↔ Billy koppeling: a target without doors of its own.

Billy calls Koppel nowhere (Koppel polls it), so it only lends the world its sandbox: one organization per
connection, each with its own access token (Settings > Access tokens), as a user connects it
(devkit/koppelingen/simplycrm_billy/seed.py). The Sync button door (devkit/fuzz/doors/simplycrm.py) reads Billy
by design for every press that gets past the token, so what must stay untouched here is what Billy holds: its
``requests_served`` counts only the requests that write (a bad press may read Billy, never write to it).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Literal

from devkit.sandboxes.billy.sandbox import BillySandbox

if TYPE_CHECKING:
    from devkit.fuzz.doors import Door
    from devkit.fuzz.world import FuzzConnection, World

READS = frozenset({"GET", "HEAD", "OPTIONS"})


class Billy:
    name = "billy"
    role: Literal["source", "target"] = "target"

    def __init__(self) -> None:
        self.sandbox = BillySandbox()
        self.tokens: dict[str, str] = {}
        """Connection id → the access token of its organization."""

    def start(self, world: World) -> None:
        self.sandbox.start()

    def stop(self) -> None:
        self.sandbox.stop()

    def connection_options(self, connection: FuzzConnection) -> list[str]:
        """A Danish organization of the tenant's own, and its access token."""
        token = f"fuzz-billy-{connection.tenant.lower()}-{secrets.token_hex(16)}"
        self.sandbox.add_organization(f"Fuzz {connection.tenant} ApS", token=token)
        self.tokens[connection.connection_id] = token
        connection.held[self.name] = token
        return ["--setting", f"billy.base_url={self.sandbox.base_url}/v2", "--secret", f"billy.access_token={token}"]

    def connected(self, world: World, connection: FuzzConnection) -> None:
        """Nothing more: an access token is all Billy asks."""

    def genuine_traffic(self, world: World) -> None:
        """None of its own: the Sync button's genuine press (simplycrm.py) writes its contact here."""

    def secrets(self) -> set[str]:
        return set(self.tokens.values())

    def requests_served(self) -> int:
        """The requests that wrote to Billy (a press reads both sides by design; only a write is a change)."""
        with self.sandbox.lock:
            return sum(method not in READS for method, _ in self.sandbox.received)

    def doors(self, world: World) -> list[Door]:
        return []


def vendor() -> Billy:
    return Billy()
