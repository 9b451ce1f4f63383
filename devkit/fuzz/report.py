"""The fuzz report: counts per door and category, each kind of failure with its first example, state changes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from devkit.fuzz.probe import Answer, Probe

STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx", "no answer")


@dataclass
class Example:
    status: int
    request: str
    answer: str
    detail: str = ""


@dataclass
class Failure:
    count: int
    first: Example


@dataclass
class FuzzReport:
    seed: int
    requests_per_door: int
    counts: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)
    """(door, category) → how many answers of each status class."""
    failures: dict[tuple[str, str, str], Failure] = field(default_factory=dict)
    """(kind, door, category) → how often, and the first time it happened."""
    data_changes: dict[str, list[str]] = field(default_factory=dict)
    """Door → what its fuzz changed in the tables and queues (apart from the rows written by design)."""
    refusals: dict[str, dict[str, Example]] = field(default_factory=dict)
    """Door → each distinct body it answered with its one refusal status, and the first request that got it."""
    door_seconds: dict[str, float] = field(default_factory=dict)
    setup_seconds: float = 0.0
    fuzz_seconds: float = 0.0

    # -- recording --------------------------------------------------------------------------------------------
    def note(self, door: str, probe: Probe, answer: Answer, problems: list[tuple[str, str]]) -> None:
        self.counts.setdefault((door, probe.category), Counter())[_status_class(answer.status)] += 1
        for kind, detail in problems:
            self.fail(kind, door, probe.category, Example(answer.status, probe.summary(), answer.summary(), detail))

    def fail(self, kind: str, door: str, category: str, example: Example) -> None:
        failure = self.failures.setdefault((kind, door, category), Failure(0, example))
        failure.count += 1

    def note_refusal(self, door: str, probe: Probe, answer: Answer) -> None:
        seen = self.refusals.setdefault(door, {})
        seen.setdefault(answer.text(), Example(answer.status, probe.summary(), answer.summary()))

    def close_door(self, door: str, changes: list[str]) -> None:
        """After a door's fuzz: its state changes, and whether its refusals all read the same."""
        if changes:
            self.data_changes[door] = changes
        bodies = list(self.refusals.get(door, {}).values())
        for other in bodies[1:]:
            self.fail("refusals differ", door, "(all)", Example(other.status, other.request, other.answer,
                                                                f"first refusal read: {bodies[0].answer}"))  # fmt: skip

    # -- figures ----------------------------------------------------------------------------------------------
    def requests(self, door: str | None = None) -> int:
        return sum(sum(c.values()) for (d, _), c in self.counts.items() if door in (None, d))

    def server_errors(self) -> int:
        return sum(c["5xx"] for c in self.counts.values())

    def doors(self) -> list[str]:
        return list(dict.fromkeys(door for door, _ in self.counts))

    def failure_count(self) -> int:
        return sum(f.count for f in self.failures.values()) + sum(len(c) for c in self.data_changes.values())

    @property
    def ok(self) -> bool:
        return self.failure_count() == 0

    def summary_line(self) -> str:
        return (
            f"fuzz: {self.requests():,} requests at {len(self.doors())} doors "
            f"({', '.join(f'{d} {self.requests(d):,}' for d in self.doors())}); 5xx: {self.server_errors()}; "
            f"failures: {self.failure_count()}; seed {self.seed}; "
            f"{self.fuzz_seconds:.0f} s fuzzing after {self.setup_seconds:.0f} s setting up"
        )

    # -- tables -----------------------------------------------------------------------------------------------
    def counts_table(self) -> Table:
        table = Table(title="Answers per door and category", title_justify="left")
        for column in ("door", "category", "requests", *STATUS_CLASSES, "seconds"):
            table.add_column(column, justify="left" if column in ("door", "category") else "right")
        for door in self.doors():
            rows = sorted((category, counts) for (d, category), counts in self.counts.items() if d == door)
            total: Counter[str] = Counter()
            for category, counts in rows:
                total += counts
                table.add_row(door, category, str(sum(counts.values())), *(_cell(counts[c]) for c in STATUS_CLASSES))
            table.add_row(f"[bold]{door}", "[bold]all", f"[bold]{sum(total.values())}",
                          *(f"[bold]{_cell(total[c])}" for c in STATUS_CLASSES),
                          f"{self.door_seconds.get(door, 0):.0f}", end_section=True)  # fmt: skip
        return table

    def failures_table(self) -> Table:
        table = Table(title="Failures: the first example of each", title_justify="left", show_lines=True)
        for column in ("kind", "door / category", "count", "status", "request", "answer"):
            table.add_column(column, overflow="fold")
        for (kind, door, category), failure in sorted(self.failures.items()):
            first = failure.first
            answer = first.answer + (f" ({first.detail})" if first.detail else "")
            table.add_row(kind, f"{door} / {category}", str(failure.count), str(first.status), escape(first.request),
                          escape(answer))  # fmt: skip
        for door, changes in self.data_changes.items():
            shown = "; ".join(changes[:5]) + (f"; … {len(changes) - 5} more" if len(changes) > 5 else "")
            table.add_row("data changed", door, str(len(changes)), "", "(after the door's fuzz)", escape(shown))
        return table


def _status_class(status: int) -> str:
    return "no answer" if status == 0 else f"{status // 100}xx"


def _cell(count: int) -> str:
    return str(count) if count else "·"
