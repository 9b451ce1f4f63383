"""The DynamoDB adapters on moto: every place two workers could race is a conditional write that one loses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from koppel import bootstrap
from koppel.model import Connection, ExternalRef
from koppel.ports import NEVER_POLLED, CachedToken, LedgerEntry
from koppel.settings import StoreSettings

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def ledger(clean_stack):  # type: ignore[no-untyped-def]
    return bootstrap.ledger(StoreSettings.load())


@pytest.fixture
def store(clean_stack):  # type: ignore[no-untyped-def]
    return bootstrap.connection_store(StoreSettings.load())


def row(request_id: str, now: datetime = T0, lease: int = 60) -> LedgerEntry:
    """The PENDING row a worker writes at ``now``: its lease runs ``lease`` seconds from then."""
    return LedgerEntry(
        connection_id="shop",
        target="snelstart",
        event_id="ccvshop:order:1:completed",
        state="PENDING",
        request_id=request_id,
        lease_until=now + timedelta(seconds=lease),
        updated_at=now,
        event_json='{"event": "kept for replay"}',
    )


def test_of_two_workers_claiming_one_record_only_one_wins(ledger) -> None:
    first = ledger.claim(row("worker-a"), T0)
    second = ledger.claim(row("worker-b"), T0)
    assert (first.is_ours, second.is_ours) == (True, False)
    assert second.entry.request_id == "worker-a"


def test_a_stale_pending_row_is_taken_over_once_and_the_old_owner_cannot_overwrite_it(ledger) -> None:
    owner = ledger.claim(row("worker-a"), T0).entry
    later = T0 + timedelta(seconds=61)
    taken = ledger.claim(row("worker-b", later), later)
    again = ledger.claim(row("worker-c", later), later)
    assert (taken.is_ours, again.is_ours) == (True, False)
    assert taken.entry.attempts == 2
    # When the first worker wakes up and reports its outcome, the new owner's row stands
    ledger.mark_posted(owner, ExternalRef(system="snelstart", id="late"), later)
    current = ledger.get("shop", "snelstart", "ccvshop:order:1:completed")
    assert (current.state, current.request_id) == ("PENDING", "worker-b")
    # And the new owner's outcome is written, with the event kept for replay
    posted = ledger.mark_posted(taken.entry, ExternalRef(system="snelstart", id="vb-1", number="1"), later)
    assert (posted.state, posted.external_id) == ("POSTED", "vb-1")
    assert ledger.get("shop", "snelstart", "ccvshop:order:1:completed").event_json == '{"event": "kept for replay"}'


def test_a_parked_row_is_reopened_for_replay_exactly_once(ledger) -> None:
    entry = ledger.claim(row("worker-a"), T0).entry
    parked = ledger.mark_parked(entry, "grootboek 8999 bestaat niet", T0)
    first = ledger.reopen(parked, T0)
    second = ledger.reopen(parked, T0)
    assert first is not None
    assert (first.state, first.replays) == ("PENDING", 1)
    assert second is None
    assert [e.event_id for e in ledger.entries("shop", "PENDING")] == ["ccvshop:order:1:completed"]


def test_one_worker_at_a_time_may_create_a_new_customer(ledger) -> None:
    key = "party:email:j.jansen@example.nl"
    assert ledger.reserve_link("shop", "snelstart", key, T0 + timedelta(seconds=60), T0)
    assert not ledger.reserve_link("shop", "snelstart", key, T0 + timedelta(seconds=60), T0)
    assert ledger.get_link("shop", "snelstart", key) is None  # a reservation is not a link
    assert ledger.reserve_link("shop", "snelstart", key, T0 + timedelta(seconds=200), T0 + timedelta(seconds=61))
    ledger.put_link("shop", "snelstart", key, "rel-1")
    assert ledger.get_link("shop", "snelstart", key) == "rel-1"
    assert not ledger.reserve_link("shop", "snelstart", key, T0 + timedelta(days=1), T0 + timedelta(days=1))


def test_watermarks_only_move_forward(store) -> None:
    assert store.advance_watermark("shop", "source", T0)
    assert not store.advance_watermark("shop", "source", T0 - timedelta(minutes=1))
    assert not store.advance_watermark("shop", "source", T0)
    assert store.advance_watermark("shop", "source", T0 + timedelta(microseconds=1))
    assert store.get_watermark("shop", "source") == T0 + timedelta(microseconds=1)


def test_a_token_refresh_is_single_flight(store) -> None:
    token = CachedToken(value="t1", expires_at=T0, version=1)
    assert store.put_token("shop", "snelstart", token)
    racing = [CachedToken(value=v, expires_at=T0, version=2) for v in ("t2-a", "t2-b")]
    assert [store.put_token("shop", "snelstart", t) for t in racing] == [True, False]
    assert store.get_token("shop", "snelstart").value == "t2-a"


def test_oauth_workers_racing_on_dynamodb_spend_each_rotating_refresh_token_once(clean_stack, store) -> None:
    # Given a stored OAuth grant whose access token expired, and a token endpoint that takes each refresh token once
    from tests.unit.test_oauth_tokens import Clock, TokenEndpoint, all_at_once, worker

    vendor, clock = TokenEndpoint(), Clock()
    grant = CachedToken(value="a-0", expires_at=clock.now, version=1, refresh_token="r-0", refreshed_at=clock.now)
    assert store.put_token("demo-shop", "fakebooks", grant)
    workers = [worker(store, vendor, clock) for _ in range(8)]
    for hour in range(1, 6):
        # When eight workers need a token at once, hour after hour
        clock.now = grant.expires_at + timedelta(hours=hour)
        assert set(all_at_once(workers)) == {f"a-{hour}"}
    # Then the vendor saw every refresh token once, and the encrypted grant holds the one it takes now
    assert len(vendor.seen) == len(set(vendor.seen)) == 5
    stored = store.get_token("demo-shop", "fakebooks")
    assert stored.refresh_token == vendor.valid and stored.refreshing_until is None
    raw = clean_stack.client("dynamodb").scan(TableName=clean_stack._outputs().connections_table)["Items"]
    assert vendor.valid not in repr(raw)


def test_a_vendor_account_finds_its_connections_by_key(store) -> None:
    # Given two connections that reach one QuickBooks company, and one that reaches another
    for connection_id, realm in (("shop-a", "9130"), ("shop-b", "9130"), ("shop-c", "4620")):
        store.link_account("quickbooks", realm, connection_id)
    store.link_account("quickbooks", "9130", "shop-a")  # linked again on a reconnect: still once
    # Then a notice that names the company finds exactly its connections, and an unknown company none
    assert store.connections_of_account("quickbooks", "9130") == ["shop-a", "shop-b"]
    assert store.connections_of_account("pipedrive", "9130") == []
    assert store.connections_of_account("quickbooks", "0") == []


def test_credentials_are_stored_encrypted_and_bound_to_their_connection(clean_stack, store) -> None:
    store.put(Connection(connection_id="shop", tenant_id="t", source="ccvshop", targets=("snelstart",), created_at=T0))
    store.put_secrets("shop", "snelstart", {"koppelsleutel": "VERY-SECRET-KEY"})
    raw = clean_stack.client("dynamodb").scan(TableName=clean_stack._outputs().connections_table)["Items"]
    assert "VERY-SECRET-KEY" not in repr(raw)
    assert store.get_secrets("shop", "snelstart") == {"koppelsleutel": "VERY-SECRET-KEY"}
    # A ciphertext copied onto another connection does not decrypt (KMS encryption context)
    item = next(i for i in raw if i["sk"]["S"] == "secret#snelstart")
    item["pk"] = {"S": "other"}
    clean_stack.client("dynamodb").put_item(TableName=clean_stack._outputs().connections_table, Item=item)
    with pytest.raises(Exception, match="InvalidCiphertext"):
        store.get_secrets("other", "snelstart")


def test_a_grant_is_used_up_once_and_not_after_it_expired(clean_stack) -> None:
    from koppel.ports import Grant

    grants = bootstrap.grant_store(StoreSettings.load())
    start = Grant(connection_id="shop", system="snelstart", purpose="start", expires_at=T0 + timedelta(minutes=15))
    grants.issue("d1", start)
    grants.issue("d2", start)
    # Then one redeem takes it, a second finds nothing, another purpose never matches, and an expired one is refused
    assert grants.redeem("d1", "activation", T0) is None
    assert grants.redeem("d1", "start", T0) == start
    assert grants.redeem("d1", "start", T0) is None
    assert grants.redeem("d2", "start", T0 + timedelta(minutes=16)) is None
    # And a live link is read without being used up, until it is revoked
    grants.issue("d3", start.model_copy(update={"purpose": "link", "expires_at": None}))
    assert grants.find("d3", "link", T0 + timedelta(days=400)) is not None
    grants.revoke("d3")
    assert grants.find("d3", "link", T0) is None


def test_the_replay_cache_remembers_a_body_and_its_refusal_until_it_expires(clean_stack) -> None:
    replays = bootstrap.replay_cache(StoreSettings.load())
    until = T0 + timedelta(hours=1)
    assert replays.first_sighting("shop", "body-1", until, T0) is True
    assert replays.first_sighting("shop", "body-1", until, T0) is False
    assert replays.first_sighting("other-shop", "body-1", until, T0) is True  # per connection
    assert replays.refusal_of("shop", "body-1") == ""
    replays.note_refusal("shop", "body-2", "the shop does not know order 7", until)
    assert replays.first_sighting("shop", "body-2", until, T0) is False
    assert replays.refusal_of("shop", "body-2") == "the shop does not know order 7"
    # After the window (DynamoDB's TTL may not have run yet) the body counts as new again
    assert replays.first_sighting("shop", "body-1", until + timedelta(hours=1), until + timedelta(seconds=1)) is True


def _connection(connection_id: str, **changes: object) -> Connection:
    base = Connection(
        connection_id=connection_id, tenant_id="t", source="ccvshop", targets=("snelstart",), created_at=T0
    )
    return base.model_copy(update=changes)


def test_the_scheduler_finds_due_connections_through_its_index_and_only_one_run_takes_each(store) -> None:
    # Given two active connections (polled every 5 and every 15 minutes) and a paused one
    store.put(_connection("bakker"))
    store.put(_connection("slager", poll_interval_minutes=15))
    store.put(_connection("paused", status="paused"))

    # When the index is read, then both active ones are due at once and the paused one is not
    due = store.due(T0)
    assert [(d.connection_id, d.poll_interval_minutes) for d in due] == [("bakker", 5), ("slager", 15)]
    assert {d.due_at for d in due} == {NEVER_POLLED}

    # When two scheduler runs take the same due poll, then only the first moves it forward
    assert store.reschedule(due[0], T0 + timedelta(minutes=5))
    assert not store.reschedule(due[0], T0 + timedelta(minutes=5))
    assert [d.connection_id for d in store.due(T0 + timedelta(minutes=1))] == ["slager"]

    # When a connection's settings change, its next poll stays; when it is paused, it leaves the index
    store.put(_connection("bakker", name="Bakkerij"))
    assert [d.due_at for d in store.due(T0 + timedelta(minutes=5)) if d.connection_id == "bakker"] == [
        T0 + timedelta(minutes=5)
    ]
    store.put(_connection("bakker", status="paused"))
    assert "bakker" not in {d.connection_id for d in store.due(T0 + timedelta(days=1))}


def test_the_ledger_is_read_through_its_state_index_and_only_closed_rows_expire(ledger) -> None:
    # Given one parked, one pending, one open and one settled booking of a connection, and a row of another
    def claimed(event_id: str, connection_id: str = "shop") -> LedgerEntry:
        fresh = row("worker-a").model_copy(update={"event_id": event_id, "connection_id": connection_id})
        return ledger.claim(fresh, T0).entry

    ledger.mark_parked(claimed("e:parked"), "grootboek 8999 bestaat niet", T0)
    claimed("e:pending")
    ref = ExternalRef(system="snelstart", id="vb-1", number="2026-1")
    ledger.mark_posted(claimed("e:open"), ref, T0)
    settled = ledger.mark_posted(claimed("e:settled"), ref, T0)
    ledger.note_payment(settled, "paid 0.00", T0 + timedelta(hours=1), due_date="2026-12-17")
    ledger.mark_parked(claimed("e:parked", "other-shop"), "not ours", T0)

    # Then each state of the connection is one Query of the index, booked rows open or settled
    assert [e.event_id for e in ledger.entries("shop", "PARKED")] == ["e:parked"]
    assert [e.event_id for e in ledger.entries("shop", "POSTED")] == ["e:open", "e:settled"]
    assert len(ledger.entries("shop")) == 4
    # And target sync's open items are only the booking whose payment is still followed
    assert [e.event_id for e in ledger.open_items("shop", "snelstart")] == ["e:open"]
    assert ledger.open_items("shop", "eboekhouden") == []
    # And `koppel status` counts each state through the index, closed bookings included, without reading rows,
    # and reads one row for the last success of a target
    assert [ledger.count("shop", s) for s in ("POSTED", "PENDING", "PARKED")] == [2, 1, 1]
    last = ledger.latest("shop", "POSTED", "snelstart")
    assert last is not None and last.event_id == "e:settled" and last.due_date == "2026-12-17"
    assert ledger.latest("shop", "POSTED", "eboekhouden") is None
    # And "changed since" reads only what changed since
    assert [e.event_id for e in ledger.entries("shop", since=T0 + timedelta(minutes=30))] == ["e:settled"]

    # And only the settled row carries the TTL attribute: its retention (400 days) from when it closed
    items = {
        item["sk"]["S"]: item
        for item in ledger._db.scan(TableName=ledger._table)["Items"]  # the test reads the table whole, not the code
    }
    expiring = {sk: int(item["expires_at_epoch"]["N"]) for sk, item in items.items() if "expires_at_epoch" in item}
    assert expiring == {"event#e:settled": int((T0 + timedelta(hours=1, days=400)).timestamp())}


def test_reindex_gives_rows_written_with_the_old_index_keys_the_new_ones_once(ledger) -> None:
    # Given a parked row as the ledger wrote it before the index was keyed by connection and phase
    entry = ledger.claim(row("worker-a"), T0).entry
    ledger.mark_parked(entry, "grootboek 8999 bestaat niet", T0)
    key = {"pk": {"S": "shop#snelstart"}, "sk": {"S": "event#ccvshop:order:1:completed"}}
    ledger._db.update_item(
        TableName=ledger._table,
        Key=key,
        UpdateExpression="SET gsi1pk = :old, gsi1sk = :at",
        ExpressionAttributeValues={":old": {"S": "shop#snelstart#PARKED"}, ":at": {"S": T0.isoformat()}},
    )
    assert ledger.entries("shop", "PARKED") == []

    # When the one-off reindex runs twice
    first, second = ledger.reindex(), ledger.reindex()

    # Then the row is found by its state again, and the second run had nothing to do
    assert (first, second) == (1, 0)
    assert [e.reason for e in ledger.entries("shop", "PARKED")] == ["grootboek 8999 bestaat niet"]


def test_a_document_that_is_not_bookable_is_kept_apart_with_why_and_expires(ledger) -> None:
    # Given a bank statement a poll read and could not book, and a booked invoice
    skipped = ledger.claim(row("worker-a").model_copy(update={"event_id": "banqup:file:9"}), T0).entry
    ledger.mark_skipped(skipped, "not bookable: a bank statement; it stays in Banqup", T0)
    posted = ledger.claim(row("worker-a").model_copy(update={"event_id": "banqup:file:1"}), T0).entry
    ledger.mark_posted(posted, ExternalRef(system="snelstart", id="ib-1", number="F-1"), T0)

    # Then it is counted and listed apart from the booked ones, with the reason
    assert [ledger.count("shop", s) for s in ("POSTED", "SKIPPED")] == [1, 1]
    [held] = ledger.entries("shop", "SKIPPED")
    assert "bank statement" in held.reason
    assert len(ledger.entries("shop")) == 2
    # And it expires after the retention, like every row nothing reads again
    item = ledger._db.get_item(TableName=ledger._table, Key=ledger._key("shop", held.target, held.event_id))["Item"]
    assert int(item["expires_at_epoch"]["N"]) == int((T0 + timedelta(days=400)).timestamp())


def test_a_firms_integrations_are_read_through_its_index_and_no_other_firms(store) -> None:
    # Given two integrations of one accounting firm's clients and one of another firm
    def integration(connection_id: str, tenant: str, target: str) -> Connection:
        return Connection(
            connection_id=connection_id, tenant_id=tenant, source="banqup", targets=(target,),
            created_at=T0, source_settings={"space_id": connection_id},
        )  # fmt: skip

    for made in (
        integration("jansen-snelstart", "firm-telling", "snelstart"),
        integration("jansen-quickbooks", "firm-telling", "quickbooks"),
        integration("smit-eboekhouden", "firm-other", "eboekhouden"),
    ):
        store.put(made)

    # When the firm's integrations are read
    calls: list[str] = []
    store._db.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    found = store.of_tenant("firm-telling")

    # Then they are its two, read with one Query of the index and never a Scan of every firm's
    assert [c.connection_id for c in found] == ["jansen-quickbooks", "jansen-snelstart"]
    assert calls == ["Query"]
    assert store.of_tenant("firm-nobody") == []
