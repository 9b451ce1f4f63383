"""The `koppel` command line (typer + rich): connections, backfill, preview.

Commands that touch the stores read the same environment variables as the functions (CONNECTIONS_TABLE,
LEDGER_TABLE, KMS_KEY_ID, TARGET_QUEUES, …; the stack outputs, see README). `koppel preview` needs nothing.
Every failure ends with exit code 2 and a sentence on stderr that says what to do.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from koppel import wire
from koppel.errors import InputError, KoppelError
from koppel.model import Connection

if TYPE_CHECKING:
    from koppel.model import RecordSyncSettings
    from koppel.ports import ConnectionStore

app = typer.Typer(help="Koppel: real-time, exactly-once bookkeeping integrations.", no_args_is_help=True)
connections_app = typer.Typer(help="Create and inspect connections (koppelingen).", no_args_is_help=True)
app.add_typer(connections_app, name="connections")
out = Console()
err = Console(stderr=True)


def _store() -> ConnectionStore:
    from koppel import bootstrap
    from koppel.settings import StoreSettings

    return bootstrap.connection_store(StoreSettings.load())


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
        name=name or connection_id,
        source=source,
        targets=tuple(target),
        source_settings=dict(settings.get(source, {})),
        target_settings={t: dict(settings.get(t, {})) for t in target},
        poll_interval_minutes=interval,
        created_at=datetime.now(UTC),
        records=records,
    )
    store = _store()
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
    store = _store()
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
    connection = _connect(_store().get(connection_id), system, values)
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

    store = _store()
    connection, links = issue_button(store.get(connection_id), base_url)
    store.put(connection)
    for kind, link in links.items():
        out.print(f"{kind}s: {link}", highlight=False, soft_wrap=True)


@connections_app.command("disconnect")
def connections_disconnect(connection_id: Annotated[str, typer.Argument(help="The connection")]) -> None:
    """Stop all traffic of a connection and delete every credential and token it stored. Records not booked yet
    wait in the queue (up to 4 days) and are booked after `koppel connections connect`."""
    _disconnect(_store().get(connection_id))
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


@connections_app.command("map")
def connections_map(
    connection_id: Annotated[str, typer.Argument(help="The connection")],
    pairs: Annotated[list[str] | None, typer.Argument(help='PRODUCT GROUP=LEDGER, e.g. "Boeken=8010"')] = None,
    target: Annotated[str | None, typer.Option(help="Which target's ledgers (default: the only one)")] = None,
) -> None:
    """Revenue per product group: map the source's product groups to the target's ledgers, or show the mapping,
    the source's groups and the ledgers read from the accounting package."""
    store = _store()
    connection = store.get(connection_id)
    name = target or (connection.targets[0] if len(connection.targets) == 1 else "")
    if name not in connection.targets:
        raise InputError(f"name the target with --target; the connection's targets are {', '.join(connection.targets)}")
    settings = dict(connection.target_settings.get(name, {}))
    known = settings.get("ledger_ids") or {}
    current = settings.get("product_group_ledgers")
    mapping: dict[str, Any] = dict(current) if isinstance(current, dict) else {}
    for pair in pairs or []:
        group, sep, ledger = pair.rpartition("=")
        if not sep or not group.strip() or not ledger.strip():
            raise InputError(f"{pair!r} must look like GROUP=LEDGER, e.g. Boeken=8010")
        if isinstance(known, dict) and known and ledger.strip() not in known:
            raise InputError(f"ledger {ledger.strip()} is not in {name}'s chart of accounts: add it there first")
        mapping[group.strip()] = ledger.strip()
    if pairs:
        settings["product_group_ledgers"] = mapping
        targets = {**connection.target_settings, name: settings}
        store.put(connection.model_copy(update={"target_settings": targets}))
    table = Table("product group", "ledger", title=f"{connection_id}: revenue per product group in {name}")
    for group in sorted(set(mapping) | set(_product_groups(connection, store))):
        table.add_row(group, str(mapping.get(group, "by VAT rate (default)")))
    out.print(table)
    if isinstance(known, dict) and known:
        out.print(f"ledgers in {name}: {', '.join(sorted(known))}")


