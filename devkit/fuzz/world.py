"""The world the doors are fuzzed in: the local stack, every declared vendor's sandbox, two tenants' connections.

Two tenants, so that every door can be tried across tenants (A's signature, body, token or reference at B's
connection). Each tenant gets one connection per source vendor, paired round-robin with the target vendors (and
the other way round when there are more targets; a source that belongs to a koppeling names its target with
``pairs_with``), so every vendor takes part in at least one connection per tenant. Connections are made the way
an operator makes them: ``koppel connections add``, then the vendor's own step (``Vendor.connected``), then
genuine traffic that Koppel accepts (``Vendor.genuine_traffic``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devkit.fuzz.doors import Vendor
    from devkit.local import LocalStack

TENANTS = (("A", "leesplank", "De Leesplank B.V."), ("B", "korenschoof", "Bakkerij De Korenschoof B.V."))
CLIENTS = ("boekwinkel", "drukkerij")
"""The firm's clients each tenant's connections book for, in turn (``--client``), so a console user of role client
sees some of its tenant's connections and not the others."""


@dataclass
class FuzzConnection:
    tenant: str
    """"A" or "B"."""
    connection_id: str
    source: str
    target: str
    client: str = ""
    """The firm's client it books for (``koppel connections add --client``)."""
    held: dict[str, Any] = field(default_factory=dict)
    """What each vendor keeps about this connection for its doors, by vendor name (keys, genuine requests)."""


def _pairs(vendors: list[Vendor]) -> list[tuple[str, str]]:
    """(source, target) of each tenant's connections. A source that names its target (``pairs_with``, the
    koppeling it belongs to) gets it; the others are paired round-robin with the targets nobody named, and a target
    still without a source gets one, so every vendor takes part in at least one connection."""
    sources = [v for v in vendors if v.role == "source"]
    targets = [v.name for v in vendors if v.role == "target"]
    named = {getattr(v, "pairs_with", "") for v in sources} & set(targets)
    free = [t for t in targets if t not in named] or targets
    pairs: list[tuple[str, str]] = []
    for index, source in enumerate(v for v in sources if getattr(v, "pairs_with", "") not in named):
        pairs.append((source.name, free[index % len(free)]))
    pairs += [(v.name, v.pairs_with) for v in sources if getattr(v, "pairs_with", "") in named]
    paired = {target for _, target in pairs}
    pairs += [(sources[i % len(sources)].name, t) for i, t in enumerate(t for t in targets if t not in paired)]
    return sorted(pairs)


class World:
    def __init__(self, stack: LocalStack, vendors: list[Vendor]) -> None:
        self.stack = stack
        self.vendors = vendors
        sources = [v.name for v in vendors if v.role == "source"]
        targets = [v.name for v in vendors if v.role == "target"]
        if not sources or not targets:
            raise RuntimeError(f"the fuzz world needs a source and a target vendor; declared: {sources} → {targets}")
        pairs = _pairs(vendors)
        self.connections = [
            FuzzConnection(tenant, f"{slug}-{source}-{target}", source, target, CLIENTS[index % len(CLIENTS)])
            for tenant, slug, _ in TENANTS
            for index, (source, target) in enumerate(pairs)
        ]

    def __enter__(self) -> World:
        for vendor in self.vendors:
            vendor.start(self)
        return self

    def __exit__(self, *exc: object) -> None:
        for vendor in self.vendors:
            vendor.stop()

    def build(self) -> None:
        """Connect everything, then let genuine traffic through and book it, so the queues are empty again."""
        names = {tenant: name for tenant, _, name in TENANTS}
        by_name = {vendor.name: vendor for vendor in self.vendors}
        for connection in self.connections:
            source, target = by_name[connection.source], by_name[connection.target]
            self.cli(
                "connections", "add", connection.connection_id, "--tenant", names[connection.tenant],
                "--source", connection.source, "--target", connection.target, "--client", connection.client,
                *source.connection_options(connection), *target.connection_options(connection),
            )  # fmt: skip
            source.connected(self, connection)
            target.connected(self, connection)
        for vendor in self.vendors:
            if vendor.role != "koppel":
                vendor.genuine_traffic(self)
        self.stack.run_until_idle()
        for vendor in self.vendors:  # Koppel's own doors (the console) last: they work on what the vendors booked
            if vendor.role == "koppel":
                vendor.genuine_traffic(self)

    # -- what vendors use ---------------------------------------------------------------------------------------
    def of(self, vendor: str) -> list[FuzzConnection]:
        return [c for c in self.connections if vendor in (c.source, c.target)]

    def tenant_id(self, tenant: str) -> str:
        """The tenant id ``koppel connections add --tenant`` stored for "A" or "B" (a console user's custom:tenant)."""
        return next(name for key, _, name in TENANTS if key == tenant)

    def other_tenant(self, connection: FuzzConnection) -> FuzzConnection:
        """The other tenant's connection between the same two vendors."""
        return next(
            c
            for c in self.connections
            if c.tenant != connection.tenant and (c.source, c.target) == (connection.source, connection.target)
        )

    def cli(self, *args: str) -> None:
        self.cli_output(*args)

    def cli_output(self, *args: str) -> str:
        """What a CLI command printed on stdout, e.g. the start link of `koppel connections activate`; what it said
        on stderr is dropped (the fuzz prints its own story)."""
        from koppel.cli import app, err, out

        with out.capture() as printed, err.capture():
            app(list(args), standalone_mode=False)
        return printed.get().strip()

    def secrets(self) -> set[str]:
        return set().union(*(vendor.secrets() for vendor in self.vendors))

    def requests_served(self) -> int:
        return sum(vendor.requests_served() for vendor in self.vendors)
