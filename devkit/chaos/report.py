"""What a chaos run found, the same figures for every koppeling: sent, expected, booked, duplicates, lost, parked
(with reasons), retries and faults, then the koppeling's own checks and figures, as a table and as one line.

A koppeling's report subclasses ``ChaosReport``: ``checks`` names its further problems (each must stay empty,
e.g. totals off by a cent) and ``rows`` its further figures (e.g. webhooks, a payment wave).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.table import Table

if TYPE_CHECKING:
    from koppel.ports import LedgerEntry

Row = tuple[str, str, str]
"""(figure, value, detail) of the report's table."""


@dataclass(kw_only=True)
class ChaosReport:
    koppeling: str
    target: str
    """The target's name as its users know it, for the table."""
    unit: str = "documents"
    seed: int
    workers: int
    sent: int
    """Orders or documents the workload made."""
    expected: int
    """Of those, the ones that must end booked (or parked)."""
    expected_means: str = ""
    booked: int
    """Distinct document numbers booked in the target."""
    duplicates: list[str]
    """Document numbers the target holds more than once (the sandbox's own count)."""
    lost: list[str]
    """Expected, yet neither booked nor parked: silently lost."""
    unexpected: list[str]
    """Booked although not expected (not completed, a draft, cancelled)."""
    parked: dict[str, list[str]]
    """Reason (numbers masked, so alike reasons group) → document numbers."""
    pending: list[str]
    """Ledger rows still PENDING after the queues ran empty: stuck."""
    retries: dict[str, int]
    faults: dict[str, int]
    rates: str = ""
    polls: int = 0
    dead_lettered: int = 0
    slowest_invocation: float = 0.0
    deliver_timeout: int = 0
    wall_seconds: float = 0.0
    drained: bool = True
    """False when the final drain gave up with messages still on a queue."""
    by_kind: dict[str, int] = field(default_factory=dict)
    """What the workload made, by kind (when it makes more than one kind)."""

    def checks(self) -> dict[str, list[str]]:
        """The koppeling's further problems by name; each must be empty for the run to pass."""
        return {}

    def rows(self) -> list[Row]:
        """The koppeling's further figures, shown after its checks."""
        return []

    @property
    def ok(self) -> bool:
        problems = (self.duplicates, self.lost, self.unexpected, self.pending, *self.checks().values())
        return not any(problems) and self.drained and not self.dead_lettered

    @property
    def parked_count(self) -> int:
        return sum(len(numbers) for numbers in self.parked.values())

    @property
    def faults_injected(self) -> int:
        return sum(self.faults.values())

    def summary(self) -> str:
        """One line: what a person reads first when several koppelingen ran."""
        verdict = "ok" if self.ok else "PROBLEM"
        retries, seconds = sum(self.retries.values()), f"{self.wall_seconds:.0f} s"
        return (
            f"{self.koppeling}: {self.sent} {self.unit}, {self.expected} to book, {self.booked} booked, "
            f"duplicates {len(self.duplicates)}, lost {len(self.lost)}, parked {self.parked_count}, "
            f"retries {retries} ({seconds}): {verdict}"
        )


def group_reasons(entries: list[LedgerEntry], prefix: str = "") -> dict[str, list[str]]:
    """Parked rows by reason, with the digits masked so that "order 12 …" and "order 13 …" group together."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        grouped[prefix + re.sub(r"\d+", "#", entry.reason or "(no reason given)")].append(entry.document_number)
    return dict(grouped)


def report_table(report: ChaosReport) -> Table:
    title = f"Chaos run {report.koppeling}: seed {report.seed}, {report.workers} deliver worker(s)"
    table = Table(title=title, show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("detail", overflow="fold")
    table.add_row(f"{report.unit} sent", str(report.sent), pairs(report.by_kind))
    table.add_row("expected to be booked", str(report.expected), report.expected_means)
    table.add_row(f"booked in {report.target}", str(report.booked), "distinct document numbers")
    for name, items in (
        ("duplicates", report.duplicates),
        ("lost", report.lost),
        ("booked but not to be booked", report.unexpected),
        ("stuck PENDING", report.pending),
    ):
        table.add_row(name, bad(items), ", ".join(items[:20]))
    table.add_row("parked", str(report.parked_count), "")
    for reason, numbers in sorted(report.parked.items(), key=lambda item: -len(item[1])):
        table.add_row("", str(len(numbers)), f"{reason[:300]} (e.g. {numbers[0]})")
    for name, items in report.checks().items():
        table.add_row(name, bad(items), "; ".join(items[:10]))
    for row in report.rows():
        table.add_row(*row)
    table.add_row("retries", str(sum(report.retries.values())), pairs(report.retries))
    table.add_row("faults injected", str(report.faults_injected), pairs(report.faults))
    table.add_row("fault rates", "", report.rates)
    table.add_row("scheduled polls", str(report.polls), "")
    table.add_row("dead-lettered messages", f"[bold red]{report.dead_lettered}[/]" if report.dead_lettered else "0", "")
    overran = bool(report.deliver_timeout) and report.slowest_invocation > report.deliver_timeout
    table.add_row(
        "slowest deliver invocation",
        f"{report.slowest_invocation:.1f} s",
        f"function timeout {report.deliver_timeout} s" + (" [red]exceeded[/]" if overran else ""),
    )
    table.add_row("queues drained", "yes" if report.drained else "[bold red]no[/]", "")
    table.add_row("wall time", f"{report.wall_seconds:.1f} s", "")
    return table


def bad(items: list[str]) -> str:
    return f"[bold red]{len(items)}[/]" if items else "[green]0[/]"


def pairs(values: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in values.items())
