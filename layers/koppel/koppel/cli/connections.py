"""`koppel connections map|list|show|reindex`: a connection's mapping and what the store holds."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from koppel.errors import InputError, KoppelError

if TYPE_CHECKING:
    from koppel.model import Connection
    from koppel.ports import ConnectionStore

from koppel.cli.base import connection_store, connections_app, err, out


@connections_app.command("map")
def connections_map(
    connection_id: Annotated[str, typer.Argument(help="The connection")],
    pairs: Annotated[list[str] | None, typer.Argument(help='PRODUCT GROUP=LEDGER, e.g. "Boeken=8010"')] = None,
    target: Annotated[str | None, typer.Option(help="Which target's ledgers (default: the only one)")] = None,
) -> None:
    """Revenue per product group: map the source's product groups to the target's ledgers, or show the mapping,
    the source's groups and the ledgers read from the accounting package."""
    store = connection_store()
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
    for c in connection_store().all():  # a Scan of the Connections table: a person runs this, never a schedule
        colour = "green" if c.status == "active" else "red"
        table.add_row(
            c.connection_id, c.tenant_id, c.source, ", ".join(c.targets), f"[{colour}]{c.status}[/]", c.status_reason
        )
    out.print(table)


@connections_app.command("show")
def connections_show(connection_id: str) -> None:
    """One connection: settings, which secrets are stored (never their values), watermarks."""
    store = connection_store()
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
    """Once after upgrading to the indexed scheduler, firm view and ledger: give every active connection its next
    poll, every connection its tenant key and every ledger row its index keys. It scans both tables (a person runs
    it, never a schedule); running it again changes nothing."""
    from koppel import bootstrap
    from koppel.settings import StoreSettings

    settings = StoreSettings.load()
    store = bootstrap.connection_store(settings)
    connections = store.all()
    for connection in connections:
        store.put(connection)  # writes the schedule item of an active connection, keeping a next poll it has
    rows = bootstrap.ledger(settings).reindex()
    out.print(f"{len(connections)} connection(s) scheduled as their status says; {rows} ledger row(s) re-indexed")
