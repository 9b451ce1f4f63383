"""`koppel connections add|connect|activate|button|webhooks|disconnect`: making and connecting connections."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from koppel.errors import InputError
from koppel.model import Connection

if TYPE_CHECKING:
    from koppel.model import RecordSyncSettings
    from koppel.ports import ConnectionStore

from koppel.cli.base import connection_store, connections_app, err, out

_SECRET_NAME = re.compile(r"(key|token|secret|password|passwd|sleutel|login)$", re.IGNORECASE)
"""Setting names that are credentials in every connector (api_key, api_token, koppelsleutel, secret_key, …)."""


def _pairs(values: list[str], what: str) -> dict[str, dict[str, Any]]:
    """`system.name=value` options into {system: {name: value}}; a value written as a JSON object or list is one.
    A --secret stays the text it is and is never shown back in an error (a terminal's or CI job's log keeps it)."""
    secret = what == "--secret"
    result: dict[str, dict[str, Any]] = {}
    for item in values:
        key, sep, value = item.partition("=")
        system, dot, name = key.partition(".")
        if not sep or not dot or not system or not name:
            shown = (f"{key!r}=…" if sep else "(not shown: it may be the secret)") if secret else repr(item)
            example = "ccvshop.secret_key=…" if secret else "ccvshop.base_url=https://…"
            raise InputError(f"{what} {shown} must look like system.name=value, e.g. {example}")
        if not secret and _SECRET_NAME.search(name):
            raise InputError(
                f"--setting {system}.{name} looks like a credential: give it as --secret {system}.{name}=… so it is "
                "stored encrypted (settings are stored and shown in plain text)"
            )
        result.setdefault(system, {})[name] = value if secret else _value(value, item)
    return result


def _value(text: str, item: str) -> Any:
    if not text.startswith(("{", "[")):
        return text
    try:
        return json.loads(text)
    except ValueError as error:
        raise InputError(f"{item!r}: a value starting with {{ or [ must be JSON ({error})") from error


@connections_app.command("add")
def connections_add(
    connection_id: Annotated[str, typer.Argument(help="Short id, lower-case letters, digits and dashes")],
    source: Annotated[str, typer.Option(help="Source connector, e.g. ccvshop")],
    target: Annotated[list[str], typer.Option(help="Target connector(s), e.g. snelstart")],
    tenant: Annotated[str, typer.Option(help="The business this connection belongs to")],
    name: Annotated[str, typer.Option(help="A name people recognise")] = "",
    client: Annotated[
        str, typer.Option(help="The firm's client it books for (its console users of role client see it)")
    ] = "",
    setting: Annotated[list[str] | None, typer.Option(help="system.name=value (repeatable)")] = None,
    secret: Annotated[list[str] | None, typer.Option(help="system.name=value, stored encrypted (repeatable)")] = None,
    secrets_file: Annotated[Path | None, typer.Option(help='JSON {"system": {"name": "value"}}')] = None,
    webhook_base: Annotated[
        str | None, typer.Option(help="HttpApiUrl of the stack: subscribe the source's webhooks to it now")
    ] = None,
    poll_minutes: Annotated[
        int | None, typer.Option(min=1, max=1440, help="Poll the source every N minutes (default: the source's)")
    ] = None,
    direction: Annotated[
        str, typer.Option(help="Two-way koppelingen: both, to-target or to-source (which records are carried)")
    ] = "both",
    priority: Annotated[str, typer.Option(help="Two-way: source or target wins a field both changed")] = "source",
    manual: Annotated[bool, typer.Option(help="Two-way: records only when asked (koppel sync, the button)")] = False,
) -> None:
    """Create a connection; credentials are stored encrypted with the Koppel KMS key, apart from the settings. When
    both systems keep records (a CRM and an accounting package), the connection also keeps them alike."""
    from koppel import connectors

    for system in (source, *target):
        connectors.load(system)
    records = _record_settings(source, target, direction, priority, manual=manual)
    # A source Koppel polls (no webhooks) is polled every minute by default, one with webhooks as a safety net.
    interval = poll_minutes or connectors.load(source).poll_interval_minutes
    settings = _pairs(setting or [], "--setting")
    secrets = _pairs(secret or [], "--secret")
    if secrets_file is not None:
        for system, values in json.loads(secrets_file.read_text()).items():
            secrets.setdefault(system, {}).update(values)
    unknown = set(settings) | set(secrets) - {source, *target}
    if unknown - {source, *target}:
        raise InputError(f"settings or secrets for {sorted(unknown)} name no system of this connection")
    connection = Connection(
        connection_id=connection_id,
        tenant_id=tenant,
        client=client,
        name=name or connection_id,
        source=source,
        targets=tuple(target),
        source_settings=dict(settings.get(source, {})),
        target_settings={t: dict(settings.get(t, {})) for t in target},
        poll_interval_minutes=interval,
        created_at=datetime.now(UTC),
        records=records,
    )
    store = connection_store()
    store.put(connection)
    for system, values in secrets.items():
        connection = _connect(connection, system, values)
    out.print(f"[green]connection {connection_id} created[/]: {source} → {', '.join(target)}")
    if webhook_base:
        address = f"{webhook_base.rstrip('/')}/hooks/{source}/{connection_id}"
        _subscribe_webhooks(store, connection, address)
        out.print(f"webhooks of {source} now go to {address}")


def _record_settings(
    source: str, targets: list[str], direction: str, priority: str, *, manual: bool
) -> RecordSyncSettings | None:
    """Record sync for a source and a (single) target that both keep records; None otherwise."""
    from koppel import connectors
    from koppel.model import RecordSyncSettings

    if len(targets) != 1 or not all(connectors.load(s).can("record_sync") for s in (source, targets[0])):
        return None
    ways = {"both": "both", "to-target": "to_target", "to-source": "to_source"}
    if direction not in ways:
        raise InputError(f"--direction {direction!r} is not one of {', '.join(ways)}")
    if priority not in ("source", "target"):
        raise InputError(f"--priority {priority!r} is not source or target")
    return RecordSyncSettings.model_validate(
        {"direction": ways[direction], "priority": priority, "automatic": not manual}
    )


def _subscribe_webhooks(store: ConnectionStore, connection: Connection, address: str) -> None:
    from koppel import bootstrap, connectors
    from koppel.connectors.contract import WebhookRegistration
    from koppel.settings import StoreSettings

    if not connectors.load(connection.source).can("webhook_registration"):
        raise InputError(f"{connection.source} offers no webhooks: Koppel polls it instead")
    source = bootstrap.source_for(StoreSettings.load(), store, connection)
    if not isinstance(source, WebhookRegistration):
        raise InputError(f"{connection.source} offers no webhooks: Koppel polls it instead")
    added = source.subscribe_webhooks(address)
    current = store.get_secrets(connection.connection_id, connection.source)
    store.put_secrets(connection.connection_id, connection.source, {**current, **added})


@connections_app.command("webhooks")
def connections_webhooks(
    connection_id: Annotated[str, typer.Argument(help="The connection")],
    webhook_base: Annotated[str, typer.Option(help="The HTTP API's base URL (stack output HttpApiUrl)")],
) -> None:
    """Subscribe the source's webhooks now, e.g. once its owner consented (OAuth): the credentials the source
    sends them with are stored encrypted with the connection."""
    store = connection_store()
    connection = store.get(connection_id)
    if not webhook_base.startswith(("https://", "http://")):
        raise InputError("give the HTTP API's address with --webhook-base https://… (stack output HttpApiUrl)")
    address = f"{webhook_base.rstrip('/')}/hooks/{connection.source}/{connection_id}"
    _subscribe_webhooks(store, connection, address)
    out.print(f"webhooks of {connection.source} now go to {address}")


@connections_app.command("connect")
def connections_connect(
    connection_id: Annotated[str, typer.Argument(help="The connection")],
    system: Annotated[str, typer.Argument(help="The source or target whose credentials these are")],
    secret: Annotated[list[str], typer.Option(help="name=value, stored encrypted (repeatable)")],
) -> None:
    """(Re)connect one system with new credentials: the connection is active again and resumes from its
    watermark; what was booked before is in the ledger and is not booked again."""
    values: dict[str, str] = {}
    for item in secret:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InputError("a --secret must look like name=value, e.g. api_token=… (what was given is not shown)")
        values[name] = value
    connection = _connect(connection_store().get(connection_id), system, values)
    out.print(f"[green]{system} connected[/] for {connection_id}: status {connection.status}")


@connections_app.command("activate")
def connections_activate(
    connection_id: Annotated[str, typer.Argument(help="The connection")],
    target: Annotated[
        str, typer.Argument(help="The system whose owner grants access on the vendor's page, e.g. snelstart")
    ],
    api_url: Annotated[
        str | None, typer.Option(help="The HTTP API's base URL (stack output HttpApiUrl); default $HTTP_API_URL")
    ] = None,
    return_url: Annotated[str, typer.Option(help="Where the vendor sends the user after activating")] = "",
) -> None:
    """Print a start link for activating TARGET: open it (or send it to the administratie's owner) to connect.
    It works once and for 15 minutes; only whoever holds it can start the activation."""
    from koppel import bootstrap
    from koppel.services.connect import issue_start_link
    from koppel.settings import ConnectSettings, OperatorSettings

    base = (api_url or OperatorSettings.load().HTTP_API_URL).rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise InputError("give the HTTP API's address with --api-url https://… (stack output HttpApiUrl)")
    deps = bootstrap.build_connect_deps(ConnectSettings.load())
    token = issue_start_link(deps.connections.get(connection_id), target, deps, return_url=return_url)
    minutes = int(deps.start_link_ttl.total_seconds() // 60)
    err.print(f"start link for {connection_id} → {target}: works once, for {minutes} minutes")
    out.print(f"{base}/connect/{target}/start?token={token}", soft_wrap=True, highlight=False)


@connections_app.command("button")
def connections_button(
    connection_id: Annotated[str, typer.Argument(help="The two-way connection")],
    base_url: Annotated[str, typer.Option("--base-url", help="Koppel's API address (the stack's ApiUrl output)")],
) -> None:
    """New "Sync" button links for the source's records (one per module; earlier links stop working): add each as
    a custom link on the module's record page in the CRM; the CRM puts the record's id in place of $RECORD$."""
    from koppel.services.record_button import issue_button

    store = connection_store()
    connection, links = issue_button(store.get(connection_id), base_url)
    store.put(connection)
    for kind, link in links.items():
        out.print(f"{kind}s: {link}", highlight=False, soft_wrap=True)


@connections_app.command("disconnect")
def connections_disconnect(connection_id: Annotated[str, typer.Argument(help="The connection")]) -> None:
    """Stop all traffic of a connection and delete every credential and token it stored. Records not booked yet
    wait in the queue (up to 4 days) and are booked after `koppel connections connect`."""
    _disconnect(connection_store().get(connection_id))
    out.print(f"[yellow]{connection_id} disconnected[/]: no polls, no deliveries, no stored credentials")


def _connect(connection: Connection, system: str, values: dict[str, str]) -> Connection:
    from koppel import bootstrap
    from koppel.services.connect import connect_credentials
    from koppel.settings import ConnectSettings

    return connect_credentials(connection, system, values, bootstrap.build_connect_deps(ConnectSettings.load()))


def _disconnect(connection: Connection) -> Connection:
    from koppel import bootstrap
    from koppel.services.connect import disconnect_all
    from koppel.settings import ConnectSettings

    deps = bootstrap.build_connect_deps(ConnectSettings.load())
    return disconnect_all(connection, deps, reason="disconnected by the user (koppel connections connect resumes it)")
