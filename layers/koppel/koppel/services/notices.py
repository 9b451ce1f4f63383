"""A target's own webhooks (QuickBooks Online's): one address for every account, each body signed with Koppel's
app verifier token. A notice only says that an account's invoices or payments changed; the connections that reach
that account get a poll job that reads their targets' status back now (services/target_sync.py), so a payment is
on the deal within seconds instead of at the next scheduled sync.

A signed body is remembered by its digest for the replay window (the replay cache, as for sources' webhooks): the
same notice again, replayed by anyone who saw it or retried by the vendor, is answered 200 without queueing a
second read-back. A body whose read-back could not be queued is forgotten, so the vendor's retry gets through."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from koppel.inbound import digest
from koppel.ports import PollJob

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from koppel.connectors.contract import ChangeNotices
    from koppel.ports import ConnectionStore, JobQueue, ReplayCache

SEEN_SCOPE = "notices#{system}"
"""Where a target's notices are remembered in the replay cache: no connection's (ids never hold a '#')."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class NoticeDeps:
    connections: ConnectionStore
    jobs: JobQueue
    notices_for: Callable[[str], ChangeNotices]
    """The target's change notices; NotFoundError for a vendor that sends none."""
    partner_secret: Callable[[str], Mapping[str, str]]
    replays: ReplayCache
    replay_window: timedelta = timedelta(hours=1)
    clock: Callable[[], datetime] = field(default=_utcnow)


@dataclass(frozen=True)
class NoticesReceived:
    connections: tuple[str, ...]
    """The connections whose targets' status is read back now."""
    replay: bool = False
    """The same signed body was taken within the replay window: nothing was queued again."""


def receive_notices(system: str, headers: Mapping[str, str], body: bytes, deps: NoticeDeps) -> NoticesReceived:
    """Verify the body, then queue a status read-back for every active connection of every account it names, once
    per body within the replay window. A connection that is paused or disconnected reads nothing back."""
    accounts = deps.notices_for(system).changed_accounts(headers, body, deps.partner_secret(system))
    scope, body_digest, now = SEEN_SCOPE.format(system=system), digest(body), deps.clock()
    if not deps.replays.first_sighting(scope, body_digest, now + deps.replay_window, now):
        return NoticesReceived((), replay=True)
    try:
        linked = {cid for account in accounts for cid in deps.connections.connections_of_account(system, account)}
        active = sorted(cid for cid in linked if deps.connections.get(cid).status == "active")
        if active:
            deps.jobs.enqueue([PollJob(connection_id=cid, sync_targets_now=True) for cid in active])
    except Exception:
        deps.replays.forget(scope, body_digest)  # not read back: the vendor's retry must get through
        raise
    return NoticesReceived(tuple(active))
