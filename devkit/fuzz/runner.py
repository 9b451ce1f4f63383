"""Run the fuzz: build the world, then for each declared door send its seeded bad requests and check everything.

Probes are drawn by hypothesis (``@given`` with a fixed ``@seed``, generation only: no shrinking, no example
database), each of a door's families in turn, and sent one after another: the local stack runs handlers one at a
time anyway, and a sequential run pins every SQS send and every vendor read on the probe that caused it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as fixed_seed
from hypothesis import strategies as st

from devkit.fuzz import checks, doors, state
from devkit.fuzz.probe import Sender
from devkit.fuzz.report import FuzzReport
from devkit.fuzz.world import World
from devkit.local import LocalStack

if TYPE_CHECKING:
    from collections.abc import Callable

    from hypothesis.strategies import SearchStrategy

    from devkit.fuzz.doors import Door
    from devkit.fuzz.probe import Probe


@dataclass(frozen=True)
class FuzzConfig:
    requests_per_door: int = 10_000
    seed: int = 8


def run_fuzz(config: FuzzConfig, say: Callable[[str], None] = lambda _: None) -> FuzzReport:
    report = FuzzReport(config.seed, config.requests_per_door)
    started = time.monotonic()
    with state.SqsSends() as sends, LocalStack() as stack, World(stack, doors.vendors()) as world:
        say(f"local stack at {stack.http_url}; vendors: {', '.join(v.name for v in world.vendors)}")
        world.build()
        if sends.sent == 0:
            raise RuntimeError("the genuine traffic sent nothing to SQS that the fuzz saw: it could not see enqueues")
        declared = [door for vendor in world.vendors for door in vendor.doors(world)]
        missing = undeclared_routes(stack, declared)
        if missing:
            raise RuntimeError(f"HTTP API routes that no vendor declares as a door (devkit/fuzz/doors): {missing}")
        report.setup_seconds = time.monotonic() - started
        say(f"{len(world.connections)} connections set up, genuine traffic booked; fuzzing {len(declared)} doors")
        fuzz_started = time.monotonic()
        for index, door in enumerate(declared):
            before, door_started = state.snapshot(stack), time.monotonic()
            fire(door, world, sends, report, config.requests_per_door, config.seed * 1000 + index)
            report.door_seconds[door.name] = time.monotonic() - door_started
            report.close_door(door.name, state.changes(before, state.snapshot(stack)))
            say(f"{door.name}: {report.requests(door.name):,} requests")
        report.fuzz_seconds = time.monotonic() - fuzz_started
    return report


def undeclared_routes(stack: LocalStack, declared: list[Door]) -> list[str]:
    """Every HTTP API route of the template that no vendor declares as a door: each must be fuzzed."""
    routes = {route for function in stack._outputs().functions.values() for route in function.http_routes}
    return sorted(routes - {route for door in declared for route in (door.route, *door.also)})


def fire(door: Door, world: World, sends: state.SqsSends, report: FuzzReport, count: int, seed: int) -> None:
    """Send ``count`` probes drawn from the door's families and record every answer and what it broke."""
    url = urlsplit(world.stack.http_url)
    sender = Sender(url.hostname or "127.0.0.1", url.port or 80)
    secrets = world.secrets()

    def send(probe: Probe) -> None:
        if probe.when_sent is not None:
            probe = probe.when_sent(probe)
        reads, sent = world.requests_served(), sends.sent
        answer = sender.send(probe)
        problems = checks.problems(probe, answer, secrets)
        if sends.sent != sent:
            problems.append(("enqueued", f"{sends.sent - sent} message(s)"))
        if 200 <= answer.status < 400 and world.requests_served() != reads:  # accepted: it must have cost nothing
            problems.append(("read the vendor for it", f"{world.requests_served() - reads} request(s)"))
        if door.one_refusal == answer.status:
            report.note_refusal(door.name, probe, answer)
        report.note(door.name, probe, answer, problems)

    families = list(door.families.values())
    try:
        for index, strategy in enumerate(families):
            share = count // len(families) + (1 if index < count % len(families) else 0)
            draw_each(strategy, share, seed * 100 + index, send)
    finally:
        sender.close()


def draw_each(strategy: SearchStrategy[Probe], count: int, seed: int, each: Callable[[Probe], None]) -> None:
    """Call ``each`` with ``count`` probes drawn by hypothesis from ``seed``.

    Hypothesis never draws the same choices twice, so a probe with few variants (the replay of one genuine
    webhook) would be sent a handful of times and its branch then left alone. A throwaway number drawn after each
    probe makes every draw new, so every branch keeps its share and a replay is replayed hundreds of times.
    Should hypothesis still stop early, it is asked again with the next seed for the rest."""
    strategy = st.tuples(strategy, st.integers(0, 2**63)).map(lambda drawn: drawn[0])
    done = 0
    for attempt in range(10):
        if done >= count:
            return

        @settings(
            max_examples=count - done,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        )
        @fixed_seed(seed * 10 + attempt)
        @given(strategy)
        def one(probe: Probe) -> None:
            nonlocal done
            each(probe)
            done += 1

        before = done
        one()
        if done == before:
            return
