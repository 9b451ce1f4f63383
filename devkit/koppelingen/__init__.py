"""The koppelingen the dev kit can play, one package per pair: ``devkit/koppelingen/<source>_<target>/``.

Each package holds the same files: ``scenarios.py`` (its workload: orders or documents), ``demo.py`` (its part
of ``make demo``: ``part(stack, console, up)`` and the ``ENV`` it needs), ``chaos.py`` (its plug-in to the shared
chaos runner, devkit.chaos.runner: ``CONFIG`` and ``run_chaos``), ``report.py`` (how its target's final state is
read and compared) and ``seed.py`` (the connection the recorded events name). The registry below is what
``make demo`` and ``make chaos`` loop over; the packages are imported only when a pair is played.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from types import ModuleType

    from devkit.sandboxes.kit.server import Sandbox


@dataclass(frozen=True)
class Koppeling:
    name: str
    """``<source>_<target>``: the package's name, and KOPPELING= of `make chaos`."""
    source: str
    target: str
    title: str
    """As a user reads it, e.g. in the demo's headings."""
    chaos_size: int
    """Orders or documents of `make chaos` when no N is given."""
    in_demo: bool = True
    """False for a pair whose source already has its part in `make demo` (Banqup's part shows a firm whose clients
    book into several targets; each Banqup pair still has its own `make chaos`)."""

    def module(self, part: str) -> ModuleType:
        """The pair's ``demo``, ``chaos``, ``scenarios``, ``report`` or ``seed`` module."""
        return importlib.import_module(f"{__name__}.{self.name}.{part}")

    @property
    def demo(self) -> Any:
        """``part(stack, console, up) -> bool``: this pair's part of `make demo` (its sandboxes entered in ``up``)."""
        return self.module("demo").part


KOPPELINGEN = (
    Koppeling("ccvshop_snelstart", "ccvshop", "snelstart", "CCV Shop → SnelStart", chaos_size=2000),
    Koppeling("bizzcloud_eboekhouden", "bizzcloud", "eboekhouden", "Bizzcloud → e-Boekhouden.nl", chaos_size=300),
    Koppeling("pipedrive_quickbooks", "pipedrive", "quickbooks", "Pipedrive → QuickBooks Online", chaos_size=200),
    Koppeling("simplycrm_billy", "simplycrm", "billy", "Simply CRM ↔ Billy", chaos_size=120),
    Koppeling("banqup_snelstart", "banqup", "snelstart", "Banqup → accounting packages, for a firm", chaos_size=150),
    Koppeling("banqup_eboekhouden", "banqup", "eboekhouden", "Banqup → e-Boekhouden.nl", 150, in_demo=False),
    Koppeling("banqup_quickbooks", "banqup", "quickbooks", "Banqup → QuickBooks Online", 150, in_demo=False),
    Koppeling("banqup_billy", "banqup", "billy", "Banqup → Billy", 150, in_demo=False),
)


class WithSandboxes(ABC):
    """A pair's demo or chaos world: its vendors' sandboxes start when it is entered and stop when it is left."""

    @abstractmethod
    def sandboxes(self) -> tuple[Sandbox, ...]:
        """The world's sandboxes, in the order they start."""

    def __enter__(self) -> Self:
        for sandbox in self.sandboxes():
            sandbox.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for sandbox in reversed(self.sandboxes()):
            sandbox.stop()


def cli(*args: str) -> None:
    """`koppel ARGS` as a person types it (in-process, on the local stack's environment)."""
    from koppel.cli import app

    app(list(args), standalone_mode=False)


def cli_output(*args: str) -> str:
    """What a `koppel` command printed on stdout (a start link, a button link), the way a person copies it."""
    from koppel.cli import out

    width, out.width = out.width, max(out.width, 120)  # a summary table as a terminal of 120 columns shows it
    try:
        with out.capture() as printed:
            cli(*args)
    finally:
        out.width = width
    return printed.get().strip()


class UnknownKoppeling(LookupError):
    """A name that is in no registry entry; the message lists the known ones."""


def find(name: str) -> Koppeling:
    for koppeling in KOPPELINGEN:
        if koppeling.name == name:
            return koppeling
    raise UnknownKoppeling(f"unknown koppeling {name!r}; known: {', '.join(k.name for k in KOPPELINGEN)}")
