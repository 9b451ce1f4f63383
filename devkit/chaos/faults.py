"""The faults a chaos run can give any koppeling, each drawn from a seeded random generator (devkit.chaos.runner).

- ``ChaosFaultPlan``: the sandboxes' FaultPlan (503, 429 + Retry-After, commit then hang) plus slow answers: a
  share of requests waits a random while, still below the client's read timeout, before it is answered.
- ``TargetFaults``: the rates every target gets a ChaosFaultPlan from, and how they are told and counted.
- ``HydrateHiccups``: before a webhook is POSTed, sometimes queues a burst of source failures long enough to
  outlast the connector's own retries, so ingest cannot re-read the record (a CCV Shop order, say) and answers 503.
- ``LostWebhooks``: every webhook of some records never arrives (a subscription briefly off, an endpoint down
  beyond the sender's retries), so only the scheduled poll can bring those records in.
- ``KillSwitch`` + ``killing_deliver_workers``: the deliver handler's ledger is wrapped so that ``mark_posted``
  sometimes raises ``WorkerKilled`` before it writes: the worker dies between the vendor's commit and the
  ledger update, the one moment an outbox exists for.
"""

from __future__ import annotations

import random
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devkit.local import WorkerCrashed
from devkit.sandboxes.kit.server import FaultPlan

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

    from koppel.model import ExternalRef
    from koppel.ports import LedgerEntry

HYDRATE_ATTEMPTS = 3
"""One GET plus the two in-process retries of koppel.http.session_for: a burst this long fails the re-read."""


class WorkerKilled(WorkerCrashed):
    """The harness killed a deliver worker after the POST and before the ledger update."""


class ChaosFaultPlan(FaultPlan):
    """FaultPlan with slow answers on top: ``slow_rate`` of the requests that get no other fault wait a random
    ``slow_seconds`` first (counted as ``slow``). One seeded generator decides every fault, slow ones included.

    The base Sandbox reads ``latency`` right after ``decide`` in the thread that serves the request, so the
    chosen delay is kept per thread.
    """

    def __init__(self, *, slow_rate: float = 0.0, slow_seconds: tuple[float, float] = (0.2, 0.8), **plan: Any) -> None:
        self._delay = threading.local()
        self.base_latency = 0.0
        super().__init__(**plan)
        self.slow_rate = slow_rate
        self.slow_seconds = slow_seconds

    @property
    def latency(self) -> float:
        return self.base_latency + float(getattr(self._delay, "seconds", 0.0))

    @latency.setter
    def latency(self, value: float) -> None:
        self.base_latency = value

    def decide(self, path: str) -> str | None:
        kind = super().decide(path)
        delay = 0.0
        if kind is None and self.slow_rate and (not self.applies_to or path.startswith(self.applies_to)):
            with self._lock:
                if self._random.random() < self.slow_rate:
                    delay = self._random.uniform(*self.slow_seconds)
                    self.counts["slow"] = self.counts.get("slow", 0) + 1
        self._delay.seconds = delay
        return kind


@dataclass(frozen=True)
class TargetFaults:
    """What a target's API does wrong in a run: 503, 429 with Retry-After 1, stores and then hangs past the client's
    read timeout (so the client believes it failed), answers slowly, and ``latency`` seconds on every answer."""

    error_rate: float = 0.03
    throttle_rate: float = 0.02
    hang_rate: float = 0.01
    slow_rate: float = 0.03
    latency: float = 0.01

    def plan(self, seed: int, applies_to: tuple[str, ...]) -> ChaosFaultPlan:
        """The plan for the sandbox's ``faults``, on the paths of its API only (never its control endpoints)."""
        return ChaosFaultPlan(
            seed=seed,
            applies_to=applies_to,
            error_rate=self.error_rate,
            throttle_rate=self.throttle_rate,
            retry_after=1,
            latency=self.latency,
            commit_then_hang_rate=self.hang_rate,
            hang_seconds=2.0,  # longer than HTTP_READ_TIMEOUT (1.5 s): the client gives up, the target stored it
            slow_rate=self.slow_rate,
            slow_seconds=(0.2, 0.8),
        )

    def describe(self, name: str) -> str:
        return (
            f"{name}: 503 {self.error_rate:.0%}, 429 {self.throttle_rate:.0%}, commit then hang {self.hang_rate:.0%}, "
            f"slow {self.slow_rate:.0%}, +{self.latency * 1000:.0f} ms each"
        )

    @staticmethod
    def counted(name: str, plan: FaultPlan) -> dict[str, int]:
        kinds = (("error", "503"), ("throttle", "429"), ("commit_then_hang", "commit then hang"), ("slow", "slow"))
        return {f"{name} {label}": plan.counts.get(kind, 0) for kind, label in kinds}


