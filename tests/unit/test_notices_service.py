"""A target's own webhooks (services/notices.py): a signed notice queues the read-back of the status of exactly the
connections that reach the accounts it names, and a poll job for it reads status back at once and polls nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from koppel.adapters.memory import MemoryConnectionStore, MemoryJobQueue, MemoryLedger
from koppel.errors import NotFoundError, SignatureError
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
        connections=store, jobs=jobs, notices_for=notices_for, partner_secret=lambda s: {"verifier": "token"}
    )
    return store, jobs, deps


def test_a_notice_reads_back_the_active_connections_of_the_accounts_it_names(world) -> None:
    _, jobs, deps = world
    # When the target says realm 9130 changed
    read_back = receive_notices("fakebooks", {"signature": "token"}, b"9130", deps)
    # Then its two active connections get a read-back job each; the paused one and another realm's none
    assert read_back == ("shop-a", "shop-b")
    assert [(j.connection_id, j.sync_targets_now) for j in jobs.jobs] == [("shop-a", True), ("shop-b", True)]


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
