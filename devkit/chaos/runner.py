"""The chaos run every koppeling shares: timings shortened, deliver workers side by side, workers killed, the
workload in batches with the queues drained after each, a final settle, then the report.

A koppeling plugs in by subclassing ``ChaosRun`` (``devkit/koppelingen/<source>_<target>/chaos.py``): which
function delivers to its target, how it connects, which faults its vendors get (``unleash``), what one batch of
its workload is (``batch``), how the run settles (``finish``) and how the target's final state is read
(``report``). Everything else (seeds, queues, polls, consumers, the kill switch) is here, so a fault found in one
koppeling's run is looked for the same way in every other.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from devkit.chaos.consumers import Consumers
from devkit.chaos.faults import KillSwitch, killing_deliver_workers
from devkit.local import LocalStack

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from devkit.chaos.report import ChaosReport

POLL = "PollSourceFunction"
DELIVER_TIMEOUT = 15
"""Seconds: the deliver functions' timeout for a chaos run (60 in the template). Powertools' idempotency lock of
a killed worker lapses after the invocation's remaining time, so this is how long a killed event waits."""
VISIBILITY_TIMEOUT = 5
"""Seconds a received message stays hidden (390 in the template): a killed worker's batch, or a failed poll job,
comes back this soon."""
VISIBLE = ("ApproximateNumberOfMessages",)
IN_QUEUE = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
SETTLE_POLLS = 8
"""At most this many polls in ``settle``; it stops earlier once two polls in a row change nothing."""
SHORT_TIMINGS = {"LEASE_SECONDS": "2", "RETRY_BASE_SECONDS": "1", "RETRY_MAX_SECONDS": "4", "HTTP_READ_TIMEOUT": "1.5"}
"""Leases, backoff and the client's read timeout of seconds, so a run of thousands of retries takes minutes."""


@dataclass(frozen=True, kw_only=True)
class ChaosConfig:
    """What every run has; a koppeling's config adds its vendors' fault rates and its own defaults."""

    size: int
    """Orders or documents the workload makes."""
    seed: int = 7
    workers: int = 2
    """Deliver containers running side by side (the template's MaximumConcurrency is 2)."""
    batch_size: int = 50
    kill_rate: float = 0.02
    """Share of ledger updates after a POST whose worker is killed first."""
    drain_timeout: float = 300.0