def _product_groups(connection: Connection, store: ConnectionStore) -> list[str]:
    """The source's product groups, when it can list them (a source without the hook, or unreachable: none)."""
    from koppel import bootstrap
    from koppel.connectors.contract import ProductGroups
    from koppel.settings import StoreSettings

    source = bootstrap.source_for(StoreSettings.load(), store, connection)
    if not isinstance(source, ProductGroups):
        return []
    try:
        groups = source.product_groups()
    except KoppelError as error:
        err.print(f"[yellow]could not read the product groups of {connection.source}:[/] {error}")
        return []
    return groups


@connections_app.command("list")
def connections_list() -> None:
    """Every connection with its status."""
    table = Table("id", "tenant", "source", "targets", "status", "reason")
    for c in _store().all():  # a Scan of the Connections table: a person runs this, never a schedule
        colour = "green" if c.status == "active" else "red"
        table.add_row(
            c.connection_id, c.tenant_id, c.source, ", ".join(c.targets), f"[{colour}]{c.status}[/]", c.status_reason
        )
    out.print(table)


@connections_app.command("show")
def connections_show(connection_id: str) -> None:
    """One connection: settings, which secrets are stored (never their values), watermarks."""
    store = _store()
    c = store.get(connection_id)
    data: dict[str, Any] = json.loads(c.model_dump_json())
    data["secrets_stored"] = {s: sorted(store.get_secrets(connection_id, s)) for s in (c.source, *c.targets)}
    data["watermarks"] = {
        stream: (mark.isoformat() if (mark := store.get_watermark(connection_id, stream)) else None)
        for stream in ("source",)  # the next scheduled poll is the connection's schedule item (ConnectionStore.due)
    }
    out.print_json(json.dumps(data))


@connections_app.command("reindex")
def connections_reindex() -> None:
    """Once after upgrading to the indexed scheduler and ledger: give every active connection its next poll and
    every ledger row its index keys. It scans both tables (a person runs it, never a schedule); running it again
    changes nothing."""
    from koppel import bootstrap
    from koppel.settings import StoreSettings

    settings = StoreSettings.load()
    store = bootstrap.connection_store(settings)
    connections = store.all()
    for connection in connections:
        store.put(connection)  # writes the schedule item of an active connection, keeping a next poll it has
    rows = bootstrap.ledger(settings).reindex()
    out.print(f"{len(connections)} connection(s) scheduled as their status says; {rows} ledger row(s) re-indexed")


def _only_connection(store: ConnectionStore) -> str:
    ids = [c.connection_id for c in store.all()]
    if len(ids) != 1:
        listed = ", ".join(ids) or "none yet (koppel connections add)"
        raise InputError(f"name the connection to backfill: koppel backfill ID --since … (connections: {listed})")
    return ids[0]


