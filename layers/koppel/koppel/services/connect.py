"""Connecting and disconnecting accounts: owner-issued start links, vendor activation callbacks, credentials.

Activation (SnelStart's koppelsleutel webhook, and any vendor that calls back with a credential) in three steps,
each of which only the holder of the previous step's secret can take:

1. The owner asks for a **start link** (`koppel connections activate`, later the console): a random token, single
   use, valid for minutes. Koppel stores only its SHA-256.
2. Opening it (`GET /connect/<target>/start?token=…`) uses the link up and sends the user to the vendor with a
   fresh random **activation reference** (single use, valid for minutes). The connection id is in neither.
3. The vendor's callback carries that reference with the credential. Koppel first tries the credential (the
   target's after-connect step, e.g. reading the chart of accounts) and stores it only when the vendor took it;
   the reference then becomes the connection's **live link**. A later Regenerate or Delete must carry the live
   link, and is believed only when the vendor itself no longer accepts the stored credential.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from koppel.errors import AuthError, InputError, NotFoundError, PermanentError, RetryableError, SignatureError
from koppel.inbound import digest, opaque_token
from koppel.ports import Grant
from koppel.services.target_sync import after_connect

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from koppel.connectors.contract import ActivationFlow, OAuthFlow
    from koppel.model import Connection
    from koppel.ports import Activation, ConnectionStore, GrantStore

NOT_ISSUED = "the {what} is not one Koppel issued, or it expired or was used: {action}"
NEW_LINK = "ask the connection's owner for a new start link (koppel connections activate CONNECTION TARGET)"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _no_oauth(system: str) -> OAuthFlow:
    raise NotFoundError(f"{system} is connected with its API credentials: use `koppel connections connect`")


@dataclass
class ConnectDeps:
    connections: ConnectionStore
    grants: GrantStore
    target_with: Callable[[Connection, str, Mapping[str, str]], object]
    """(connection, system, credentials) → that system's target connector with these credentials only: no token
    cache and no store, so that using it proves whether the vendor takes them."""
    activation_for: Callable[[str], ActivationFlow]
    """A target's activation flow (its vendor calls back with the credential); NotFoundError for one without."""
    oauth_for: Callable[[str], OAuthFlow] = field(default=_no_oauth)
    """A system's OAuth 2.0 flow (the owner consents on the vendor's page); NotFoundError for one without."""
    source_with: Callable[[Connection, str, Mapping[str, str]], object] = field(default=lambda *_: None)
    """(connection, system, credentials) → the source's connector with these credentials only (as ``target_with``)."""
    stored_target: Callable[[Connection, str], object] = field(default=lambda *_: None)
    """(connection, system) → that system's target as deliver builds it, with the credentials and grant stored now:
    an OAuth target reads its chart with the grant its consent just stored."""
    partner_secret: Callable[[str], Mapping[str, str]] = field(default=lambda _: {})
    """Koppel's own credentials at a vendor (SnelStart's subscription key, say), which its activation page needs."""
    clock: Callable[[], datetime] = field(default=_utcnow)
    start_link_ttl: timedelta = timedelta(minutes=15)
    activation_ttl: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Started:
    connection: Connection
    vendor_url: str


def consent_flow(system: str, deps: ConnectDeps) -> ActivationFlow | OAuthFlow:
    """How the owner grants Koppel access to ``system``: the vendor calls back (activation) or sends the owner back
    with a code (OAuth). NotFoundError for a vendor connected with API credentials instead."""
    try:
        return deps.activation_for(system)
    except NotFoundError:
        return deps.oauth_for(system)


def issue_start_link(connection: Connection, target: str, deps: ConnectDeps, *, return_url: str = "") -> str:
    """The owner's start link token for one activation of ``target`` (a target, or an OAuth source): single use,
    valid ``start_link_ttl``."""
    consent_flow(target, deps)  # a vendor that is connected otherwise (API keys) gets no start link: NotFoundError
    if target not in (*connection.targets, connection.source):
        raise InputError(f"connection {connection.connection_id!r} has no system {target!r}")
    token = secrets.token_urlsafe(32)
    grant = Grant(
        connection_id=connection.connection_id,
        system=target,
        purpose="start",
        expires_at=deps.clock() + deps.start_link_ttl,
        return_url=return_url,
    )
    deps.grants.issue(digest(token), grant)
    return token


