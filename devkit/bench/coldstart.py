"""Cold start: import + first-invocation set-up of each handler against a plain Powertools function, same run.

Each figure is the median of several fresh interpreters (``python -c``), with warm .pyc files and the OS file
cache warm (a first round is made and dropped), run in interleaved rounds (reference, each handler, again); the
ratio is the median of the per-round ratios, so load from other work on the machine falls on both sides alike.
Interpreter start-up itself is not counted: the clock starts before the first import. "Set-up" is what the
first invocation builds before it can talk to anyone: settings, boto3 clients, the HTTP session, the connector
module, Powertools idempotency; the network calls that follow (the connection's row, its secrets) are left out,
on both sides, so no AWS or moto is involved.

The reference is a plain Powertools function doing the same job: Logger, BatchProcessor, idempotency with
DynamoDBPersistenceLayer, and one boto3 client (shared with the persistence layer: the lean way).

``import_costs`` runs ``python -X importtime`` once per function and says which import costs what: self time per
package, and the edges where our code first pulls in an expensive package (what could be made lazy).
"""

from __future__ import annotations

import ast
import os
import re
import statistics
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parents[2]
BASELINE = "plain Powertools"

_SETUP = {
    "ingest_webhook": """
from koppel import bootstrap, connectors
from koppel.settings import IngestSettings
settings = IngestSettings.load()
bootstrap.build_ingest_deps(settings)
bootstrap.http_session(settings)
connectors.load("ccvshop")
""",
    "schedule_polls": """
from koppel import bootstrap
from koppel.settings import PollSettings
settings = PollSettings.load()
bootstrap.connection_store(settings)
bootstrap.job_queue(settings)
""",
    "poll_source": """
from koppel import bootstrap, connectors
from koppel.settings import PollSettings
settings = PollSettings.load()
bootstrap.build_poll_deps(settings)
bootstrap.http_session(settings)
connectors.load("ccvshop")
""",
    "deliver": """
from koppel import bootstrap, connectors
from koppel.runtime import DeliverRuntime
from koppel.settings import DeliverSettings
DeliverRuntime.from_environment()
settings = DeliverSettings.load()
bootstrap.connection_store(settings)
bootstrap.ledger(settings)
bootstrap.http_session(settings)
connectors.load(settings.CONNECTOR)
from aws_lambda_powertools.utilities import parameters  # the partner secret is read with it
""",
    "connect": """
from koppel import bootstrap, connectors
from koppel.settings import ConnectSettings
settings = ConnectSettings.load()
bootstrap.build_connect_deps(settings)
bootstrap.http_session(settings)
connectors.load("snelstart")
from aws_lambda_powertools.utilities import parameters  # the partner secret is read with it
""",
}
HANDLERS = tuple(_SETUP)

_BASELINE_IMPORT = """
import os
import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function,
)
"""
_BASELINE_SETUP = """
logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS)
dynamodb = boto3.client("dynamodb")
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"], boto3_client=dynamodb)
config = IdempotencyConfig(event_key_jmespath="messageId")

@idempotent_function(data_keyword_argument="record", config=config, persistence_store=persistence)
def record_handler(record):
    return {}
"""

_PROBE = """import time
_t0 = time.perf_counter()
{imports}
_t1 = time.perf_counter()
for _step in {steps!r}:
    _s = time.perf_counter()
    exec(_step)
    print("step", time.perf_counter() - _s, [s for s in _step.splitlines() if not s.startswith("@")][0])
_t2 = time.perf_counter()
print("total", _t1 - _t0, _t2 - _t1)
"""

FUNCTION_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "koppel",
    "POWERTOOLS_METRICS_NAMESPACE": "Koppel",
    "LOG_LEVEL": "INFO",
    "CONNECTIONS_TABLE": "koppel-dev-ConnectionsTable",
    "LEDGER_TABLE": "koppel-dev-LedgerTable",
    "IDEMPOTENCY_TABLE": "koppel-dev-IdempotencyTable",
    "KMS_KEY_ID": "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000",
    "PARTNER_SECRET_PREFIX": "koppel/dev/partner/",
    "POLL_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/koppel-dev-PollQueue",
    "HTTP_CONNECT_TIMEOUT": "3.05",
    "HTTP_READ_TIMEOUT": "20",
    "TARGET_QUEUES": '{"snelstart": "https://sqs.eu-west-1.amazonaws.com/123456789012/koppel-dev-SnelstartQueue"}',
    "POLL_OVERLAP_MINUTES": "10",
    "CONNECTOR": "snelstart",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/koppel-dev-SnelstartDlq",
    # What Lambda sets; dummy credentials, and no instance metadata look-up: nothing here goes on the network.
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_REGION": "eu-west-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_LAMBDA_FUNCTION_NAME": "koppel-dev-bench",
}