class ChaosRun(ABC):
    """Owns the faults around a started LocalStack and a koppeling's demo world; ``run()`` returns the report."""

    UNIT: ClassVar[str] = "documents"
    DELIVER: ClassVar[str] = ""
    """The target's deliver function: consumed by ``workers`` containers while the workload runs."""
    DRAINED_HERE: ClassVar[tuple[str, ...]] = (POLL,)
    """Functions the harness drains itself (container 0) whenever it waits: the poll, a write-back."""
    SHORTENED: ClassVar[tuple[str, ...]] = ()
    """Functions that get DELIVER_TIMEOUT (the deliver function and any write-back)."""

    def __init__(self, stack: LocalStack, world: Any, config: ChaosConfig, say: Callable[[str], None]) -> None:
        self.stack = stack
        self.world = world
        self.config = config
        self.say = say
        self.rng = random.Random(config.seed)
        self.kills = KillSwitch(self.seed(), config.kill_rate)
        self.clock = datetime.now(UTC)
        self.polls = 0
        self.made = 0
        """Orders or documents made so far."""

    def seed(self) -> int:
        """A seed for one more generator, drawn from the run's: one seed decides every fault."""
        return self.rng.randrange(2**31)

    # -- what a koppeling plugs in ------------------------------------------------------------------------------
    @classmethod
    def env(cls, config: ChaosConfig) -> dict[str, str]:
        """The local stack's environment for this koppeling's run, on top of SHORT_TIMINGS."""
        return {}

    @classmethod
    @abstractmethod
    def open_world(cls, stack: LocalStack) -> AbstractContextManager[Any]:
        """The koppeling's demo with its sandboxes started, as a context manager."""

    def connect(self) -> None:  # noqa: B027 (a hook; most koppelingen need nothing here)
        """Make the connection, before any fault: connecting is not what a chaos run is about."""

    def unleash(self) -> None:  # noqa: B027 (a hook)
        """Faults on. Runs with the kill switch armed and before the deliver consumers start."""

    def start_containers(self) -> None:
        """Invoke every deliver container, then each other function drained here, once with an empty batch, one after
        the other, so each reads its own environment before they run side by side: two deliver functions differ in
        CONNECTOR, and a handler reads its environment on its first invocation. Powertools refuses the empty batch,
        but only after the handler has built its runtime, which is all this is for. For a koppeling whose target
        has a write-back queue (a second deliver function); call it from ``unleash``."""
        from aws_lambda_powertools.utilities.batch.exceptions import UnexpectedBatchTypeError

        starts = [(self.DELIVER, container) for container in range(1, self.config.workers + 1)]
        starts += [(name, 0) for name in self.DRAINED_HERE if name != POLL]
        for function, container in starts:
            with contextlib.suppress(UnexpectedBatchTypeError):
                self.stack.invoke(function, {"Records": []}, container=container)

    @abstractmethod
    def batch(self, index: int, size: int, batches: int) -> None:
        """Make ``size`` orders or documents and send what announces them (webhooks, a poll)."""

    def after_batch(self, index: int, batches: int, consumers: Consumers) -> None:  # noqa: B027 (a hook)
        """Anything due once a batch's visible messages are handled (a payment wave, say)."""

    def finish(self, consumers: Consumers) -> bool:
        """After the last batch: the last poll, then drain every queue; False when the drain gave up."""
        self.poll()
        return self.wait_until(self.empty, consumers)

    @abstractmethod
    def report(self, wall_seconds: float, drained: bool) -> ChaosReport:
        """The koppeling's figures: made, booked, duplicates, lost, parked, retries."""

    def activity(self) -> object:
        """What changes while the run is still booking or carrying back (for ``settle``): ledger rows, bookings, ...
        Only a koppeling whose ``finish`` settles needs it."""
        raise NotImplementedError(f"{type(self).__name__} settles, so it must say what its activity is")

    def settle(self, consumers: Consumers, before_poll: Callable[[], None] = lambda: None) -> bool:
        """For a ``finish`` that carries status back: poll (after ``before_poll``) until two polls in a row change
        nothing (``activity``), at most SETTLE_POLLS, draining every queue after each; False when a drain gave up."""
        quiet, seen, drained = 0, self.activity(), False
        for _ in range(SETTLE_POLLS):
            before_poll()
            self.poll()
            drained = self.wait_until(self.empty, consumers)
            now = self.activity()
            quiet = quiet + 1 if now == seen else 0
            seen = now
            if quiet >= 2:
                break
        self.say(f"settled after {self.polls} polls")
        return drained

    # -- the run ------------------------------------------------------------------------------------------------
    def run(self) -> ChaosReport:
        started = time.monotonic()
        c = self.config
        self.shorten_timings()
        self.connect()
        batches = [min(c.batch_size, c.size - first) for first in range(0, c.size, c.batch_size)]
        with killing_deliver_workers(self.kills):
            self.unleash()
            with Consumers(self.stack, self.DELIVER, c.workers) as consumers:
                for index, size in enumerate(batches, start=1):
                    begun = time.monotonic()
                    self.batch(index, size, len(batches))
                    # Shallow queues: moto's SQS slows down as a queue grows, so the next batch waits for this one.
                    self.wait_until(lambda: self.depth(*VISIBLE) == 0, consumers)
                    self.after_batch(index, len(batches), consumers)
                    took = time.monotonic() - begun
                    self.say(f"batch {index}/{len(batches)}: {self.made} {self.UNIT} ({took:.1f} s)")
                drained = self.finish(consumers)
        return self.report(time.monotonic() - started, drained)

    def shorten_timings(self) -> None:
        """Visibility timeouts of seconds, not minutes, and deliver timeouts to match (see DELIVER_TIMEOUT)."""
        functions = self.stack._outputs().functions
        sqs = self.stack.client("sqs")
        for url in self.queues():
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT)})
        for name in self.SHORTENED:
            functions[name] = dataclasses.replace(functions[name], timeout=DELIVER_TIMEOUT)

    def queues(self) -> list[str]:
        functions = self.stack._outputs().functions
        names = (self.DELIVER, *self.DRAINED_HERE)
        return [source.queue_url for name in names for source in functions[name].sqs_sources]

    def poll(self) -> None:
        """The EventBridge schedule fires 6 minutes after the last time, so every connection's poll is due."""
        self.clock += timedelta(minutes=6)
        self.stack.tick(self.clock)
        self.stack.drain(POLL)
        self.polls += 1

    def wait_until(self, done: Callable[[], bool], consumers: Consumers) -> bool:
        """Drain DRAINED_HERE until ``done``, while the deliver consumers run; False after ``drain_timeout``."""
        deadline = time.monotonic() + self.config.drain_timeout
        while time.monotonic() < deadline:
            consumers.check()
            for name in self.DRAINED_HERE:  # a poll job that failed comes back after its visibility timeout
                self.stack.drain(name)
            if done():
                return True
            time.sleep(0.25)
        return False

    def empty(self) -> bool:
        """Every queue of the run empty, in-flight messages included."""
        return self.depth(*IN_QUEUE) == 0

    def depth(self, *attributes: str) -> int:
        sqs = self.stack.client("sqs")
        total = 0
        for url in self.queues():
            found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(attributes))["Attributes"]
            total += sum(int(found[name]) for name in attributes)
        return total

    # -- for the report -----------------------------------------------------------------------------------------
    def ledger(self) -> Any:
        from koppel import bootstrap
        from koppel.settings import StoreSettings

        return bootstrap.ledger(StoreSettings.load())

    def common(self, wall_seconds: float, drained: bool) -> dict[str, Any]:
        """The report's fields every koppeling fills the same way."""
        depths = self.stack.queue_depths()
        return {
            "seed": self.config.seed,
            "workers": self.config.workers,
            "unit": self.UNIT,
            "polls": self.polls,
            "dead_lettered": sum(count for name, count in depths.items() if name.endswith("DLQ")),
            "slowest_invocation": self.stack.invocations.slowest.get(self.DELIVER, 0.0),
            "deliver_timeout": DELIVER_TIMEOUT,
            "wall_seconds": wall_seconds,
            "drained": drained,
        }

    def failures(self, name: str) -> int:
        return self.stack.invocations.failures.get(name, 0)

    def crashes(self, *names: str) -> int:
        return sum(self.stack.invocations.crashes.get(name, 0) for name in names)


def play(run: type[ChaosRun], config: ChaosConfig, say: Callable[[str], None] = lambda _: None) -> ChaosReport:
    """Start a local stack and the koppeling's sandboxes, play ``config``, and return the report."""
    with LocalStack(env_overrides=SHORT_TIMINGS | run.env(config)) as stack, run.open_world(stack) as world:
        return run(stack, world, config, say).run()
