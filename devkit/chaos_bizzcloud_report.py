"""What a Bizzcloud → e-Boekhouden chaos run found: read from the final state of Odoo, e-Boekhouden and the ledger.

Every figure compares the two systems directly (not what Koppel believes it did): an expected document is a posted
invoice or credit invoice, or a paid till sale that was not invoiced; a booking is an invoice mutation (type 2) in
e-Boekhouden; a till sale is settled when its payment mutations (type 3) add up to its total; an invoice's payment
state agrees when Bizzcloud's amount_residual equals e-Boekhouden's outstanding amount.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.table import Table

from devkit.chaos_report import group_reasons

if TYPE_CHECKING:
    from koppel.ports import LedgerEntry

INVOICE, PAYMENT = 2, 3


@dataclass
class BizzcloudChaosReport:
    seed: int
    workers: int
    created: dict[str, int]
    documents: int
    expected: int
    """Posted invoices and credit invoices, and paid till sales that were not invoiced."""
    invoice_mutations: int
    duplicates: list[str]
    """Invoice numbers e-Boekhouden holds more than once (the sandbox's own count)."""
    counted_twice: list[str]
    """Invoice numbers with more than one invoice mutation, counted here from the mutation list."""
    lost: list[str]
    unexpected: list[str]
    """Booked although no posted document or paid till sale has that number (a draft, a cancelled one)."""
    parked: dict[str, list[str]]
    pending: list[str]
    unsettled_till_sales: list[str]
    payment_disagreements: list[str]
    total_mismatches: list[str]
    """Bookings whose total differs from Odoo's amount_total (credit invoices negative)."""
    vat_mismatches: list[str]
    """Bookings whose VAT differs from Odoo's amount_tax."""
    retries: dict[str, int]
    faults: dict[str, int]
    payment_wave: dict[str, int] = field(default_factory=dict)
    reversed_skipped: int = 0
    """Reversed invoices: settled by their credit invoice in Bizzcloud, open in e-Boekhouden by design."""
    polls: int = 0
    rates: str = ""
    dead_lettered: int = 0
    wall_seconds: float = 0.0
    drained: bool = True

    @property
    def ok(self) -> bool:
        problems = (self.duplicates, self.counted_twice, self.lost, self.unexpected, self.pending)
        more = (self.unsettled_till_sales, self.payment_disagreements, self.total_mismatches, self.vat_mismatches)
        return not any(problems + more) and self.drained and not self.dead_lettered

    @property
    def parked_count(self) -> int:
        return sum(len(numbers) for numbers in self.parked.values())


@dataclass
class FinalState:
    """Everything the report reads, taken once after the final drain."""

    moves: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    mutations: list[dict[str, Any]]
    outstanding: dict[str, Decimal]
    """e-Boekhouden's open amount per invoice number (paid in full: absent)."""
    sandbox_duplicates: list[str]
    parked: list[LedgerEntry]
    pending: list[LedgerEntry]


def figures(state: FinalState) -> dict[str, Any]:
    """The comparisons of the report, as keyword arguments of BizzcloudChaosReport."""
    posted = [m for m in state.moves if m["state"] == "posted" and m["move_type"] in ("out_invoice", "out_refund")]
    till = [o for o in state.orders if o["state"] in ("paid", "done")]
    expected = {str(m["name"]) for m in posted} | {str(o["name"]) for o in till}
    invoices = [m for m in state.mutations if m["type"] == INVOICE]
    per_number = Counter(str(m["invoiceNumber"]) for m in invoices)
    booked = {number: m for m in invoices if (number := str(m["invoiceNumber"]))}
    parked_numbers = {e.document_number for e in state.parked if e.target == "eboekhouden"}
    return {
        "expected": len(expected),
        "invoice_mutations": len(invoices),
        "duplicates": sorted(state.sandbox_duplicates),
        "counted_twice": sorted(number for number, count in per_number.items() if count > 1),
        "lost": sorted(expected - booked.keys() - parked_numbers),
        "unexpected": sorted(booked.keys() - expected),
        "parked": _grouped(state.parked),
        "pending": sorted(f"{e.document_number} ({e.target})" for e in state.pending),
        "unsettled_till_sales": _unsettled(state, booked, till, posted),
        "total_mismatches": _mismatches(booked, posted, till, "totalAmount", "amount_total"),
        "vat_mismatches": _mismatches(booked, posted, till, "totalVat", "amount_tax"),
        **_payment_disagreements(state, booked, posted),
    }


def _grouped(parked: list[LedgerEntry]) -> dict[str, list[str]]:
    by_target: dict[str, list[LedgerEntry]] = defaultdict(list)
    for entry in parked:
        by_target[entry.target].append(entry)
    return {
        f"{target}: {reason}": numbers
        for target, entries in by_target.items()
        for reason, numbers in group_reasons(entries).items()
    }


def _paid(mutations: list[dict[str, Any]]) -> dict[str, Decimal]:
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for mutation in mutations:
        if mutation["type"] == PAYMENT:
            for row in mutation.get("rows") or []:
                paid[str(row.get("invoiceNumber"))] += Decimal(str(row["amount"]))
    return paid


def _unsettled(
    state: FinalState, booked: dict[str, Any], till: list[dict[str, Any]], posted: list[dict[str, Any]]
) -> list[str]:
    """Till sales (and invoiced till sales, through their invoice) whose payments do not add up to their total."""
    paid = _paid(state.mutations)
    from_till = {str(m["name"]) for m in posted if m.get("pos_order_ids")}
    wrong = []
    for number in sorted({str(o["name"]) for o in till} | from_till):
        if number in booked:
            total = Decimal(str(booked[number]["totalAmount"]))
            if paid.get(number, Decimal(0)) != total:
                wrong.append(f"{number}: paid {paid.get(number, Decimal(0))} of {total}")
    return wrong


def _mismatches(
    booked: dict[str, Any], posted: list[dict[str, Any]], till: list[dict[str, Any]], ours: str, theirs: str
) -> list[str]:
    """Bookings whose ``ours`` differs from Odoo's ``theirs`` (credit invoices negative)."""
    odoo = [(str(m["name"]), -1 if m["move_type"] == "out_refund" else 1, m) for m in posted]
    odoo += [(str(o["name"]), 1, o) for o in till]
    wrong = []
    for number, sign, record in odoo:
        mutation = booked.get(number)
        if mutation is None:
            continue
        want, got = sign * Decimal(str(record[theirs])), Decimal(str(mutation[ours]))
        if want != got:
            wrong.append(f"{number}: {got} in e-Boekhouden, {want} in Bizzcloud")
    return wrong


def _payment_disagreements(state: FinalState, booked: dict[str, Any], posted: list[dict[str, Any]]) -> dict[str, Any]:
    """Each booked invoice's residual in Bizzcloud against e-Boekhouden's open amount (0 when paid in full)."""
    wrong, reversed_skipped = [], 0
    for move in posted:
        number = str(move["name"])
        if move["move_type"] != "out_invoice" or number not in booked:
            continue
        if move["payment_state"] == "reversed":
            reversed_skipped += 1
            continue
        residual = Decimal(str(move["amount_residual"]))
        open_amount = state.outstanding.get(number, Decimal(0))
        if residual != open_amount:
            wrong.append(f"{number}: {open_amount} open in e-Boekhouden, residual {residual} ({move['payment_state']})")
    return {"payment_disagreements": wrong, "reversed_skipped": reversed_skipped}


def report_table(report: BizzcloudChaosReport) -> Table:
    title = f"Chaos run Bizzcloud → e-Boekhouden: seed {report.seed}, {report.workers} deliver worker(s)"
    table = Table(title=title, show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("detail", overflow="fold")

    def bad(items: list[str]) -> str:
        return f"[bold red]{len(items)}[/]" if items else "[green]0[/]"

    table.add_row("documents created", str(report.documents), _pairs(report.created))
    table.add_row("expected bookable", str(report.expected), "posted (credit) invoices + paid, non-invoiced till sales")
    table.add_row("invoice mutations in e-Boekhouden", str(report.invoice_mutations), "type 2")
    table.add_row("duplicates (e-Boekhouden)", bad(report.duplicates), ", ".join(report.duplicates[:20]))
    table.add_row("duplicates (counted here)", bad(report.counted_twice), ", ".join(report.counted_twice[:20]))
    table.add_row("lost", bad(report.lost), ", ".join(report.lost[:20]))
    table.add_row("booked but not to be booked", bad(report.unexpected), ", ".join(report.unexpected[:20]))
    table.add_row("stuck PENDING", bad(report.pending), ", ".join(report.pending[:20]))
    table.add_row("parked", str(report.parked_count), "")
    for reason, numbers in sorted(report.parked.items(), key=lambda item: -len(item[1])):
        table.add_row("", str(len(numbers)), f"{reason[:300]} (e.g. {numbers[0]})")
    table.add_row(
        "till sales not settled", bad(report.unsettled_till_sales), "; ".join(report.unsettled_till_sales[:10])
    )
    table.add_row(
        "payment state disagrees", bad(report.payment_disagreements), "; ".join(report.payment_disagreements[:10])
    )
    table.add_row("", str(report.reversed_skipped), "reversed invoices not compared (settled by their credit invoice)")
    table.add_row("totals off by a cent or more", bad(report.total_mismatches), "; ".join(report.total_mismatches[:10]))
    table.add_row("VAT off by a cent or more", bad(report.vat_mismatches), "; ".join(report.vat_mismatches[:10]))
    table.add_row("payment wave", str(sum(report.payment_wave.values())), _pairs(report.payment_wave))
    table.add_row("retries", str(sum(report.retries.values())), _pairs(report.retries))
    table.add_row("faults injected", str(sum(report.faults.values())), _pairs(report.faults))
    table.add_row("fault rates", "", report.rates)
    table.add_row("scheduled polls", str(report.polls), "")
    table.add_row("dead-lettered messages", f"[bold red]{report.dead_lettered}[/]" if report.dead_lettered else "0", "")
    table.add_row("queues drained", "yes" if report.drained else "[bold red]no[/]", "")
    table.add_row("wall time", f"{report.wall_seconds:.1f} s", "")
    return table


def _pairs(values: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in values.items())
