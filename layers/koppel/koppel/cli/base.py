"""What every `koppel` command shares: the typer apps, the consoles, and the stores the commands read."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from koppel.errors import InputError

if TYPE_CHECKING:
    from koppel.ports import ConnectionStore

app = typer.Typer(help="Koppel: real-time, exactly-once bookkeeping integrations.", no_args_is_help=True)
connections_app = typer.Typer(help="Create and inspect connections (koppelingen).", no_args_is_help=True)
app.add_typer(connections_app, name="connections")
out = Console()
err = Console(stderr=True)


def connection_store() -> ConnectionStore:
    from koppel import bootstrap
    from koppel.settings import StoreSettings

    return bootstrap.connection_store(StoreSettings.load())


def only_connection(store: ConnectionStore) -> str:
    ids = [c.connection_id for c in store.all()]
    if len(ids) != 1:
        listed = ", ".join(ids) or "none yet (koppel connections add)"
        raise InputError(f"name the connection to backfill: koppel backfill ID --since … (connections: {listed})")
    return ids[0]


def day(value: str, option: str) -> datetime:
    """A YYYY-MM-DD option as the start of that day in UTC; a wrong one says how to write it."""
    try:
        return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date: use YYYY-MM-DD, e.g. {option} 2026-01-01") from None
