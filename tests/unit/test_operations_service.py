"""Pause, resume and a connection's history: services/operations.py with the in-memory stores."""

from __future__ import annotations

from datetime import timedelta

import pytest

from koppel.adapters.memory import MemoryConnectionStore, MemoryLedger
from koppel.errors import InputError
from koppel.model import ExternalRef
from koppel.ports import LedgerEntry
from koppel.services.operations import history, pause, resume
from tests.fakes import T0, a_connection


@pytest.fixture
def store() -> MemoryConnectionStore:
    return MemoryConnectionStore([a_connection()])


def test_a_paused_connection_is_never_due_and_is_due_at_once_when_resumed(store: MemoryConnectionStore) -> None:
    # Given an active connection
    # When a person pauses it
    paused = pause(store, "demo-shop", "the bookkeeper closes the year")

    # Then it is paused with the reason, and the scheduler finds it not due
    assert (paused.status, paused.status_reason) == ("paused", "the bookkeeper closes the year")
    assert store.due(T0 + timedelta(days=1)) == []
    # And when it is resumed it is active and due at once
    assert resume(store, "demo-shop").status == "active"
    assert [due.connection_id for due in store.due(T0)] == ["demo-shop"]


def test_only_a_paused_connection_resumes_and_a_disconnected_one_is_not_paused(store: MemoryConnectionStore) -> None:
    # Given a connection whose credentials were refused (red), and one that was disconnected
    store.put(store.get("demo-shop").model_copy(update={"status": "error", "status_reason": "401 from SnelStart"}))

    # When a person resumes the red one, then it says to connect it again instead
    with pytest.raises(InputError, match="connect it again with `koppel connections connect demo-shop"):
        resume(store, "demo-shop")
    # And a disconnected one cannot be paused
    store.put(store.get("demo-shop").model_copy(update={"status": "disconnected"}))
    with pytest.raises(InputError, match="is disconnected"):
        pause(store, "demo-shop")


def test_the_history_is_newest_first_with_the_vendors_words_and_where_it_landed() -> None:
    # Given a booked order, a parked one and a bank statement not bookable, written an hour apart
    ledger = MemoryLedger()

    def row(event_id: str, hours: int) -> LedgerEntry:
        at = T0 + timedelta(hours=hours)
        fresh = LedgerEntry.pending("demo-shop", "snelstart", event_id, at, at, document_number=event_id.upper())
        return ledger.claim(fresh, at).entry

    ledger.mark_posted(row("1001", 0), ExternalRef(system="snelstart", id="vb-1", number="2026-1001"), T0)
    ledger.mark_parked(row("1002", 1), "SnelStart: grootboek 8999 bestaat niet", T0 + timedelta(hours=1))
    ledger.mark_skipped(row("stmt", 2), "not bookable: a bank statement", T0 + timedelta(hours=2))

    # When the history is read, all of it and then only what is parked
    everything = history(ledger, "demo-shop")
    parked = history(ledger, "demo-shop", state="PARKED")

    # Then it is newest first, each with where it landed or why not
    assert [(r.document, r.state) for r in everything] == [("STMT", "SKIPPED"), ("1002", "PARKED"), ("1001", "POSTED")]
    assert everything[2].target_document == "2026-1001"
    assert [r.message for r in parked] == ["SnelStart: grootboek 8999 bestaat niet"]
    # And a limit shows the newest only, and a limit below one is refused with what to give
    assert [r.document for r in history(ledger, "demo-shop", limit=1)] == ["STMT"]
    with pytest.raises(InputError, match="--limit 0"):
        history(ledger, "demo-shop", limit=0)
