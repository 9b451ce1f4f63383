"""What a CCV Shop → SnelStart chaos run found, read from the final state of the shop, SnelStart and the ledger
(not from what Koppel believes it did): an order is expected when it ended completed (status 7) and paid, and
booked when SnelStart holds a booking with its order number."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from devkit.chaos.report import ChaosReport, Row, group_reasons, pairs

if TYPE_CHECKING:
    from koppel.ports import LedgerEntry

COMPLETED = 7


@dataclass(kw_only=True)
class SnelstartChaosReport(ChaosReport):
    duplicate_customers: list[str] = field(default_factory=list)
    """E-mail addresses with more than one relatie in SnelStart (not a double booking, but worth knowing)."""
    webhooks: dict[str, int] = field(default_factory=dict)
    taken_over: int = 0
    """POSTED ledger rows that a later attempt took over (after a kill, a timeout or a retryable failure)."""
    by_poll_only: int = 0
    """Bookings of orders whose webhooks never arrived: only the scheduled poll could bring them."""

    def rows(self) -> list[Row]:
        return [
            ("bookings finished by a later attempt", str(self.taken_over), "the outbox row was taken over"),
            ("webhooks", str(self.webhooks.get("posted", 0)), pairs(self.webhooks)),
            ("booked by a poll only", str(self.by_poll_only), "orders whose webhooks never arrived"),
            ("duplicate customers", str(len(self.duplicate_customers)), ", ".join(self.duplicate_customers)),
        ]


def figures(
    orders: list[dict[str, Any]],
    bookings: list[dict[str, Any]],
    relations: list[dict[str, Any]],
    parked: list[LedgerEntry],
    pending: list[LedgerEntry],
) -> dict[str, Any]:
    """The comparisons of the report, as keyword arguments of SnelstartChaosReport."""
    should = {o["ordernumber_full"] for o in orders if o["status"] == COMPLETED and o["paid"]}
    booked = {str(b["factuurnummer"]) for b in bookings}
    parked_numbers = {e.document_number for e in parked}
    emails = Counter(str(r.get("email") or "").casefold() for r in relations if r.get("email"))
    return {
        "expected": len(should),
        "expected_means": "completed (status 7) and paid",
        "booked": len(booked),
        "lost": sorted(should - booked - parked_numbers),
        "unexpected": sorted(booked - should),
        "parked": group_reasons(parked),
        "pending": sorted(e.document_number for e in pending),
        "duplicate_customers": sorted(email for email, count in emails.items() if count > 1),
    }