def _day(value: str, option: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date: use YYYY-MM-DD, e.g. {option} 2026-01-01") from None


@app.command()
def backfill(
    since: Annotated[str, typer.Option(help="First day to read, YYYY-MM-DD")],
    connection_id: Annotated[
        str | None, typer.Argument(help="Which connection (may be left out when there is only one)")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Day after the last to read (default: now)")] = None,
) -> None:
    """Read history from the source for a dated window and enqueue it; already booked records are not booked again."""
    from koppel import bootstrap
    from koppel.services.poll import backfill_job, poll_connection
    from koppel.settings import PollSettings

    start = _day(since, "--since")
    end = _day(until, "--until") if until else datetime.now(UTC)
    backfill_job(connection_id or "-", start, end)  # validates the window before anything is read
    deps = bootstrap.build_poll_deps(PollSettings.load())
    connection_id = connection_id or _only_connection(deps.connections)
    deps.connections.get(connection_id)
    days = max(1, (end - start).days + (1 if (end - start) % timedelta(days=1) else 0))
    enqueued = records = 0
    with Progress(console=err) as progress:
        task = progress.add_task(f"backfill {connection_id}", total=days)
        cursor = start
        while cursor < end:
            step_end = min(end, cursor + timedelta(days=1))
            result = poll_connection(backfill_job(connection_id, cursor, step_end), deps)
            records += result.records
            enqueued += result.enqueued
            cursor = step_end
            progress.advance(task)
    out.print(f"read {records} record(s), enqueued {enqueued} event(s) for booking")


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per connection, for scripts")] = False,
) -> None:
    """Every connection green, red, or yellow while it waits for an owner's OAuth consent: last success, last
    error, counts booked / pending / parked / dead."""
    from koppel import bootstrap
    from koppel.services.status import health, waiting_for_consent
    from koppel.settings import OperatorSettings

    settings = OperatorSettings.load()
    ledger = bootstrap.ledger(settings)
    dead_letters = bootstrap.dead_letters(settings)
    letters = [letter for target in settings.DEAD_LETTER_QUEUES for letter in dead_letters.list(target)]
    store = bootstrap.connection_store(settings)
    states = [health(c, ledger, letters, waiting_for=waiting_for_consent(c, store)) for c in store.all()]
    if as_json:
        sys.stdout.write(json.dumps([json.loads(h.model_dump_json()) for h in states], indent=2) + "\n")
        return
    for h in states:
        when = h.last_success.isoformat(timespec="seconds") if h.last_success else "never"
        out.print(
            f"[bold {h.colour}]● {h.colour.upper()}[/] [bold]{h.connection_id}[/] ({h.name}, {h.connection_status})"
        )
        out.print(
            f"  booked {h.booked} · pending {h.pending} · parked {h.parked} · dead {h.dead} · last success {when}"
        )
        if h.last_error:
            at = h.last_error_at.isoformat(timespec="seconds") if h.last_error_at else ""
            out.print(f"  last error {at}: {h.last_error}", highlight=False)
        if h.action:
            out.print(f"  [bold]action:[/] {h.action}", highlight=False)


MODULES = {"organizations": "organization", "contacts": "contact", "products": "product"}
"""``koppel sync --module``: the modules as a CRM names them."""


@app.command()
def sync(
    connection_id: Annotated[str, typer.Argument(help="The two-way connection (e.g. Simply CRM ↔ Billy)")],
    module: Annotated[
        list[str] | None, typer.Option("--module", help="Only Organizations, Contacts or Products (repeatable)")
    ] = None,
) -> None:
    """Keep the records of a two-way koppeling alike now: a progress bar, then what was created, updated,
    unchanged, in conflict (the priority side won) and failed, with the reasons."""
    from koppel import bootstrap
    from koppel.services.record_sync import sync_records
    from koppel.settings import StoreSettings

    kinds = tuple(_module(name) for name in module or ())
    settings = StoreSettings.load()
    store = bootstrap.connection_store(settings)
    connection = store.get(connection_id)
    deps = bootstrap.record_sync_deps(settings, store, bootstrap.ledger(settings))
    with Progress(console=err) as progress:
        tasks: dict[str, Any] = {}

        def advance(kind: str, done: int, total: int) -> None:
            task = tasks.setdefault(kind, progress.add_task(f"{kind}s", total=total))
            progress.update(task, completed=done, total=total)

        summary = sync_records(connection, deps, kinds or None, progress=advance)
    if summary.busy:
        raise InputError(f"another sync of {connection_id} is running: try again in a few minutes")
    table = Table("module", "created", "linked", "updated", "unchanged", "conflicts", "deleted", "failed")
    for kind, done in summary.kinds.items():
        counts = (done.created, done.linked, done.updated, done.unchanged)
        lists = (done.conflicts, done.deleted, done.failed)
        table.add_row(f"{kind}s", *(str(n) for n in counts), *(str(len(found)) for found in lists))
    out.print(table)
    for kind, done in summary.kinds.items():
        for heading, lines in (("conflict", done.conflicts), ("deleted", done.deleted), ("failed", done.failed)):
            for line in lines:
                out.print(f"  {heading} ({kind}): {line}", highlight=False)


def _module(name: str) -> Any:
    kind = MODULES.get(name.strip().casefold()) or MODULES.get(name.strip().casefold() + "s")
    if kind is None:
        raise InputError(f"--module {name!r} is not one of Organizations, Contacts, Products")
    return kind


@app.command()
def replay(
    connection_id: str,
    event_id: Annotated[list[str] | None, typer.Option("--id", help="Only this event id (repeatable)")] = None,
    since: Annotated[str | None, typer.Option(help="Only records parked or dead-lettered since (ISO time)")] = None,
    parked: Annotated[bool, typer.Option("--parked/--no-parked", help="Replay parked records")] = True,
    dead: Annotated[bool, typer.Option("--dead/--no-dead", help="Replay dead-lettered messages")] = True,
) -> None:
    """Send parked or dead-lettered records through again once the cause is fixed; none is booked twice."""
    from koppel import bootstrap
    from koppel.services.replay import Selection
    from koppel.services.replay import replay as run_replay
    from koppel.settings import OperatorSettings

    moment = _moment(since, "--since") if since else None
    settings = OperatorSettings.load()
    connection = bootstrap.connection_store(settings).get(connection_id)
    # Payment status carried back to the source has its own queue (write-back): its records replay too.
    write_back = (connection.source,) if connection.source in settings.TARGET_QUEUES else ()
    result = run_replay(
        connection_id,
        (*connection.targets, *write_back),
        Selection(event_ids=tuple(event_id or ()), since=moment),
        bootstrap.build_replay_deps(settings),
        parked=parked,
        dead=dead,
    )
    out.print(f"replayed {len(result.parked)} parked and {len(result.dead)} dead-lettered record(s)")
    for replayed in (*result.parked, *result.dead):
        out.print(f"  {replayed}")


def _moment(value: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r} is not a time: use ISO 8601, e.g. {option} 2026-11-23T09:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command("connectors")
def connectors_table() -> None:
    """Every vendor Koppel has a connector for, and what each can do (its descriptor's capabilities)."""
    from koppel import connectors
    from koppel.connectors.contract import CAPABILITIES

    table = Table("connector", "vendor", "source", "target", title="Koppel connectors")
    table.add_column("capabilities", no_wrap=True)
    for name in connectors.available():
        connector = connectors.load(name)
        is_source = connector.build_source is not None
        is_target = connector.can("target")
        role = "write-back" if connector.can("payment_status_writer") else ""
        table.add_row(
            name,
            connector.title,
            f"polled every {connector.poll_interval_minutes} min" if is_source else "",
            "yes" if is_target else role,
            "\n".join(c for c in CAPABILITIES if connector.can(c)),
        )
    out.print(table)


@app.command()
def preview(
    record: Annotated[Path, typer.Argument(help="One source record as JSON (see README)", exists=True, dir_okay=False)],
    source: Annotated[str, typer.Option(help="Source connector, e.g. ccvshop")],
    target: Annotated[str, typer.Option(help="Target connector, e.g. snelstart")],
) -> None:
    """Print, as JSON, exactly the requests deliver would send for this record to an empty account."""
    from koppel.preview import preview as run_preview

    try:
        data = json.loads(record.read_text(), parse_float=Decimal)
    except ValueError as error:
        raise InputError(f"{record} is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise InputError(f"{record} must hold one JSON object (one record)")
    requests = run_preview(source, target, data)
    sys.stdout.write(wire.dumps({"requests": requests}, indent=2) + "\n")


def main() -> None:
    try:
        app(standalone_mode=False)
    except KoppelError as error:
        err.print(f"[red]error:[/] {error}", highlight=False)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    except Exception as error:
        # Usage errors (typer's own click exceptions) carry their message and exit code; anything else is a bug.
        show, exit_code = getattr(error, "show", None), getattr(error, "exit_code", None)
        if callable(show) and isinstance(exit_code, int):
            show()
            sys.exit(exit_code)
        raise


if __name__ == "__main__":
    main()
