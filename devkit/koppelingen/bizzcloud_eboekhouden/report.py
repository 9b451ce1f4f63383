"""What a Bizzcloud → e-Boekhouden chaos run found: read from the final state of Bizzcloud, e-Boekhouden and the
ledger.

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

from devkit.chaos.report import ChaosReport, Row, group_reasons, pairs

if TYPE_CHECKING:
    from koppel.ports import LedgerEntry

INVOICE, PAYMENT = 2, 3


@dataclass(kw_only=True)
class BizzcloudChaosReport(ChaosReport):
    invoice_mutations: int = 0
    """Invoice mutations in e-Boekhouden, a number booked twice counted twice."""
    counted_twice: list[str] = field(default_factory=list)
    """Invoice numbers with more than one invoice mutation, counted here from the mutation list."""
    unsettled_till_sales: list[str] = field(default_factory=list)
    payment_disagreements: list[str] = field(default_factory=list)
    total_mismatches: list[str] = field(default_factory=list)
    """Bookings whose total differs from Bizzcloud's amount_total (credit invoices negative)."""
    vat_mismatches: list[str] = field(default_factory=list)
    """Bookings whose VAT differs from Bizzcloud's amount_tax."""
    payment_wave: dict[str, int] = field(default_factory=dict)
    reversed_skipped: int = 0
    """Reversed invoices: settled by their credit invoice in Bizzcloud, open in e-Boekhouden by design."""

    def checks(self) -> dict[str, list[str]]:
        return {
            "duplicates (counted here)": self.counted_twice,
            "till sales not settled": self.unsettled_till_sales,
            "payment state disagrees": self.payment_disagreements,
            "totals off by a cent or more": self.total_mismatches,
            "VAT off by a cent or more": self.vat_mismatches,
        }

    def rows(self) -> list[Row]:
        return [
            ("invoice mutations in e-Boekhouden", str(self.invoice_mutations), "type 2"),
            (
                "reversed invoices",
                str(self.reversed_skipped),
                "payment state not compared: settled by a credit invoice",
            ),
            ("payment wave", str(sum(self.payment_wave.values())), pairs(self.payment_wave)),
        ]


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
        "expected_means": "posted (credit) invoices + paid, non-invoiced till sales",
        "booked": len(booked),
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
        reason: numbers
        for target, entries in by_target.items()
        for reason, numbers in group_reasons(entries, f"{target}: ").items()
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
    """Bookings whose ``ours`` differs from Bizzcloud's ``theirs`` (credit invoices negative)."""
    documents = [(str(m["name"]), -1 if m["move_type"] == "out_refund" else 1, m) for m in posted]
    documents += [(str(o["name"]), 1, o) for o in till]
    wrong = []
    for number, sign, record in documents:
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