def _statements(code: str) -> list[str]:
    """Top-level statements of a set-up block, each timed on its own by the probe."""
    return [ast.unparse(node) for node in ast.parse(code).body]


def probe_code(name: str) -> str:
    """The program one fresh interpreter runs for ``name`` (a handler, or BASELINE)."""
    if name == BASELINE:
        return _PROBE.format(imports=_BASELINE_IMPORT, steps=_statements(_BASELINE_SETUP))
    return _PROBE.format(imports=f"import functions.{name}.app", steps=_statements(_SETUP[name]))


def _environment() -> dict[str, str]:
    path = os.pathsep.join([str(ROOT / "layers" / "koppel"), str(ROOT)])
    return {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": path, **FUNCTION_ENVIRONMENT}


def _run(code: str, *flags: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, *flags, "-c", code], env=_environment(), cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"cold start probe failed:\n{done.stderr[-2000:]}")
    return done


@dataclass(frozen=True)
class StartCost:
    import_ms: float
    setup_ms: float
    total_ms: float
    setup_steps_ms: dict[str, float] = field(default_factory=dict)
    """Median milliseconds of each set-up statement (named by its first line that is not a decorator)."""
    rounds_ms: list[float] = field(default_factory=list)
    """Total of each interleaved round, in order (round i of every function ran back to back)."""

    @property
    def min_ms(self) -> float:
        return min(self.rounds_ms) if self.rounds_ms else self.total_ms


def cold_starts(names: tuple[str, ...], repetitions: int) -> dict[str, StartCost]:
    """Median import, set-up and total milliseconds of each of ``names`` over ``repetitions`` fresh interpreters.

    The runs are interleaved (a, b, c, a, b, c, …) after one dropped round, so a busy moment of the machine
    falls on every function alike instead of on whichever was running then."""
    codes = {name: probe_code(name) for name in names}
    for code in codes.values():
        _run(code)
    totals: dict[str, list[tuple[float, float]]] = defaultdict(list)
    steps: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for _ in range(max(1, repetitions)):
        for name, code in codes.items():
            for line in _run(code).stdout.splitlines():
                kind, seconds, rest = [*line.split(" ", 2), ""][:3]
                if kind == "step":
                    steps[name][rest].append(float(seconds) * 1000)
                elif kind == "total":
                    totals[name].append((float(seconds) * 1000, float(rest) * 1000))
    return {
        name: StartCost(
            import_ms=statistics.median(t[0] for t in totals[name]),
            setup_ms=statistics.median(t[1] for t in totals[name]),
            total_ms=statistics.median(t[0] + t[1] for t in totals[name]),
            setup_steps_ms={step: statistics.median(ms) for step, ms in steps[name].items()},
            rounds_ms=[t[0] + t[1] for t in totals[name]],
        )
        for name in names
    }


# -- python -X importtime ---------------------------------------------------------------------------------------
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")
_OURS = ("koppel", "functions", "(first invocation)")


@dataclass
class _Node:
    name: str
    self_us: int
    cumulative_us: int
    children: list[_Node] = field(default_factory=list)


def _tree(stderr: str) -> list[_Node]:
    """The import tree from ``-X importtime`` (printed children first, indented by depth)."""
    pending: dict[int, list[_Node]] = defaultdict(list)
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        depth = len(match[3]) // 2
        node = _Node(match[4], int(match[1]), int(match[2]), pending.pop(depth + 1, []))
        pending[depth].append(node)
    return pending.get(0, [])


def package_of(module: str) -> str:
    """The group a module's time is charged to: stdlib, our own modules, a Powertools utility, or a package."""
    parts = module.split(".")
    if parts[0] in sys.stdlib_module_names:
        return "(stdlib)"
    if parts[0] == "aws_lambda_powertools":
        return ".".join(parts[:3] if len(parts) > 2 and parts[1] == "utilities" else parts[:2])
    if parts[0] == "koppel":
        deep = len(parts) > 2 and parts[1] in ("connectors", "adapters", "services")
        return ".".join(parts[:3] if deep else parts[:2])
    return parts[0]


