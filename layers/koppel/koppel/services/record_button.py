"""A CRM's "Sync" button on one record (Simply CRM's "Sync with Billy"): the button is a link the CRM opens with the
record's id; Koppel syncs that record now and answers in words.

The link carries the connection and a button token: a random secret handed out once (``koppel connections
button``), of which only the SHA-256 digest is stored (``RecordSyncSettings.button_digest``) and compared in constant
time. A link without it, with another connection's token, or for a connection that has no button is refused alike
(401), so the answer does not tell which connections exist.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, get_args
from urllib.parse import quote

from koppel.errors import InputError, NotFoundError, SignatureError
from koppel.records import RecordKind
from koppel.services.record_sync import sync_one

if TYPE_CHECKING:
    from collections.abc import Mapping

    from koppel.model import Connection
    from koppel.ports import ConnectionStore
    from koppel.services.record_outcomes import Outcome
    from koppel.services.record_sync import RecordSyncDeps

RECORD_PLACEHOLDER = "$RECORD$"
"""What a vtiger custom link puts the record's id in place of."""


@dataclass
class ButtonDeps:
    connections: ConnectionStore
    records: RecordSyncDeps


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_button(connection: Connection, base_url: str) -> tuple[Connection, dict[str, str]]:
    """A new button token (the old links stop working): the connection to store, and one link per synced kind."""
    if connection.records is None:
        raise InputError(f"connection {connection.connection_id} does not sync records both ways: no button")
    token = secrets.token_urlsafe(24)
    records = connection.records.model_copy(update={"button_digest": _digest(token)})
    base = base_url.rstrip("/")
    links: dict[str, str] = {
        kind: f"{base}/records/{connection.source}/sync?connection={quote(connection.connection_id)}"
        f"&kind={kind}&token={token}&record={RECORD_PLACEHOLDER}"
        for kind in records.kinds
    }
    return connection.model_copy(update={"records": records}), links


def press(system: str, query: Mapping[str, str], deps: ButtonDeps) -> Outcome:
    """Check the link's token, then sync the record it names, on ``system``'s side."""
    refused = SignatureError("this sync link is not valid (any more): make new ones with `koppel connections button`")
    if not query.get("connection") or not query.get("token"):
        raise refused
    missing = [name for name in ("kind", "record") if not query.get(name)]
    if missing:
        raise InputError(f"the sync link lacks {', '.join(missing)}: copy it again from `koppel connections button`")
    kind = query["kind"]
    if kind not in get_args(RecordKind):
        raise InputError(f"kind {kind!r} is not one of {', '.join(get_args(RecordKind))}")
    try:
        connection = deps.connections.get(query["connection"])
    except NotFoundError:
        raise refused from None
    expected = connection.records.button_digest if connection.records else ""
    if not expected or not hmac.compare_digest(_digest(query["token"]), expected):
        raise refused
    if system != connection.source:
        raise InputError(
            f"the sync links of {connection.connection_id} are for {connection.source}'s records", status=404
        )
    if connection.status != "active":
        raise InputError(f"connection {connection.connection_id} is {connection.status}: resume it first", status=409)
    return sync_one(connection, deps.records, kind, system, query["record"])  # type: ignore[arg-type]
