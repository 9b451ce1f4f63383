"""`koppel history|pause|resume`: one connection's records as a table, and stopping or restarting its polls, through
the same service layer as the management API (koppel.services.operations)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Literal, get_args

import typer
from rich.table import Table

from koppel.cli.base import app, connection_store, day, out
from koppel.errors import InputError

if TYPE_CHECKING:
    from koppel.ports import LedgerState
    from koppel.services.operations import HistoryRow

StateWord = Literal["pending", "booked", "parked", "not-bookable"]
STATES: dict[str, LedgerState] = {
    "pending": "PENDING",
    "booked": "POSTED",
    "parked": "PARKED",
    "not-bookable": "SKIPPED",
}
WORDS = {state: word for word, state in STATES.items()}
COLOURS = {"POSTED": "green", "PENDING": "yellow", "PARKED": "red", "SKIPPED": "dim"}


@app.command()
def history(
    connection_id: Annotated[str, typer.Argument(help="The connection")],
    state: Annotated[
        str | None, typer.Option(help="Only records that are pending, booked, parked or not-bookable")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Only records changed on or after this day, YYYY-MM-DD")] = None,
    limit: Annotated[int, typer.Option(help="How many of the newest records")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per record, for scripts")] = False,
) -> None:
    """A connection's records, newest first: the source document, where it landed in the target, its state, attempts,
    and the vendor's own words for what went wrong."""
    from koppel import bootstrap
    from koppel.services.operations import history as read_history
    from koppel.settings import StoreSettings

    if state is not None and state not in STATES:
        raise InputError(f"--state {state!r} is not a state: use one of {', '.join(get_args(StateWord))}")
    settings = StoreSettings.load()
    connection_store().get(connection_id)  # an unknown connection says so, with where to look
    rows = read_history(
        bootstrap.ledger(settings), connection_id, state=STATES[state] if state else None,
        since=day(since, "--since") if since else None, limit=limit,
    )  # fmt: skip
    if as_json:
        sys.stdout.write(json.dumps([asdict(row) for row in rows], default=str, indent=2) + "\n")
        return
    out.print(_table(connection_id, rows))


def _table(connection_id: str, rows: list[HistoryRow]) -> Table:
    table = Table(title=f"{connection_id}: the {len(rows)} newest record(s)", title_justify="left")
    for column in ("when", "target", "document", "party", "total", "state", "in the target", "tries"):
        table.add_column(column, justify="right" if column == "tries" else "left")
    table.add_column("message", overflow="fold", max_width=70)
    for row in rows:
        state = row.state
        tries = f"{row.attempts}" + (f" (+{row.replays} replayed)" if row.replays else "")
        table.add_row(
            row.updated_at.strftime("%Y-%m-%d %H:%M"), row.target, row.document, row.party, row.total,
            f"[{COLOURS[state]}]{WORDS[state]}[/]", row.target_document, tries, row.message,
        )  # fmt: skip
    return table


@app.command()
def pause(
    connection_id: Annotated[str, typer.Argument(help="The connection")],
    reason: Annotated[str, typer.Option(help="Why, for whoever looks at its status")] = "",
) -> None:
    """Stop polling a connection until it is resumed; its webhooks are answered "read when it resumes"."""
    from koppel.services.operations import pause as pause_connection

    paused = pause_connection(connection_store(), connection_id, reason)
    out.print(f"{paused.connection_id} is paused ({paused.status_reason}); `koppel resume {paused.connection_id}`")


@app.command()
def resume(connection_id: Annotated[str, typer.Argument(help="The connection")]) -> None:
    """Poll a paused connection again, at once, from where it left off: nothing that happened meanwhile is lost."""
    from koppel.services.operations import resume as resume_connection

    resumed = resume_connection(connection_store(), connection_id)
    out.print(f"{resumed.connection_id} is active: its next poll reads from where it left off")