@dataclass
class ImportCosts:
    total_ms: float
    by_package_ms: dict[str, float]
    """Self time per package group, the stdlib modules it loads first included, largest first (under
    -X importtime, which inflates every figure)."""
    pulled_in_by_us: list[tuple[str, str, float]]
    """(our module or "(first invocation)", the package it imports, cumulative ms), largest first."""


def import_costs(name: str) -> ImportCosts:
    roots = _tree(_run(probe_code(name), "-X", "importtime").stderr)
    by_package: dict[str, float] = defaultdict(float)
    edges: dict[tuple[str, str], float] = {}

    def walk(node: _Node, parent: str, owner: str) -> None:
        # Stdlib modules are charged to the package that first loads them (first importer pays).
        group = package_of(node.name)
        if group == "(stdlib)":
            group = owner
        by_package[group] += node.self_us / 1000
        theirs = group != "(stdlib)" and group.split(".")[0] not in _OURS
        if parent.split(".", maxsplit=1)[0] in _OURS and node.name.split(".")[0] not in _OURS and theirs:
            key = (parent, group)
            edges[key] = edges.get(key, 0.0) + node.cumulative_us / 1000
        for child in node.children:
            walk(child, node.name, group)

    for root in roots:  # a root is imported by the probe itself, or lazily inside a call during set-up
        walk(root, "(first invocation)", "(stdlib)")
    return ImportCosts(
        total_ms=sum(by_package.values()),
        by_package_ms=dict(sorted(by_package.items(), key=lambda item: -item[1])),
        pulled_in_by_us=sorted(((a, b, ms) for (a, b), ms in edges.items()), key=lambda e: -e[2]),
    )


# -- the figure -------------------------------------------------------------------------------------------------
@dataclass
class ColdStartResult:
    baseline: StartCost
    handlers: dict[str, StartCost]
    import_costs: dict[str, ImportCosts] = field(default_factory=dict)
    repetitions: int = 0

    def ratio(self, handler: str) -> float:
        """Median over the rounds of handler ÷ plain function in the same round: runs seconds apart share the
        machine's load, so this holds steadier than a ratio of two medians when other work comes and goes."""
        pairs = list(zip(self.handlers[handler].rounds_ms, self.baseline.rounds_ms, strict=False))
        if not pairs:
            return self.handlers[handler].total_ms / self.baseline.total_ms
        return statistics.median(ours / plain for ours, plain in pairs)

    @property
    def worst_ratio(self) -> float:
        return max(self.ratio(h) for h in self.handlers)


def measure_cold_start(
    repetitions: int = 7,
    handlers: tuple[str, ...] = HANDLERS,
    explain: bool = True,
    say: Callable[[str], None] = print,
) -> ColdStartResult:
    costs = cold_starts((BASELINE, *handlers), repetitions)
    baseline = costs[BASELINE]
    say(
        f"  {BASELINE:16} import {baseline.import_ms:6.1f} ms + set-up {baseline.setup_ms:6.1f} ms = "
        f"{baseline.total_ms:6.1f} ms (median of {repetitions} interleaved rounds; fastest {baseline.min_ms:.0f} ms)"
    )
    result = ColdStartResult(baseline=baseline, handlers={}, repetitions=repetitions)
    for handler in handlers:
        cost = result.handlers[handler] = costs[handler]
        slow = ", ".join(f"{step} {ms:.0f}" for step, ms in cost.setup_steps_ms.items() if ms >= 5)
        say(
            f"  {handler:16} import {cost.import_ms:6.1f} ms + set-up {cost.setup_ms:6.1f} ms = "
            f"{cost.total_ms:6.1f} ms (fastest {cost.min_ms:.0f}) → {result.ratio(handler):.2f} of the plain function"
        )
        say(f"    set-up steps ≥ 5 ms: {slow or 'none'}")
    if explain:
        for name in (BASELINE, *handlers):
            result.import_costs[name] = traced = import_costs(name)
            say(f"  where the time goes for {name} (python -X importtime, self ms per package; inflated by tracing):")
            say("    " + ", ".join(f"{pkg} {ms:.0f}" for pkg, ms in list(traced.by_package_ms.items())[:9]))
            heavy = [e for e in traced.pulled_in_by_us if e[2] >= 5][:6]
            if heavy:
                say("    pulled in at import time by our code (cumulative ms): ")
                say("    " + "; ".join(f"{ours} → {pkg} {ms:.0f}" for ours, pkg, ms in heavy))
    return result
