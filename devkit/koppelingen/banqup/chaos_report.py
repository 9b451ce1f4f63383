"""What a Banqup → target chaos run found, read from the target's books, Banqup's documents and Koppel's ledger
(devkit.koppelingen.banqup.chaos reads them once the queues are empty).

Every figure compares the systems directly with what the workload placed: a bookable document must be in the
client's books once, with its total, net and VAT per rate to the cent, and its original attached once where the
target takes files; a bank statement must be in Koppel's history as SKIPPED with why; an unreadable scan and a
document the target refuses must be PARKED with the reason; a purchase paid in the target must show that amount
as paid in Banqup, marked once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.chaos.report import ChaosReport, Row, group_reasons, pairs

if TYPE_CHECKING:
    from devkit.koppelingen.banqup.report import Holding
    from devkit.koppelingen.banqup.workload import Made, Planned
    from koppel.ports import LedgerEntry

SOURCE_PROBLEM = "Cannot be read from the source"
ZERO = Decimal(0)


@dataclass(frozen=True)
class Booking:
    """One document as the target's books hold it, in the source's signs (a credit note negative)."""

    number: str
    direction: str
    total: Decimal
    net: dict[Decimal, Decimal]
    vat: dict[Decimal, Decimal]
    attachments: int | None = None
    """Originals attached to it; None where the target keeps no files for this kind of booking."""
    ident: str = ""


def booked(holding: Holding, takes_files: bool = True) -> list[Booking]:
    """A target's holding (devkit.koppelingen.banqup.report) as the run compares it: rates as numbers, and the
    originals counted where the target keeps them (its purchases)."""
    return [
        Booking(
            held.number,
            "sales" if held.kind == "sales invoice" else "purchase",
            held.total,
            {_rate(name): net for name, (net, _) in held.per_rate.items()},
            {_rate(name): vat for name, (_, vat) in held.per_rate.items()},
            len(held.attachments) if takes_files and held.kind != "sales invoice" else None,
        )
        for held in holding.documents
    ]


def _rate(name: str) -> Decimal:
    number = name.split(" ", 1)[0]
    return Decimal(number) if number.replace(".", "", 1).isdigit() else Decimal(-1)


@dataclass(kw_only=True)
class BanqupChaosReport(ChaosReport):
    off_by_a_cent: list[str] = field(default_factory=list)
    """Bookings whose total, or net or VAT of a rate, differs from the document's."""
    not_skipped: list[str] = field(default_factory=list)
    """Not-bookable documents without a SKIPPED row that says why."""
    not_parked: list[str] = field(default_factory=list)
    """Unreadable or refused documents that are not PARKED with a reason."""
    attachments_wrong: list[str] = field(default_factory=list)
    payments_wrong: list[str] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    attachments: dict[str, int] = field(default_factory=dict)
    payments: dict[str, int] = field(default_factory=dict)
    payment_wave: dict[str, int] = field(default_factory=dict)

    def checks(self) -> dict[str, list[str]]:
        return {
            "not to the cent (total, net or VAT per rate)": self.off_by_a_cent,
            "not-bookable without a SKIPPED row": self.not_skipped,
            "unreadable or refused, not parked": self.not_parked,
            "originals not attached once": self.attachments_wrong,
            "payments not marked in Banqup once": self.payments_wrong,
        }

    def rows(self) -> list[Row]:
        return [
            ("what must become of them", str(sum(self.outcomes.values())), pairs(self.outcomes)),
            ("originals attached", str(self.attachments.get("attached once", 0)), pairs(self.attachments)),
            ("payment wave", str(sum(self.payment_wave.values())), pairs(self.payment_wave)),
            ("payments in Banqup", str(self.payments.get("marked once", 0)), pairs(self.payments)),
        ]

    def summary(self) -> str:
        return (
            f"{super().summary()}; off by a cent {len(self.off_by_a_cent)}, skipped in history "
            f"{self.outcomes.get('skipped', 0) - len(self.not_skipped)}/{self.outcomes.get('skipped', 0)}, "
            f"payments marked once {self.payments.get('marked once', 0)}/{self.payments.get('paid in the target', 0)}"
        )


@dataclass
class FinalState:
    made: Made
    bookings: dict[str, list[Booking]]
    """Space id → what its books in the target hold."""
    target_duplicates: list[str]
    history: list[LedgerEntry]
    documents: dict[str, Any]
    """File id → Banqup's document (its paid amount)."""
    marks: list[dict[str, Any]]
    """What Koppel changed in Banqup: mark-as-paid, mark-as-unpaid, payment-status."""
    paid: dict[str, Decimal]
    """File id → what a person paid in the target."""
    takes_files: bool
    target: str


