"""The console's overview for an accounting firm with many clients: how long a person waits, and what it reads.

On a local stack of its own, a firm with ``connections`` integrations, each holding ``rows`` booked records and one
parked. Through the local API Gateway and its JWT authorizer, as the browser calls it, it times the median of
``rounds`` requests each of the overview (``GET /api/connections``), one connection's history (100 records) and
its bookings per hour (48 hours), and counts the DynamoDB calls of one overview: every one is a read by key or
index (the test of least privilege proves no Scan), and their number grows with the firm's integrations, not with
their bookings. The local figure is not AWS's: moto answers an index Query by walking every item of the table, so
each read here costs more the more rows the whole table holds (docs/performance.md §9), where DynamoDB reads by key.
On AWS each round trip is a few milliseconds instead; the overview reads its connections 16 at a time for that reason.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import requests

from devkit.koppelingen import cli
from devkit.local import LocalStack
from koppel import bootstrap
from koppel.model import Connection, ExternalRef
from koppel.ports import LedgerEntry
from koppel.settings import StoreSettings

if TYPE_CHECKING:
    from collections.abc import Callable

PASSWORD = "Bench-Console-2026"
TENANT = "bench-firm"


@dataclass(frozen=True)
class ConsoleResult:
    connections: int
    rows: int
    overview_ms: float
    history_ms: float
    bookings_ms: float
    dynamodb_calls_per_overview: int


def measure_console(
    *, connections: int = 50, rows: int = 40, rounds: int = 5, say: Callable[[str], None] = print
) -> ConsoleResult:
    with LocalStack() as stack:
        _firm(connections, rows)
        cli("users", "add", "bench@firm.example", "--role=firm", f"--tenant={TENANT}",
            "--email=bench@firm.example", f"--password={PASSWORD}")  # fmt: skip
        signed = requests.post(
            f"{stack.http_url}/api/session",
            json={"username": "bench@firm.example", "password": PASSWORD},
            timeout=30,
        )
        headers = {"Authorization": f"Bearer {signed.json()['id_token']}"}

        def timed(path: str) -> float:
            times = []
            for _ in range(rounds):
                started = time.perf_counter()
                answer = requests.get(f"{stack.http_url}/api{path}", headers=headers, timeout=60)
                times.append(time.perf_counter() - started)
                assert answer.status_code == 200, answer.text
            return statistics.median(times) * 1000

        overview = timed("/connections")
        calls = _dynamodb_calls(lambda: requests.get(f"{stack.http_url}/api/connections", headers=headers, timeout=60))
        history = timed("/connections/bench-0000/history?limit=100")
        bookings = timed("/connections/bench-0000/bookings?hours=48")
    result = ConsoleResult(connections, rows, overview, history, bookings, calls)
    say(
        f"a firm with {connections} integrations of {rows + 1} records each: overview {overview:.0f} ms "
        f"({calls} DynamoDB reads, by key or index), history of 100 {history:.0f} ms, bookings per hour "
        f"{bookings:.0f} ms (median of {rounds}, local stack)"
    )
    return result


def _firm(connections: int, rows: int) -> None:
    settings = StoreSettings.load()
    store, ledger = bootstrap.connection_store(settings), bootstrap.ledger(settings)
    now = datetime.now(UTC)
    for n in range(connections):
        connection_id = f"bench-{n:04d}"
        store.put(
            Connection(
                connection_id=connection_id, tenant_id=TENANT, client=f"client-{n:04d}", name=f"Client {n}",
                source="ccvshop", targets=("snelstart",), created_at=now - timedelta(days=30), status="paused",
            )
        )  # fmt: skip
        for r in range(rows + 1):
            at = now - timedelta(minutes=37 * r)
            entry = LedgerEntry.pending(connection_id, "snelstart", f"ccvshop:order:{r}:completed", at, at)
            claimed = ledger.claim(entry.model_copy(update={"document_number": str(r)}), at).entry
            if r == rows:
                ledger.mark_parked(claimed, "SnelStart: grootboek 8999 bestaat niet", at)
            else:
                ledger.mark_posted(claimed, ExternalRef(system="snelstart", id=f"vb-{r}", number=str(r)), at)


def _dynamodb_calls(request: Callable[[], object]) -> int:
    """The DynamoDB calls made while ``request`` runs (the handler runs in this process)."""
    from unittest import mock

    from botocore.client import BaseClient

    original = BaseClient._make_api_call
    counted = [0]

    def counting(client: BaseClient, operation: str, params: dict[str, object]) -> object:
        if client.meta.service_model.service_name == "dynamodb":
            counted[0] += 1
        return original(client, operation, params)

    with mock.patch.object(BaseClient, "_make_api_call", counting):
        request()
    return counted[0]
