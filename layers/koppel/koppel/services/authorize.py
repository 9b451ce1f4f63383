"""OAuth 2.0: the owner consented on the vendor's page, and the vendor sends them back with a code.

The start is the same as an activation's (services/connect.py): the owner's start link is used up and a fresh
reference goes to the vendor as ``state``. Here the return is received: the state must be a pending reference of
this system (single use, expiring), the code is traded for a grant, and the grant is stored encrypted as the
system's token (access token, rotating refresh token) beside where it opens (a realm id, an API domain).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from koppel.errors import InputError, PermanentError, RetryableError, SignatureError
from koppel.inbound import digest, opaque_token
from koppel.ports import CachedToken
from koppel.services.connect import NEW_LINK, NOT_ISSUED
from koppel.services.target_sync import after_connect

if TYPE_CHECKING:
    from collections.abc import Mapping

    from koppel.model import Connection
    from koppel.services.connect import ConnectDeps

MAX_QUERY_VALUE = 2048
"""A code or a state longer than this is no vendor's: refused before anything is looked up."""


@dataclass(frozen=True)
class Returned:
    connection: Connection
    return_url: str
    """Where the owner goes next: their own return address, or Koppel's done page."""


def receive_authorization(
    system: str, query: Mapping[str, str], deps: ConnectDeps, *, callback_url: str, done_url: str
) -> Returned:
    """Connect ``system`` with the grant the vendor gives for this return's code; the pending reference is used up
    whatever happens, so a return can be taken once."""
    flow = deps.oauth_for(system)
    refused = NOT_ISSUED.format(what=f"{system} authorization", action=NEW_LINK)
    state = opaque_token(query.get("state"), refused)
    pending = deps.grants.redeem(digest(state), "activation", deps.clock())
    if pending is None or pending.system != system:
        raise SignatureError(refused)
    if query.get("error"):
        reason = query.get("error_description") or query["error"]
        raise InputError(f"{system} access was not granted ({reason[:200]}); {NEW_LINK}", status=403)
    code = query.get("code") or ""
    if not code or len(code) > MAX_QUERY_VALUE:
        raise InputError(f"the {system} return carried no authorization code; {NEW_LINK}")
    authorized = flow.exchange(
        code=code, redirect_uri=callback_url, query=dict(query), partner=deps.partner_secret(system)
    )
    now = deps.clock()
    grant = CachedToken(
        value=authorized.access_token,
        expires_at=now + timedelta(seconds=authorized.expires_in),
        version=1,
        refresh_token=authorized.refresh_token,
        refresh_expires_at=now + timedelta(seconds=authorized.refresh_expires_in)
        if authorized.refresh_expires_in
        else None,
        refreshed_at=now,
    )
    connection = deps.connections.get(pending.connection_id)
    deps.connections.delete_secrets(connection.connection_id, system)  # and the grant an earlier consent gave
    deps.connections.put_secrets(connection.connection_id, system, dict(authorized.account))
    if not deps.connections.put_token(connection.connection_id, system, grant):
        raise InputError(f"{system} was being connected twice at once; {NEW_LINK}", status=409)
    if authorized.account_id:
        deps.connections.link_account(system, authorized.account_id, connection.connection_id)
    connection = connection.model_copy(update={"status": "active", "status_reason": ""})
    if system in connection.targets:
        connection = _with_chart(connection, system, deps)
    deps.connections.put(connection)
    return Returned(connection, pending.return_url or done_url)


def _with_chart(connection: Connection, system: str, deps: ConnectDeps) -> Connection:
    """The target's after-connect step (its tax codes, items, chart) with the grant just stored, so the first
    booking finds its mapping; if the vendor is busy now, target sync reads it within minutes."""
    try:
        synced = after_connect(deps.stored_target(connection, system))
    except (RetryableError, PermanentError):
        return connection
    if not synced:
        return connection
    settings = {**connection.target_settings.get(system, {}), **synced}
    return connection.model_copy(update={"target_settings": {**connection.target_settings, system: settings}})
