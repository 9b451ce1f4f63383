"""`koppel backfill|status|sync|replay`: running and repairing connections."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from koppel.cli.base import app, day, err, only_connection, out
from koppel.errors import InputError

if TYPE_CHECKING:
    from koppel.model import Connection
    from koppel.services.status import ConnectionHealth


@app.command()
def backfill(
    since: Annotated[str, typer.Option(help="First day to read, YYYY-MM-DD")],
    connection_id: Annotated[
        str | None, typer.Argument(help="Which connection (may be left out when there is only one)")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Day after the last to read (default: now)")] = None,
) -> None:
    """Read history from the source for a dated window and enqueue it; already booked records are not booked again."""
    from koppel import bootstrap
    from koppel.services.poll import backfill_job, poll_connection
    from koppel.settings import PollSettings

    start = day(since, "--since")
    end = day(until, "--until") if until else datetime.now(UTC)
    backfill_job(connection_id or "-", start, end)  # validates the window before anything is read
    deps = bootstrap.build_poll_deps(PollSettings.load())
    connection_id = connection_id or only_connection(deps.connections)
    deps.connections.get(connection_id)
    days = max(1, (end - start).days + (1 if (end - start) % timedelta(days=1) else 0))
    enqueued = records = 0
    with Progress(console=err) as progress:
        task = progress.add_task(f"backfill {connection_id}", total=days)
        cursor = start
        while cursor < end:
            step_end = min(end, cursor + timedelta(days=1))
            result = poll_connection(backfill_job(connection_id, cursor, step_end), deps)
            records += result.records
            enqueued += result.enqueued
            cursor = step_end
            progress.advance(task)
    out.print(f"read {records} record(s), enqueued {enqueued} event(s) for booking")


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per connection, for scripts")] = False,
    firm: Annotated[
        str | None, typer.Option(help="Only this tenant's connections (an accounting firm's clients), as one table")
    ] = None,
) -> None:
    """Every connection green, red, or yellow while it waits for an owner's OAuth consent: last success, last
    error, counts booked / pending / parked / not bookable / dead."""
    from koppel import bootstrap
    from koppel.services.status import health, waiting_for_consent
    from koppel.settings import OperatorSettings

    settings = OperatorSettings.load()
    ledger = bootstrap.ledger(settings)
    dead_letters = bootstrap.dead_letters(settings)
    letters = [letter for target in settings.DEAD_LETTER_QUEUES for letter in dead_letters.list(target)]
    store = bootstrap.connection_store(settings)
    connections = store.of_tenant(firm) if firm is not None else store.all()
    if firm is not None and not connections:
        raise InputError(f"firm {firm!r} has no connections: the tenant is the --tenant of `koppel connections add`")
    states = [health(c, ledger, letters, waiting_for=waiting_for_consent(c, store)) for c in connections]
    if as_json:
        sys.stdout.write(json.dumps([json.loads(h.model_dump_json()) for h in states], indent=2) + "\n")
        return
    out.print(firm_table(firm or "Every tenant", connections, states))
    if firm is not None:
        return
    # Below the table, each connection that is not green, with its last error and what to do in full
    for h in (h for h in states if h.colour != "green"):
        when = h.last_success.isoformat(timespec="seconds") if h.last_success else "never"
        out.print(
            f"[bold {h.colour}]● {h.colour.upper()}[/] [bold]{h.connection_id}[/] ({h.name}, {h.connection_status})"
        )
        out.print(
            f"  booked {h.booked} · pending {h.pending} · parked {h.parked} · dead {h.dead} · last success {when}"
        )
        if h.last_error:
            at = h.last_error_at.isoformat(timespec="seconds") if h.last_error_at else ""
            out.print(f"  last error {at}: {h.last_error}", highlight=False)
        if h.action:
            out.print(f"  [bold]action:[/] {h.action}", highlight=False)


def firm_table(firm: str, connections: list[Connection], states: list[ConnectionHealth]) -> Table:
    """A firm's clients' integrations at a glance: one row each, red ones saying what to do."""
    table = Table(title=f"{firm}: {len(connections)} integration(s)", title_justify="left")
    for column in ("", "client", "integration", "booked", "pending", "parked", "not bookable", "last success"):
        table.add_column(
            column, justify="right" if column in ("booked", "pending", "parked", "not bookable") else "left"
        )
    table.add_column("what to do", overflow="fold", max_width=60)
    for connection, h in zip(connections, states, strict=True):
        when = h.last_success.strftime("%Y-%m-%d %H:%M") if h.last_success else "never"
        advice = h.action or (f"last error: {h.last_error}" if h.last_error else "")
        table.add_row(
            f"[{h.colour}]●[/]", h.name, f"{connection.source} → {', '.join(connection.targets)}", str(h.booked),
            str(h.pending), str(h.parked), str(h.not_bookable), when, advice,
        )  # fmt: skip
    return table


MODULES = {"organizations": "organization", "contacts": "contact", "products": "product"}
"""``koppel sync --module``: the modules as a CRM names them."""


@app.command()
def sync(
    connection_id: Annotated[str, typer.Argument(help="The two-way connection (e.g. Simply CRM ↔ Billy)")],
    module: Annotated[
        list[str] | None, typer.Option("--module", help="Only Organizations, Contacts or Products (repeatable)")
    ] = None,
) -> None:
    """Keep the records of a two-way koppeling alike now: a progress bar, then what was created, updated,
    unchanged, in conflict (the priority side won) and failed, with the reasons."""
    from koppel import bootstrap
    from koppel.services.record_sync import sync_records
    from koppel.settings import StoreSettings

    kinds = tuple(_module(name) for name in module or ())
    settings = StoreSettings.load()
    store = bootstrap.connection_store(settings)
    connection = store.get(connection_id)
    deps = bootstrap.record_sync_deps(settings, store, bootstrap.ledger(settings))
    with Progress(console=err) as progress:
        tasks: dict[str, Any] = {}

        def advance(kind: str, done: int, total: int) -> None:
            task = tasks.setdefault(kind, progress.add_task(f"{kind}s", total=total))
            progress.update(task, completed=done, total=total)

        summary = sync_records(connection, deps, kinds or None, progress=advance)
    if summary.busy:
        raise InputError(f"another sync of {connection_id} is running: try again in a few minutes")
    table = Table("module", "created", "linked", "updated", "unchanged", "conflicts", "deleted", "failed")
    for kind, done in summary.kinds.items():
        counts = (done.created, done.linked, done.updated, done.unchanged)
        lists = (done.conflicts, done.deleted, done.failed)
        table.add_row(f"{kind}s", *(str(n) for n in counts), *(str(len(found)) for found in lists))
    out.print(table)
    for kind, done in summary.kinds.items():
        for heading, lines in (("conflict", done.conflicts), ("deleted", done.deleted), ("failed", done.failed)):
            for line in lines:
                out.print(f"  {heading} ({kind}): {line}", highlight=False)


def _module(name: str) -> Any:
    kind = MODULES.get(name.strip().casefold()) or MODULES.get(name.strip().casefold() + "s")
    if kind is None:
        raise InputError(f"--module {name!r} is not one of Organizations, Contacts, Products")
    return kind


@app.command()
def replay(
    connection_id: str,
    event_id: Annotated[list[str] | None, typer.Option("--id", help="Only this event id (repeatable)")] = None,
    since: Annotated[str | None, typer.Option(help="Only records parked or dead-lettered since (ISO time)")] = None,
    parked: Annotated[bool, typer.Option("--parked/--no-parked", help="Replay parked records")] = True,
    dead: Annotated[bool, typer.Option("--dead/--no-dead", help="Replay dead-lettered messages")] = True,
) -> None:
    """Send parked or dead-lettered records through again once the cause is fixed; none is booked twice."""
    from koppel import bootstrap
    from koppel.services.replay import Selection
    from koppel.services.replay import replay as run_replay
    from koppel.settings import OperatorSettings

    moment = _moment(since, "--since") if since else None
    settings = OperatorSettings.load()
    connection = bootstrap.connection_store(settings).get(connection_id)
    # Payment status carried back to the source has its own queue (write-back): its records replay too.
    write_back = (connection.source,) if connection.source in settings.TARGET_QUEUES else ()
    result = run_replay(
        connection_id,
        (*connection.targets, *write_back),
        Selection(event_ids=tuple(event_id or ()), since=moment),
        bootstrap.build_replay_deps(settings),
        parked=parked,
        dead=dead,
    )
    out.print(f"replayed {len(result.parked)} parked and {len(result.dead)} dead-lettered record(s)")
    for replayed in (*result.parked, *result.dead):
        out.print(f"  {replayed}")


def _moment(value: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r} is not a time: use ISO 8601, e.g. {option} 2026-11-23T09:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
