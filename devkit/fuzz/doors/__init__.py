"""The registry of vendors and their inbound doors: one module per vendor in this package.

A vendor module (``devkit/fuzz/doors/<vendor>.py``) defines ``vendor() -> Vendor``: an object that starts the
vendor's sandbox, says what ``koppel connections add`` needs for it, connects it the way the vendor does
(webhook registration, an activation callback, an OAuth dance), sends genuine traffic once, and declares its doors
with the bad requests to send at each. Nothing else is edited to fuzz a new vendor: ``vendors()`` finds the module,
the world pairs it with the other vendors into connections (a source of a koppeling names its target with a
``pairs_with`` attribute), and the runner refuses to start while any HTTP API route of infra/template.yaml is
declared by no door. Doors of one route may come from several vendors (each OAuth vendor's consent return).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from devkit.fuzz.probe import Probe
    from devkit.fuzz.world import FuzzConnection, World


@dataclass(frozen=True)
class Door:
    name: str
    """How the report calls it, e.g. "ccvshop webhook"."""
    route: str
    """The HTTP API route key in infra/template.yaml it stands for, e.g. "POST /hooks/{source}/{connection_id}"."""
    families: dict[str, SearchStrategy[Probe]]
    """The bad requests to send, by family ("replay", "oversized", …): each family gets an equal share of the run
    (hypothesis, left to choose among them, would favour some)."""
    one_refusal: int | None = 401
    """Every answer with this status reads the same: a refusal must not tell which check failed (an unknown
    connection answers like a wrong signature). None when the door makes no such promise."""
    also: tuple[str, ...] = ()
    """More routes it stands for, when one door's families span several (the console's connection routes)."""


class Vendor(Protocol):
    name: str
    """The connector's name, as in ``--source``/``--target``."""
    role: Literal["source", "target", "koppel"]
    """"koppel": no vendor, Koppel's own doors (the console): it takes part in no connection."""

    def start(self, world: World) -> None:
        """Start the sandbox and whatever the vendor holds for Koppel (a partner secret, an app registration)."""

    def stop(self) -> None: ...

    def connection_options(self, connection: FuzzConnection) -> list[str]:
        """``--setting``/``--secret``/``--webhook-base`` options of ``koppel connections add`` for this vendor."""

    def connected(self, world: World, connection: FuzzConnection) -> None:
        """After ``connections add``: finish connecting as the vendor does (activation, OAuth); keep what the doors
        will need (live references, unused start links)."""

    def genuine_traffic(self, world: World) -> None:
        """Genuine requests at the vendor's doors, accepted, so that the doors have real ones to replay and mutate."""

    def secrets(self) -> set[str]:
        """Every secret and token this vendor's side of the world holds: no answer may carry one."""

    def requests_served(self) -> int:
        """How many API requests the sandbox answered: a replay answered "already received" must not read it."""

    def doors(self, world: World) -> list[Door]: ...


def vendors() -> list[Vendor]:
    """A fresh Vendor from every module in this package, sources first, in name order."""
    found = []
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        found.append(module.vendor())
    return sorted(found, key=lambda v: (v.role != "source", v.name))
