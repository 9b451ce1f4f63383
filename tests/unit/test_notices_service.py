"""A target's own webhooks (services/notices.py): a signed notice queues the read-back of the status of exactly the
connections that reach the accounts it names, and a poll job for it reads status back at once and polls nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from koppel.adapters.memory import MemoryConnectionStore, MemoryJobQueue, MemoryLedger, MemoryReplayCache
from koppel.errors import NotFoundError, RetryableError, SignatureError
from koppel.ports import PollJob
from koppel.services.notices import NoticeDeps, receive_notices
from koppel.services.poll import PollDeps, poll_connection
from koppel.services.target_sync import TargetSyncDeps
from tests.fakes import T0, FakeShop, a_connection

if TYPE_CHECKING:
    from collections.abc import Mapping


class SignedNotices:
    """The target's webhook: signed when the header is the verifier token; the body names realms, comma-separated."""

    def changed_accounts(self, headers: Mapping[str, str], body: bytes, partner: Mapping[str, str]) -> tuple[str, ...]:
        if headers.get("signature") != partner["verifier"]:
            raise SignatureError("the notice's signature does not match the body")
        return tuple(body.decode().split(","))


@pytest.fixture
def world() -> tuple[MemoryConnectionStore, MemoryJobQueue, NoticeDeps]:
    store = MemoryConnectionStore(
        [a_connection(connection_id=cid, status=status) for cid, status in
         (("shop-a", "active"), ("shop-b", "active"), ("shop-c", "paused"), ("shop-d", "active"))]
    )  # fmt: skip
    for cid, realm in (("shop-a", "9130"), ("shop-b", "9130"), ("shop-c", "9130"), ("shop-d", "4620")):
        store.link_account("fakebooks", realm, cid)
    jobs = MemoryJobQueue()

    def notices_for(system: str) -> SignedNotices:
        if system != "fakebooks":
            raise NotFoundError(f"{system} sends Koppel no change notices")
        return SignedNotices()

    deps = NoticeDeps(
        connections=store,
        jobs=jobs,
        notices_for=notices_for,
        partner_secret=lambda s: {"verifier": "token"},
        replays=MemoryReplayCache(),
        clock=lambda: T0,
    )
    return store, jobs, deps


def test_a_notice_reads_back_the_active_connections_of_the_accounts_it_names(world) -> None:
    _, jobs, deps = world
    # When the target says realm 9130 changed
    read_back = receive_notices("fakebooks", {"signature": "token"}, b"9130", deps)
    # Then its two active connections get a read-back job each; the paused one and another realm's none
    assert read_back.connections == ("shop-a", "shop-b")
    assert [(j.connection_id, j.sync_targets_now) for j in jobs.jobs] == [("shop-a", True), ("shop-b", True)]


def test_the_same_signed_notice_sent_again_is_answered_without_reading_anything_back_again(world) -> None:
    _, jobs, deps = world
    # Given a signed notice that realm 9130 changed, accepted once
    first = receive_notices("fakebooks", {"signature": "token"}, b"9130", deps)
    # When the same signed notice comes again within the window (a replay, or the vendor's retry)
    again = receive_notices("fakebooks", {"signature": "token"}, b"9130", deps)
    # Then nothing more is queued, and the answer says it was already received
    assert first.connections == ("shop-a", "shop-b") and not first.replay
    assert (again.connections, again.replay) == ((), True)
    assert len(jobs.jobs) == 2
    # And after the window it is a notice like any other
    deps.clock = lambda: T0 + deps.replay_window + timedelta(seconds=1)
    assert receive_notices("fakebooks", {"signature": "token"}, b"9130", deps).connections == ("shop-a", "shop-b")


def test_a_notice_whose_read_back_could_not_be_queued_is_taken_again(world) -> None:
    _, _, deps = world

    class Down:
        def enqueue(self, jobs: object) -> None:
            raise RetryableError("the poll queue is unreachable")

    # Given a signed notice that could not be queued (the vendor sends it again)
    with pytest.raises(RetryableError):
        receive_notices("fakebooks", {"signature": "token"}, b"9130", NoticeDeps(**{**vars(deps), "jobs": Down()}))
    # When it comes again, Then it is read back this time
    assert receive_notices("fakebooks", {"signature": "token"}, b"9130", deps).connections == ("shop-a", "shop-b")


def test_an_unsigned_replay_is_refused_and_not_remembered(world) -> None:
    _, _, deps = world
    with pytest.raises(SignatureError):
        receive_notices("fakebooks", {"signature": "guess"}, b"9130", deps)
    assert receive_notices("fakebooks", {"signature": "token"}, b"9130", deps).connections == ("shop-a", "shop-b")


def test_an_unsigned_notice_or_one_from_a_vendor_without_notices_queues_nothing(world) -> None:
    _, jobs, deps = world
    with pytest.raises(SignatureError):
        receive_notices("fakebooks", {"signature": "guess"}, b"9130", deps)
    with pytest.raises(NotFoundError, match="sends Koppel no change notices"):
        receive_notices("otherbooks", {"signature": "token"}, b"9130", deps)
    assert jobs.jobs == []


def test_a_read_back_job_syncs_the_targets_at_once_and_polls_no_source() -> None:
    # Given a connection whose targets were synced a minute ago (the next regular sync is four minutes away)
    store, shop = MemoryConnectionStore([a_connection()]), FakeShop()
    store.advance_watermark("demo-shop", "target_sync", T0)
    read: list[str] = []

    class Books:
        def after_connect(self) -> dict:
            read.append("chart")
            return {}

    targets = TargetSyncDeps(
        connections=store, ledger=MemoryLedger(),
        publisher=None, target_for=lambda c, t: Books(), writes_back=lambda s: False,  # type: ignore[arg-type]
        clock=lambda: T0 + timedelta(minutes=1),
    )  # fmt: skip
    deps = PollDeps(
        connections=store, publisher=None, source_for=lambda c: shop, targets=targets,  # type: ignore[arg-type]
        clock=lambda: T0 + timedelta(minutes=1),
    )  # fmt: skip
    # When the job a notice queued runs
    result = poll_connection(PollJob(connection_id="demo-shop", sync_targets_now=True), deps)
    # Then the target was read back now, and the source was not polled
    assert read == ["chart"]
    assert shop.polled_windows == [] and result.records == 0