def begin_activation(
    target: str, token: object, deps: ConnectDeps, *, done_url: str = "", callback_url: str = ""
) -> Started:
    """Use up a start link and hand out a fresh activation reference for the vendor's page, which sends the user
    back to the owner's return address, else to ``done_url``. For OAuth the reference is the ``state`` the vendor
    returns to ``callback_url`` with the code: random, single use, expiring, and stored only as its digest (a
    state that is checked on the server needs no signature)."""
    flow = consent_flow(target, deps)  # first: a vendor without a consent page is a 404, and no link is used up
    refused = NOT_ISSUED.format(what="start link", action=NEW_LINK)
    start = deps.grants.redeem(digest(opaque_token(token, refused)), "start", deps.clock())
    if start is None or start.system != target:
        raise SignatureError(refused)
    connection = deps.connections.get(start.connection_id)
    if target not in (*connection.targets, connection.source):
        raise SignatureError(refused)
    reference = secrets.token_urlsafe(32)
    pending = start.model_copy(update={"purpose": "activation", "expires_at": deps.clock() + deps.activation_ttl})
    deps.grants.issue(digest(reference), pending)
    from koppel.connectors.contract import OAuthFlow  # here, not at import: the scheduler loads no connector code

    if isinstance(flow, OAuthFlow):
        url = flow.authorize_url(state=reference, redirect_uri=callback_url, partner=deps.partner_secret(target))
        return Started(connection, url)
    vendor_url = flow.start_url(
        success_url=start.return_url or done_url,
        reference_key=reference,
        partner=deps.partner_secret(target),
        settings=connection.target_settings.get(target, {}),
    )
    return Started(connection, vendor_url)


def activation_of(target: str, deps: ConnectDeps) -> ActivationFlow | OAuthFlow:
    """The system's consent flow; NotFoundError (404) for a vendor connected with API credentials, or none."""
    return consent_flow(target, deps)


def receive_callback(target: str, body: bytes, deps: ConnectDeps) -> tuple[Activation, Connection]:
    """The vendor's callback as it arrived: read by the target's own flow, then received."""
    activation = deps.activation_for(target).parse_callback(body)
    return activation, receive_activation(target, activation, deps)


def receive_activation(target: str, activation: Activation, deps: ConnectDeps) -> Connection:
    """The vendor's callback: Create connects once per start link; Regenerate and Delete need the live link and
    the vendor's own word (it no longer takes the stored credential)."""
    refused = NOT_ISSUED.format(what=f"{target} activation reference", action=NEW_LINK)
    reference = digest(opaque_token(activation.reference, refused))
    if activation.action == "create":
        return _activate(target, reference, activation, deps)
    link = deps.grants.find(reference, "link", deps.clock())
    if link is None or link.system != target:
        raise SignatureError(refused)
    connection = deps.connections.get(link.connection_id)
    if _still_accepted(connection, target, deps):
        raise InputError(
            f"{target} still accepts this connection's stored credential, so this {activation.action} is not "
            "believed and nothing was changed. The owner disconnects with `koppel connections disconnect`, or "
            "activates again with `koppel connections activate`",
            status=409,
        )
    if activation.action == "delete":
        return disconnect(connection, target, deps, reason=f"{target} access was revoked at the vendor — reconnect")
    return connect_credentials(connection, target, _credentials(target, activation), deps)


def _activate(target: str, reference: str, activation: Activation, deps: ConnectDeps) -> Connection:
    now = deps.clock()
    pending = deps.grants.redeem(reference, "activation", now)
    if pending is None or pending.system != target:
        if pending is None and deps.grants.find(reference, "link", now) is not None:
            raise InputError(f"this {target} activation was already received; {NEW_LINK}", status=409)
        raise SignatureError(NOT_ISSUED.format(what=f"{target} activation reference", action=NEW_LINK))
    before = deps.connections.get(pending.connection_id)
    linked = before.model_copy(update={"activation_links": {**before.activation_links, target: reference}})
    try:  # stored (with its new link) only once the vendor took the credential
        connection = connect_credentials(linked, target, _credentials(target, activation), deps)
    except RetryableError:
        deps.grants.issue(reference, pending)  # the vendor was busy: its retry of this callback may still connect
        raise
    previous = before.activation_links.get(target)
    if previous and previous != reference:
        deps.grants.revoke(previous)
    deps.grants.issue(reference, pending.model_copy(update={"purpose": "link", "expires_at": None}))
    return connection


