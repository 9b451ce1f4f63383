"""`koppel status`: is each connection healthy, and if not, what needs a person; a refused connection turns red.

A system that connects by OAuth and has no grant (and no other credential) stored has not been refused: its owner
has not consented yet. That connection waits for consent (yellow, "open the consent link"), and a poll or delivery
that finds no grant does not turn it red. A grant stored and then refused (``invalid_grant``) is red: reconnect."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from koppel.model import Canonical, HubEnvelope

if TYPE_CHECKING:
    from collections.abc import Sequence

    from koppel.model import Connection
    from koppel.ports import ConnectionStore, DeadLetter, Ledger


class ConnectionHealth(Canonical):
    connection_id: str
    name: str
    colour: Literal["green", "yellow", "red"]
    connection_status: str
    booked: int
    pending: int
    parked: int
    not_bookable: int = 0
    """Documents the source holds that are not bookable (a bank statement): read, kept in the history with why."""
    dead: int
    last_success: datetime | None
    last_error: str
    last_error_at: datetime | None
    action: str
    """What a person should do, when anything."""


WAITING_FOR_CONSENT = "waiting for consent"


def health(
    connection: Connection, ledger: Ledger, dead_letters: Sequence[DeadLetter], *, waiting_for: Sequence[str] = ()
) -> ConnectionHealth:
    """Booked and not-bookable rows counted through the ledger's index, parked and pending ones read (a person
    needs their reasons): the cost does not grow with the number of bookings. ``waiting_for``: the systems whose
    owner has not given OAuth consent yet (``waiting_for_consent``)."""
    connection_id = connection.connection_id
    parked, pending = ledger.entries(connection_id, "PARKED"), ledger.entries(connection_id, "PENDING")
    # The rows a person must see are read anyway, so only the finished states are counted by the index
    counts = {state: ledger.count(connection_id, state) for state in ("POSTED", "SKIPPED")}
    counts |= {"PARKED": len(parked), "PENDING": len(pending)}
    systems = (*connection.targets, connection.source)  # the source's own rows: payment status written back
    latest = [ledger.latest(connection_id, "POSTED", system) for system in systems]
    posted = [row.updated_at for row in latest if row is not None]
    unfinished = [*parked, *pending]
    troubled = sorted((row for row in unfinished if row.reason), key=lambda r: r.updated_at)
    dead = [d for d in dead_letters if _belongs_to(d, connection_id)]
    waiting = bool(waiting_for) and connection.status in ("active", "error")
    action = _consent_action(connection, waiting_for) if waiting else _action(connection, counts["PARKED"], len(dead))
    # Paused by a person with nothing wrong: not green (nothing is booked meanwhile), not red (nothing failed)
    resting = waiting or (connection.status == "paused" and not counts["PARKED"] and not dead)
    if connection.status == "paused" and not action:
        action = f"paused ({connection.status_reason or 'by a person'}): koppel resume {connection_id} when ready"
    return ConnectionHealth(
        connection_id=connection.connection_id,
        name=connection.name or connection.connection_id,
        colour="yellow" if resting else "green" if not action else "red",
        connection_status=WAITING_FOR_CONSENT if waiting else connection.status,
        booked=counts["POSTED"],
        pending=counts["PENDING"],
        parked=counts["PARKED"],
        not_bookable=counts["SKIPPED"],
        dead=len(dead),
        last_success=max(posted, default=None),
        last_error=troubled[-1].reason if troubled else (dead[-1].reason if dead else ""),
        last_error_at=troubled[-1].updated_at if troubled else (dead[-1].sent_at if dead else None),
        action=action,
    )


def _belongs_to(letter: DeadLetter, connection_id: str) -> bool:
    if not letter.envelope_json:
        return False
    return HubEnvelope.model_validate_json(letter.envelope_json).event.connection_id == connection_id


def _action(connection: Connection, parked: int, dead: int) -> str:
    if connection.status in ("error", "disconnected"):
        return connection.status_reason or "reconnect the account"
    if parked:
        return f"{parked} record(s) parked: fix the cause (see reasons), then koppel replay {connection.connection_id}"
    if dead:
        return (
            f"{dead} message(s) dead-lettered: koppel replay {connection.connection_id} --dead once the cause is fixed"
        )
    return ""


def _consent_action(connection: Connection, waiting_for: Sequence[str]) -> str:
    links = "; ".join(f"koppel connections activate {connection.connection_id} {system}" for system in waiting_for)
    return f"open the consent link (nothing failed: the owner has not granted access yet), made by: {links}"


def waiting_for_consent(connection: Connection, connections: ConnectionStore) -> tuple[str, ...]:
    """The connection's systems that connect by OAuth and hold neither a grant nor any other credential (a
    personal API token, say): their owner has not consented yet."""
    from koppel import connectors  # here, not at import: the poll loads no other connector for its errors

    known = connectors.available()
    return tuple(
        system
        for system in (connection.source, *connection.targets)
        if system in known
        and connectors.load(system).oauth is not None
        and not connections.holds_credentials(connection.connection_id, system)
    )


def mark_red(connections: ConnectionStore, connection_id: str, reason: str) -> None:
    """Credentials were refused: the connection shows red with the action a person must take. Not while a system
    waits for its owner's consent: nothing was refused then (``waiting_for_consent``)."""
    connection = connections.get(connection_id)
    if waiting_for_consent(connection, connections):
        return
    connections.put(connection.model_copy(update={"status": "error", "status_reason": f"{reason} — reconnect"}))
