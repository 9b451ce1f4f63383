"""The `koppel` command line (typer + rich): connections, backfill, status, history, pause, resume, sync, replay,
preview.

Commands that touch the stores read the same environment variables as the functions (CONNECTIONS_TABLE,
LEDGER_TABLE, KMS_KEY_ID, TARGET_QUEUES, …; the stack outputs, see README). `koppel preview` needs nothing.
Every failure ends with exit code 2 and a sentence on stderr that says what to do.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from koppel import wire
from koppel.cli import connect, connections, history, operate, users  # noqa: F401 (their commands register on the apps)
from koppel.cli.base import app, err, out
from koppel.errors import InputError, KoppelError

__all__ = ["app", "err", "main", "out"]


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
    record: Annotated[
        Path,
        typer.Argument(
            help="One source record as JSON, or a document file (a UBL invoice) for a document source (see README)",
            exists=True,
            dir_okay=False,
        ),
    ],
    source: Annotated[str, typer.Option(help="Source connector, e.g. ccvshop")],
    target: Annotated[str, typer.Option(help="Target connector, e.g. snelstart")],
) -> None:
    """Print, as JSON, exactly the requests deliver would send for this record to an empty account."""
    from koppel.preview import preview as run_preview

    content = record.read_bytes()
    if content.lstrip().startswith(b"<"):  # a document file (UBL XML): the source reads it whole
        requests = run_preview(source, target, {"filename": record.name, "content": content})
    else:
        requests = run_preview(source, target, _json_record(record, content))
    sys.stdout.write(wire.dumps({"requests": requests}, indent=2) + "\n")


def _json_record(record: Path, content: bytes) -> dict[str, Any]:
    try:
        data = json.loads(content, parse_float=Decimal)
    except ValueError as error:
        raise InputError(f"{record} is not valid JSON (nor an XML document): {error}") from error
    if not isinstance(data, dict):
        raise InputError(f"{record} must hold one JSON object (one record)")
    return data


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