def _credentials(target: str, activation: Activation) -> dict[str, str]:
    if not activation.credential:
        raise InputError(f"the {target} activation ({activation.action}) carried no credential")
    return {activation.credential_name: activation.credential}


def _still_accepted(connection: Connection, system: str, deps: ConnectDeps) -> bool:
    stored = deps.connections.get_secrets(connection.connection_id, system)
    if not stored:
        return False
    try:
        try_credentials(connection, system, stored, deps)
    except AuthError:
        return False
    return True


def try_credentials(
    connection: Connection, system: str, credentials: Mapping[str, str], deps: ConnectDeps
) -> dict[str, Any]:
    """The system's after-connect step (e.g. reading the chart of accounts) run with these credentials: the
    settings it synced, or AuthError when the vendor refuses them. A target without the step has nothing to try
    the credentials with, and gets {}."""
    return after_connect(deps.target_with(connection, system, credentials))


def _check_mapping(connection: Connection, system: str, credentials: Mapping[str, str], deps: ConnectDeps) -> None:
    """A source that maps fields checks its mapping against the vendor's fields now, with these credentials."""
    from koppel.connectors.contract import MappingCheck  # here, not at import: the scheduler loads no connector

    source = deps.source_with(connection, system, credentials)
    if not isinstance(source, MappingCheck):
        return
    try:
        problems = source.mapping_problems()
    except (AuthError, PermanentError) as error:
        refused = f"{system} did not accept these credentials ({error}); nothing was changed"
        raise InputError(refused, status=422) from error
    if problems:
        raise InputError(
            f"the field mapping does not fit {system}'s fields; nothing was changed: {'; '.join(problems)}", status=422
        )


def connect_credentials(
    connection: Connection, system: str, credentials: Mapping[str, str], deps: ConnectDeps
) -> Connection:
    """Try a system's credentials and, only when the vendor takes them, store them and make the connection active
    again. For a target the try is its after-connect step (reading the chart of accounts), so wrong credentials are
    refused now, with the connection left as it was, and not at the first booking. Polling resumes from the
    watermark, which a disconnect left where it was."""
    if system not in (connection.source, *connection.targets):
        raise InputError(f"connection {connection.connection_id!r} has no system {system!r}")
    synced: dict[str, Any] = {}
    if system == connection.source:
        _check_mapping(connection, system, credentials, deps)
    if system in connection.targets:
        try:
            synced = try_credentials(connection, system, credentials, deps)
        except (AuthError, PermanentError) as error:
            raise InputError(
                f"{system} did not accept these credentials ({error}); nothing was changed", status=422
            ) from error
    deps.connections.delete_secrets(connection.connection_id, system)  # and the token the old ones gave
    deps.connections.put_secrets(connection.connection_id, system, dict(credentials))
    connection = connection.model_copy(update={"status": "active", "status_reason": ""})
    if synced:
        settings = {**connection.target_settings.get(system, {}), **synced}
        connection = connection.model_copy(update={"target_settings": {**connection.target_settings, system: settings}})
    deps.connections.put(connection)
    return connection


def disconnect(connection: Connection, system: str, deps: ConnectDeps, *, reason: str) -> Connection:
    """Stop all traffic for the connection, forget the credentials of ``system`` and end its live link."""
    deps.connections.delete_secrets(connection.connection_id, system)
    links = dict(connection.activation_links)
    if system in links:
        deps.grants.revoke(links.pop(system))
    updated = connection.model_copy(
        update={"status": "disconnected", "status_reason": reason, "activation_links": links}
    )
    deps.connections.put(updated)
    return updated


def disconnect_all(connection: Connection, deps: ConnectDeps, *, reason: str) -> Connection:
    """The user disconnects: no polls, no deliveries, and no credential or token of any system is kept (a CRM's
    Sync button links stop working for good: reconnecting asks for new ones)."""
    if connection.records is not None and connection.records.button_digest:
        records = connection.records.model_copy(update={"button_digest": ""})
        connection = connection.model_copy(update={"records": records})
    for system in (connection.source, *connection.targets):
        connection = disconnect(connection, system, deps, reason=reason)
    return connection
