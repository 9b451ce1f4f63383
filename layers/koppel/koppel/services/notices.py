"""A target's own webhooks (QuickBooks Online's): one address for every account, each body signed with Koppel's
app verifier token. A notice only says that an account's invoices or payments changed; the connections that reach
that account get a poll job that reads their targets' status back now (services/target_sync.py), so a payment is
on the deal within seconds instead of at the next scheduled sync."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from koppel.ports import PollJob

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from koppel.connectors.contract import ChangeNotices
    from koppel.ports import ConnectionStore, JobQueue


@dataclass
class NoticeDeps:
    connections: ConnectionStore
    jobs: JobQueue
    notices_for: Callable[[str], ChangeNotices]
    """The target's change notices; NotFoundError for a vendor that sends none."""
    partner_secret: Callable[[str], Mapping[str, str]]


def receive_notices(system: str, headers: Mapping[str, str], body: bytes, deps: NoticeDeps) -> tuple[str, ...]:
    """Verify the body, then queue a status read-back for every active connection of every account it names;
    the connections' ids. A connection that is paused or disconnected reads nothing back."""
    accounts = deps.notices_for(system).changed_accounts(headers, body, deps.partner_secret(system))
    linked = {cid for account in accounts for cid in deps.connections.connections_of_account(system, account)}
    active = sorted(cid for cid in linked if deps.connections.get(cid).status == "active")
    if active:
        deps.jobs.enqueue([PollJob(connection_id=cid, sync_targets_now=True) for cid in active])
    return tuple(active)
