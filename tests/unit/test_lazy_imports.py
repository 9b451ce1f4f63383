"""Cold start: a handler loads only what its first invocation needs (docs/performance.md, figure 1)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _modules_after_import(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sys.modules))"
    env = {"PYTHONPATH": f"{ROOT / 'layers' / 'koppel'}:{ROOT}", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    return set(out.stdout.split())


def test_no_handler_builds_aws_clients_or_loads_boto3_at_import() -> None:
    # Given every handler module, when it is imported (Lambda's INIT), then boto3 is not loaded yet:
    # clients are built on first use, after moto or the real endpoint is known.
    for name in ("ingest_webhook", "schedule_polls", "poll_source", "deliver", "connect"):
        assert "boto3" not in _modules_after_import(f"functions.{name}.app"), name


def test_the_scheduler_never_loads_an_http_client_or_a_connector() -> None:
    # Given the scheduler, which only reads connections and queues poll jobs, when it is imported,
    # then neither requests nor any vendor connector is loaded: it pays no cold start for them.
    loaded = _modules_after_import("functions.schedule_polls.app")
    assert "requests" not in loaded
    assert not {m for m in loaded if m.startswith("koppel.connectors")}
