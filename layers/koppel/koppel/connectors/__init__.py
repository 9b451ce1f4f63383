"""Vendor connectors: one package per vendor, found by name (``koppel.connectors.<name>``).

Each package declares ``CONNECTOR``, a ``contract.Connector`` descriptor: its settings model, how to build its source
and/or target, and its capabilities. Vendor wire shapes, auth and mapping live in the package and nowhere else;
what vendors share is in ``kit``. ``docs/design.md`` ("Add a vendor") lists the steps for a new one.
"""

from __future__ import annotations

import importlib
import re
from functools import cache
from typing import TYPE_CHECKING, cast

from koppel.connectors.contract import ConnectorContext
from koppel.errors import InputError

if TYPE_CHECKING:
    from koppel.connectors.contract import Connector
    from koppel.ports import Source, Target

__all__ = ["ConnectorContext", "available", "build_source", "build_target", "load"]

_NAME = re.compile(r"^[a-z][a-z0-9]*$")
_SHARED = frozenset({"kit"})


def load(name: str) -> Connector:
    """The descriptor of ``koppel.connectors.<name>``; an unknown name is an InputError that lists the known ones."""
    if not _NAME.match(name):
        raise InputError(f"connector name {name!r} is not valid: use a lower-case vendor name like 'snelstart'")
    known = available()
    if name not in known:
        raise InputError(f"unknown connector {name!r}; known connectors: {', '.join(known)}")
    return cast("Connector", importlib.import_module(f"koppel.connectors.{name}").CONNECTOR)


@cache
def _packages() -> tuple[str, ...]:
    import pkgutil

    return tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg and _NAME.match(m.name)))


def available() -> list[str]:
    """Every vendor package (``kit`` holds what they share and is none)."""
    return [name for name in _packages() if name not in _SHARED]


def build_source(name: str, ctx: ConnectorContext) -> Source:
    connector = load(name)
    if connector.build_source is None:
        raise InputError(f"connector {name!r} cannot be a source")
    return connector.build_source(ctx)


def build_target(name: str, ctx: ConnectorContext) -> Target:
    connector = load(name)
    if connector.build_target is None:
        raise InputError(f"connector {name!r} cannot be a target")
    return cast("Target", connector.build_target(ctx))
