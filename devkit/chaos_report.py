"""What a chaos run found: the ChaosReport, how it is read from the target and the ledger, and its table."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.table import Table

if TYPE_CHECKING:
    from koppel.ports import LedgerEntry

COMPLETED = 7


@dataclass
class ChaosReport:
    seed: int
    workers: int
    orders_placed: int
    should_be_booked: int
    """Orders that ended completed (status 7) and paid."""
    bookings: int
    """Distinct invoice numbers in SnelStart."""
    duplicates: list[str]
    """Invoice numbers SnelStart holds more than once (the sandbox's own count)."""
    lost: list[str]
    """Completed and paid, yet neither booked nor parked: silently lost."""
    unexpected: list[str]
    """Booked although the order did not end completed and paid."""
    parked: dict[str, list[str]]
    """Reason (numbers masked, so alike reasons group) → order numbers."""
    pending: list[str]
    """Ledger rows still PENDING after the queues ran empty: stuck."""
    retries: dict[str, int]
    faults: dict[str, int]
    dead_lettered: int
    duplicate_customers: list[str] = field(default_factory=list)
    """E-mail addresses with more than one relatie in SnelStart (not a double booking, but worth knowing)."""
    webhooks: dict[str, int] = field(default_factory=dict)
    taken_over: int = 0
    """POSTED ledger rows that a later attempt took over (after a kill, a timeout or a retryable failure)."""
    rates: str = ""
    by_poll_only: int = 0
    """Bookings of orders whose webhooks never arrived: only the scheduled poll could bring them."""
    polls: int = 0
    slowest_invocation: float = 0.0
    deliver_timeout: int = 0
    wall_seconds: float = 0.0
    drained: bool = True
    """False when the final drain gave up with messages still on a queue."""

    @property
    def ok(self) -> bool:
        return not self.duplicates and not self.lost and not self.unexpected and not self.pending

    @property
    def parked_count(self) -> int:
        return sum(len(numbers) for numbers in self.parked.values())

    @property
    def faults_injected(self) -> int:
        return sum(self.faults.values())


def group_reasons(entries: list[LedgerEntry]) -> dict[str, list[str]]:
    """Parked rows by reason, with the digits masked so that "order 12 …" and "order 13 …" group together."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        grouped[re.sub(r"\d+", "#", entry.reason or "(no reason given)")].append(entry.document_number)
    return dict(grouped)


def outcome_figures(
    orders: list[dict[str, Any]],
    bookings: list[dict[str, Any]],
    parked: list[LedgerEntry],
    pending: list[LedgerEntry],
) -> dict[str, Any]:
    """should_be_booked, bookings, lost, unexpected, parked and pending from the final state of every part."""
    should = {o["ordernumber_full"] for o in orders if o["status"] == COMPLETED and o["paid"]}
    booked = {str(b["factuurnummer"]) for b in bookings}
    parked_numbers = {e.document_number for e in parked}
    return {
        "should_be_booked": len(should),
        "bookings": len(booked),
        "lost": sorted(should - booked - parked_numbers),
        "unexpected": sorted(booked - should),
        "parked": group_reasons(parked),
        "pending": sorted(e.document_number for e in pending),
    }


def duplicate_customers(relations: list[dict[str, Any]]) -> list[str]:
    emails = Counter(str(r.get("email") or "").casefold() for r in relations if r.get("email"))
    return sorted(email for email, count in emails.items() if count > 1)


def report_table(report: ChaosReport) -> Table:
    table = Table(title=f"Chaos run: seed {report.seed}, {report.workers} deliver worker(s)", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("detail", overflow="fold")

    def bad(count: int) -> str:
        return f"[bold red]{count}[/]" if count else "[green]0[/]"

    table.add_row("orders placed", str(report.orders_placed), "")
    table.add_row("should be booked", str(report.should_be_booked), "completed (status 7) and paid")
    table.add_row("bookings in SnelStart", str(report.bookings), "distinct invoice numbers")
    table.add_row("duplicates", bad(len(report.duplicates)), ", ".join(report.duplicates[:20]))
    table.add_row("lost", bad(len(report.lost)), ", ".join(report.lost[:20]))
    table.add_row("booked but not to be booked", bad(len(report.unexpected)), ", ".join(report.unexpected[:20]))
    table.add_row("stuck PENDING", bad(len(report.pending)), ", ".join(report.pending[:20]))
    table.add_row("parked", str(report.parked_count), "")
    for reason, numbers in sorted(report.parked.items(), key=lambda item: -len(item[1])):
        table.add_row("", str(len(numbers)), f"{reason[:300]} (e.g. {numbers[0]})")
    table.add_row("retries", str(sum(report.retries.values())), _pairs(report.retries))
    table.add_row("faults injected", str(report.faults_injected), _pairs(report.faults))
    table.add_row("fault rates", "", report.rates)
    table.add_row("bookings finished by a later attempt", str(report.taken_over), "the outbox row was taken over")
    table.add_row("webhooks", str(report.webhooks.get("posted", 0)), _pairs(report.webhooks))
    table.add_row("scheduled polls", str(report.polls), f"{report.by_poll_only} booking(s) only a poll could bring")
    table.add_row("dead-lettered messages", bad(report.dead_lettered), "")
    table.add_row("duplicate customers", str(len(report.duplicate_customers)), ", ".join(report.duplicate_customers))
    table.add_row(
        "slowest deliver invocation",
        f"{report.slowest_invocation:.1f} s",
        f"function timeout {report.deliver_timeout} s" + (" [red]exceeded[/]" if _overran(report) else ""),
    )
    table.add_row("queues drained", "yes" if report.drained else "[bold red]no[/]", "")
    table.add_row("wall time", f"{report.wall_seconds:.1f} s", "")
    return table


def _overran(report: ChaosReport) -> bool:
    return bool(report.deliver_timeout) and report.slowest_invocation > report.deliver_timeout


def _pairs(values: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in values.items())
