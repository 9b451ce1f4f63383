"""The Meter port as CloudWatch embedded metric format (EMF): JSON lines in the function's own log, which CloudWatch
turns into metrics. No API call and no permission beyond writing the log (never cloudwatch:PutMetricData).

Each metric is published under three dimension sets: (koppeling, target) for the dashboard, (target) for the
alarms (one per deliver function, declared in the template), and for Parked also (koppeling, target, reason).
Dimensions are the koppeling (``ccvshop_snelstart``), the target and a reason class: a handful of values each.
Never a tenant or connection id: every distinct value is a metric of its own (cost, and CloudWatch's limits) and
would put who-uses-Koppel into a second store; the log lines and the ledger name the connection.

Powertools' EMF provider writes the JSON (namespace from POWERTOOLS_METRICS_NAMESPACE, metrics off with
POWERTOOLS_METRICS_DISABLED). One invocation can hold several koppelingen (a batch of a target's queue), while a
Powertools ``Metrics`` object has one dimension set per line: so counts are summed here per dimension set and
written, one line per set, when the handler ends (``log_metrics``).
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

if TYPE_CHECKING:
    from collections.abc import Callable

    from koppel.ports import CountName, LatencyName, ParkReason

DEFAULT_NAMESPACE = "Koppel"
MAX_VALUES = 100
"""EMF takes at most 100 values of one metric per line."""
_UNIT = {"BookingLatency": "Seconds"}
F = TypeVar("F", bound="Callable[..., Any]")
Dimensions = tuple[tuple[str, str], ...]


class EmfMeter:
    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace
        self._counts: dict[Dimensions, dict[str, float]] = {}
        self._values: dict[Dimensions, dict[str, list[float]]] = {}

    def count(self, name: CountName, koppeling: str, n: int = 1, *, reason: ParkReason | None = None) -> None:
        if is_metrics_disabled():
            return
        counts = self._counts.setdefault(_dimensions(koppeling, reason), {})
        counts[name] = counts.get(name, 0) + n

    def latency(self, name: LatencyName, koppeling: str, seconds: float) -> None:
        if is_metrics_disabled():
            return
        self._values.setdefault(_dimensions(koppeling, None), {}).setdefault(name, []).append(max(0.0, seconds))

    def lines(self) -> list[str]:
        """The EMF lines of everything counted since the last flush (and forget it)."""
        lines = []
        for dimensions in sorted(self._counts.keys() | self._values.keys()):
            metrics = {name: {"Unit": "Count", "Value": [n]} for name, n in self._counts.get(dimensions, {}).items()}
            values = self._values.get(dimensions, {})
            chunks = max([1] + [-(-len(v) // MAX_VALUES) for v in values.values()])
            for i in range(chunks):
                part = {
                    name: {"Unit": _UNIT[name], "Value": v[i * MAX_VALUES : (i + 1) * MAX_VALUES]}
                    for name, v in values.items()
                    if v[i * MAX_VALUES : (i + 1) * MAX_VALUES]
                }
                lines.append(self._line(dimensions, (metrics if i == 0 else {}) | part))
        self._counts.clear()
        self._values.clear()
        return lines

    def flush(self) -> None:
        for line in self.lines():
            print(line, flush=True)  # stdout is the function's log: CloudWatch reads EMF from there

    def log_metrics(self, handler: F) -> F:
        """Decorate a Lambda handler: what it counted is written when it returns or raises."""

        @functools.wraps(handler)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return handler(*args, **kwargs)
            finally:
                self.flush()

        return wrapper  # type: ignore[return-value]

    def _line(self, dimensions: Dimensions, metrics: dict[str, dict[str, Any]]) -> str:
        dims = dict(dimensions)
        provider = AmazonCloudWatchEMFProvider(namespace=self.namespace, service="")
        provider.namespace = provider.namespace or DEFAULT_NAMESPACE
        sets = [["koppeling", "target"], ["target"]] + ([["koppeling", "target", "reason"]] if "reason" in dims else [])
        emf: dict[str, Any] = dict(provider.serialize_metric_set(metrics=metrics, dimensions=dims, metadata={}))
        emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = sets
        return json.dumps(emf, separators=(",", ":"))


def _dimensions(koppeling: str, reason: ParkReason | None) -> Dimensions:
    """``target`` is the koppeling's second half; a koppeling without one (``unverified``) has target ``none``."""
    _, separator, target = koppeling.rpartition("_")
    dims = [("koppeling", koppeling), ("target", target if separator else "none")]
    return tuple(dims + ([("reason", reason)] if reason else []))
