"""Vendor connectors: one module per vendor, found by name (``koppel.connectors.<name>``).

A source module exposes ``build_source(ctx) -> Source``; a target module ``build_target(ctx) -> Target``.
Vendor wire shapes, auth and mapping live in the module and nowhere else.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from koppel.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import ModuleType

    import requests
    from pydantic import JsonValue

    from koppel.model import Connection
    from koppel.ports import ConnectionStore, Source, Target


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _no_partner_secret() -> Mapping[str, str]:
    return {}


@dataclass(frozen=True)
class ConnectorContext:
    """Everything a connector may use: its connection, settings, credentials and an HTTP session."""

    connection: Connection
    settings: Mapping[str, JsonValue]
    """This connector's own settings for this connection (validated by the connector's settings model)."""
    secrets: Mapping[str, str] = field(repr=False)
    """This connector's decrypted credentials for this connection."""
    session: requests.Session
    store: ConnectionStore | None = None
    """Token cache (get_token/put_token); None in previews, where nothing is stored."""
    partner_secret: Callable[[], Mapping[str, str]] = field(default=_no_partner_secret)
    """Koppel's own application credentials for this vendor (subscription keys, OAuth client)."""
    clock: Callable[[], datetime] = field(default=_utcnow)
    workers: int = 1
    """How many workers of this connector run at once (the queue's MaximumConcurrency): limits are shared out."""


_NAME = re.compile(r"^[a-z][a-z0-9]*$")


def load(name: str) -> ModuleType:
    """Import ``koppel.connectors.<name>``; an unknown name is an InputError that lists the known ones."""
    if not _NAME.match(name):
        raise InputError(f"connector name {name!r} is not valid: use a lower-case vendor name like 'snelstart'")
    try:
        return importlib.import_module(f"koppel.connectors.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"koppel.connectors.{name}":
            raise
        raise InputError(f"unknown connector {name!r}; known connectors: {', '.join(available())}") from error


def available() -> list[str]:
    import pkgutil

    return sorted(m.name for m in pkgutil.iter_modules(__path__) if _NAME.match(m.name) and not m.ispkg)


def build_source(name: str, ctx: ConnectorContext) -> Source:
    module = load(name)
    if not hasattr(module, "build_source"):
        raise InputError(f"connector {name!r} cannot be a source")
    return cast("Source", module.build_source(ctx))


def build_target(name: str, ctx: ConnectorContext) -> Target:
    module = load(name)
    if not hasattr(module, "build_target"):
        raise InputError(f"connector {name!r} cannot be a target")
    return cast("Target", module.build_target(ctx))
