"""Connecting and disconnecting accounts: vendor activation callbacks and the credentials they carry.

SnelStart-style activation: Koppel sends the user to the vendor with a reference key; the vendor calls back
with a credential for that reference. The reference is `<connection id>.<nonce>`, and the nonce is kept with
the connection (encrypted, like a credential), so a forged or replayed callback for another connection is refused.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from koppel.errors import InputError, SignatureError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from koppel.model import Connection
    from koppel.ports import Activation, ConnectionStore

ACTIVATION = "{target}.activation"


@dataclass
class ConnectDeps:
    connections: ConnectionStore
    after_connect: Callable[[Connection, str], dict[str, Any]]
    """Called once credentials are stored: returns target settings to merge (e.g. the synced chart of accounts)."""


def start_activation(connection_id: str, target: str, deps: ConnectDeps) -> str:
    """Create a fresh reference key for the vendor's activation page and remember its nonce."""
    connection = deps.connections.get(connection_id)
    if target not in connection.targets:
        raise InputError(f"connection {connection_id!r} has no target {target!r}; its targets: {connection.targets}")
    nonce = secrets.token_urlsafe(18)
    deps.connections.put_secrets(connection_id, ACTIVATION.format(target=target), {"nonce": nonce})
    return f"{connection_id}.{nonce}"


def receive_activation(target: str, activation: Activation, deps: ConnectDeps) -> Connection:
    connection_id, _, nonce = activation.reference.partition(".")
    connection = deps.connections.get(connection_id)
    expected = deps.connections.get_secrets(connection_id, ACTIVATION.format(target=target)).get("nonce", "")
    if not expected or not hmac.compare_digest(expected, nonce):
        raise SignatureError(f"activation reference for {connection_id!r} does not match the one Koppel issued")
    if activation.action == "delete":
        return disconnect(connection, target, deps, reason=f"{target} access was revoked at the vendor")
    if not activation.credential:
        raise InputError(f"{target} activation carried no credential")
    return connect_credentials(connection, target, {activation.credential_name: activation.credential}, deps)


def connect_credentials(
    connection: Connection, system: str, credentials: Mapping[str, str], deps: ConnectDeps
) -> Connection:
    """Store a system's credentials and make the connection active again; for a target, its after-connect step
    (reading the chart of accounts) runs at once, so wrong credentials are refused now and not at the first
    booking. Polling resumes from the watermark, which a disconnect left where it was."""
    if system not in (connection.source, *connection.targets):
        raise InputError(f"connection {connection.connection_id!r} has no system {system!r}")
    deps.connections.delete_secrets(connection.connection_id, system)  # and the token the old ones gave
    deps.connections.put_secrets(connection.connection_id, system, dict(credentials))
    connection = connection.model_copy(update={"status": "active", "status_reason": ""})
    deps.connections.put(connection)
    if system in connection.targets:
        synced = deps.after_connect(connection, system)
        if synced:
            settings = {**connection.target_settings.get(system, {}), **synced}
            connection = _with_target_settings(connection, system, settings)
            deps.connections.put(connection)
    return connection


def disconnect(connection: Connection, system: str, deps: ConnectDeps, *, reason: str) -> Connection:
    """Stop all traffic for the connection and forget the credentials of ``system``."""
    deps.connections.delete_secrets(connection.connection_id, system)
    updated = connection.model_copy(update={"status": "disconnected", "status_reason": reason})
    deps.connections.put(updated)
    return updated


def disconnect_all(connection: Connection, deps: ConnectDeps, *, reason: str) -> Connection:
    """The user disconnects: no polls, no deliveries, and no credential or token of any system is kept."""
    for system in (connection.source, *connection.targets):
        connection = disconnect(connection, system, deps, reason=reason)
    return connection


def _with_target_settings(connection: Connection, target: str, settings: dict[str, Any]) -> Connection:
    return connection.model_copy(update={"target_settings": {**connection.target_settings, target: settings}})