def figures(state: FinalState) -> dict[str, Any]:
    """The comparisons of the report, as keyword arguments of BanqupChaosReport."""
    planned = state.made.planned
    to_book = {(p.space, p.number): p for p in planned if p.outcome == "booked"}
    held = Counter((space, b.number) for space, books in state.bookings.items() for b in books)
    rows = [e for e in state.history if e.target == state.target]
    parked = [e for e in rows if e.state == "PARKED"]
    parked_files = {e.document_number for e in parked} | {e.event_id.rsplit(":", 1)[-1] for e in parked}
    booked = {key for key in held if key in to_book}
    lost = [f"{p.number} ({p.kind}, {p.file_id})" for key, p in sorted(to_book.items())
            if key not in held and p.file_id not in parked_files and p.number not in parked_files]  # fmt: skip
    return {
        "sent": len(planned),
        "by_kind": dict(state.made.counts),
        "expected": len(to_book),
        "expected_means": "invoices, credit notes, readable scans, receipts and sales invoices, each booked once",
        "booked": len(booked),
        "duplicates": sorted(set(state.target_duplicates) | {f"{n} ({c}×)" for (_, n), c in held.items() if c > 1}),
        "lost": lost,
        "unexpected": sorted(f"{number} in space {space[:8]}" for space, number in held.keys() - to_book.keys()),
        "parked": group_reasons(parked),
        "pending": sorted(f"{e.document_number} ({e.event_id})" for e in rows if e.state == "PENDING"),
        "outcomes": dict(Counter(p.outcome for p in planned)),
        "off_by_a_cent": _off(state.bookings, to_book),
        "not_skipped": _not_skipped(planned, rows),
        "not_parked": _not_parked(planned, parked),
        **_attachments(state, to_book),
        **_payments(state),
    }


def _off(bookings: dict[str, list[Booking]], to_book: dict[tuple[str, str], Planned]) -> list[str]:
    wrong = []
    for space, books in bookings.items():
        for booking in books:
            planned = to_book.get((space, booking.number))
            if planned is None:
                continue
            if booking.direction != planned.direction:
                wrong.append(f"{booking.number}: booked as a {booking.direction}, a {planned.direction} in Banqup")
            if booking.total != planned.total:
                wrong.append(f"{booking.number}: total {booking.total} booked, {planned.total} in Banqup")
            for what, got, want in (("net", booking.net, planned.net), ("VAT", booking.vat, planned.vat)):
                if _nonzero(got) != _nonzero(want):
                    wrong.append(f"{booking.number}: {what} per rate {_show(got)} booked, {_show(want)} in Banqup")
    return wrong


def _nonzero(per_rate: dict[Decimal, Decimal]) -> dict[Decimal, Decimal]:
    return {rate.normalize(): amount for rate, amount in per_rate.items() if amount}


def _show(per_rate: dict[Decimal, Decimal]) -> str:
    return ", ".join(f"{rate.normalize():f} %: {amount}" for rate, amount in sorted(_nonzero(per_rate).items()))


def _not_skipped(planned: list[Planned], rows: list[LedgerEntry]) -> list[str]:
    skipped = {e.document_number: e.reason for e in rows if e.state == "SKIPPED" and e.reason}
    skipped |= {e.event_id.rsplit(":", 1)[-1]: e.reason for e in rows if e.state == "SKIPPED" and e.reason}
    return [f"{p.kind} {p.file_id}" for p in planned if p.outcome == "skipped" and p.file_id not in skipped]


def _not_parked(planned: list[Planned], parked: list[LedgerEntry]) -> list[str]:
    reasons = {e.document_number: e.reason for e in parked} | {e.event_id.rsplit(":", 1)[-1]: e.reason for e in parked}
    wrong = []
    for p in planned:
        if p.outcome not in ("unreadable", "refused"):
            continue
        reason = reasons.get(p.file_id) or reasons.get(p.number, "")
        if not reason.strip():
            wrong.append(f"{p.kind} {p.file_id}: not parked")
        elif p.outcome == "unreadable" and SOURCE_PROBLEM not in reason:
            wrong.append(f"{p.kind} {p.file_id}: parked as {reason[:80]!r}, not as unreadable")
    return wrong


def _attachments(state: FinalState, to_book: dict[tuple[str, str], Planned]) -> dict[str, Any]:
    if not state.takes_files:
        return {"attachments": {"target takes no files": 0}, "attachments_wrong": []}
    kept = [b for space, books in state.bookings.items() for b in books if b.attachments is not None]
    counts = Counter(b.attachments for b in kept)
    wrong = [f"{b.number}: {b.attachments} originals" for b in kept if b.attachments != 1]
    return {"attachments": {"attached once": counts.get(1, 0), "otherwise": len(wrong)}, "attachments_wrong": wrong}


def _payments(state: FinalState) -> dict[str, Any]:
    marks: Counter[str] = Counter(m["fileId"] for m in state.marks if m["action"] == "mark-as-paid")
    wrong = []
    for file_id, amount in sorted(state.paid.items()):
        document = state.documents.get(file_id)
        shown = document.paid if document is not None else ZERO
        if shown != amount or marks[file_id] != 1:
            wrong.append(f"{file_id}: {amount} paid in the target, {shown} in Banqup, marked {marks[file_id]}×")
    wrong += [
        f"{file_id}: marked paid, never paid in the target" for file_id in sorted(marks.keys() - state.paid.keys())
    ]
    once = sum(1 for file_id in state.paid if marks[file_id] == 1)
    return {"payments": {"paid in the target": len(state.paid), "marked once": once}, "payments_wrong": wrong}