class HydrateHiccups:
    """Per webhook POST: maybe a burst of the source's 503s or 429s that the hydrating GET cannot retry through."""

    def __init__(self, plan: FaultPlan, seed: int, error_rate: float, throttle_rate: float) -> None:
        self.plan = plan
        self.error_rate = error_rate
        self.throttle_rate = throttle_rate
        self.bursts: dict[str, int] = {}
        self.forced: dict[str, int] = {}
        """Failed requests the bursts caused, per kind (the plan's own counts hold these and its random ones)."""
        self._random = random.Random(seed)
        self._kind = ""

    def before_post(self) -> None:
        roll = self._random.random()
        kind = "error" if roll < self.error_rate else "throttle" if roll < self.error_rate + self.throttle_rate else ""
        self._kind = kind
        if kind:
            self.bursts[kind] = self.bursts.get(kind, 0) + 1
            self.plan.queue(kind, HYDRATE_ATTEMPTS)

    def after_post(self) -> None:
        """Drop what a burst left unused (ingest refused the webhook before reading it), so it hits nothing else."""
        left = len(self.plan.forced)
        self.plan.forced.clear()
        if self._kind:
            self.forced[self._kind] = self.forced.get(self._kind, 0) + HYDRATE_ATTEMPTS - left


class LostWebhooks:
    """Decides per record, the first time one of its webhooks is about to leave, whether all of them are lost."""

    def __init__(self, seed: int, rate: float) -> None:
        self.rate = rate
        self.lost: set[int] = set()
        self._decided: set[int] = set()
        self._random = random.Random(seed)

    def is_lost(self, record_id: int) -> bool:
        if record_id not in self._decided:
            self._decided.add(record_id)
            if self._random.random() < self.rate:
                self.lost.add(record_id)
        return record_id in self.lost


class KillSwitch:
    """Decides, from its own seeded generator, which ``mark_posted`` calls kill their worker."""

    def __init__(self, seed: int, rate: float) -> None:
        self.rate = rate
        self.killed: list[str] = []
        """Document numbers whose worker was killed, in order (one number may appear more than once)."""
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def fires(self, entry: LedgerEntry) -> bool:
        with self._lock:
            if self._random.random() >= self.rate:
                return False
            self.killed.append(entry.document_number)
            return True


class CrashingLedger:
    """The real ledger adapter, except that ``mark_posted`` may die before it writes."""

    def __init__(self, inner: Any, switch: KillSwitch) -> None:
        self._inner = inner
        self._switch = switch

    def mark_posted(self, entry: LedgerEntry, ref: ExternalRef, now: datetime, *, note: str = "") -> LedgerEntry:
        if self._switch.fires(entry):
            raise WorkerKilled(f"worker killed after {entry.document_number} was posted, before the ledger update")
        result: LedgerEntry = self._inner.mark_posted(entry, ref, now, note=note)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@contextmanager
def killing_deliver_workers(switch: KillSwitch) -> Iterator[None]:
    """Hand every ledger koppel.bootstrap builds (the deliver handler's included) a KillSwitch, for the block."""
    from koppel import bootstrap

    real = bootstrap.ledger

    def ledger(settings: Any) -> CrashingLedger:
        return CrashingLedger(real(settings), switch)

    bootstrap.ledger = ledger
    try:
        yield
    finally:
        bootstrap.ledger = real
