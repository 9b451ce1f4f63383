"""What a Pipedrive → QuickBooks Online chaos run found, read from the final state of Pipedrive, QuickBooks and the
ledger (not from what Koppel believes it did): a deal is expected when it has a person or an organization (the
others must be refused), and booked when QuickBooks holds an invoice with its number ``PD-<deal id>``. Totals are
compared per VAT rate with what the deal must become (``scenarios.expected``); an invoice paid in QuickBooks must
show its state on the deal; and no refresh token may have been presented twice at either token endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.chaos.report import ChaosReport, Row, group_reasons, pairs
from devkit.sandboxes.quickbooks.seed import DUTCH_PERCENT_OF_RATE, DUTCH_RATE_OF_CODE

if TYPE_CHECKING:
    from devkit.koppelingen.pipedrive_quickbooks.scenarios import Expected
    from koppel.ports import LedgerEntry

STATE_WORDS = {"paid": "Paid", "partially_paid": "Partially paid"}


@dataclass(kw_only=True)
class PipedriveChaosReport(ChaosReport):
    total_mismatches: list[str] = field(default_factory=list)
    """Invoices whose net or VAT per rate, or total, differ from their deal's."""
    status_disagreements: list[str] = field(default_factory=list)
    """Paid or partly paid invoices whose deal does not say so."""
    refused_booked: list[str] = field(default_factory=list)
    """Deals with nobody to invoice that were booked anyway."""
    refresh_reused: list[str] = field(default_factory=list)
    """Refresh tokens presented more than once (QuickBooks' ``refresh_uses``, Pipedrive's ``refresh_token_uses``)."""
    refreshes: dict[str, int] = field(default_factory=dict)
    presses: dict[str, int] = field(default_factory=dict)
    webhooks: dict[str, int] = field(default_factory=dict)
    payment_wave: dict[str, int] = field(default_factory=dict)
    refused: int = 0

    def checks(self) -> dict[str, list[str]]:
        return {
            "totals or VAT off by a cent": self.total_mismatches,
            "payment state not on the deal": self.status_disagreements,
            "deals without contacts booked": self.refused_booked,
            "refresh tokens used twice": self.refresh_reused,
        }

    def rows(self) -> list[Row]:
        return [
            ("refused (nobody to invoice)", str(self.refused), "answered 422 with the reason, never booked"),
            ("token refreshes", str(sum(self.refreshes.values())), pairs(self.refreshes)),
            ("button presses", str(sum(self.presses.values())), pairs(self.presses)),
            ("won-deal webhooks", str(self.webhooks.get("posted", 0)), pairs(self.webhooks)),
            ("payment wave", str(sum(self.payment_wave.values())), pairs(self.payment_wave)),
        ]

    def summary(self) -> str:
        reused, refreshes = len(self.refresh_reused), sum(self.refreshes.values())
        return f"{super().summary()}; refreshes {refreshes}, refresh tokens used twice {reused}"


@dataclass
class FinalState:
    """Everything the report reads, taken once after the final drain."""

    deals: dict[int, Expected]
    """Every deal with contacts → the invoice it must become."""
    refused: set[int]
    invoices: list[dict[str, Any]]
    duplicates: list[str]
    statuses: dict[int, str]
    """Deal → its "Invoice status" field."""
    parked: list[LedgerEntry]
    pending: list[LedgerEntry]
    refresh_uses: dict[str, dict[str, int]]
    """Vendor → refresh token → presentations."""


def figures(state: FinalState) -> dict[str, Any]:
    """The comparisons of the report, as keyword arguments of PipedriveChaosReport."""
    should = {f"PD-{deal}" for deal in state.deals}
    booked = {str(invoice.get("DocNumber")) for invoice in state.invoices}
    parked = {entry.document_number for entry in state.parked}
    mismatches, disagreements = [], []
    for invoice in state.invoices:
        number = str(invoice.get("DocNumber"))
        deal = int(number.removeprefix("PD-")) if number.removeprefix("PD-").isdigit() else 0
        want = state.deals.get(deal)
        if want is None:
            continue
        if (problem := off(invoice, want)) is not None:
            mismatches.append(f"{number}: {problem}")
        total, balance = Decimal(str(invoice["TotalAmt"])), Decimal(str(invoice["Balance"]))
        state_word = "Paid" if balance <= 0 else "Partially paid" if balance < total else ""
        if state_word and f" · {state_word} · " not in state.statuses.get(deal, ""):
            disagreements.append(f"{number} {state_word}, deal says {state.statuses.get(deal, '')!r}")
    return {
        "expected": len(should),
        "expected_means": "deals with a person or an organization",
        "booked": len(booked),
        "duplicates": state.duplicates,
        "lost": sorted(should - booked - parked),
        "unexpected": sorted(booked - should - {f"PD-{d}" for d in state.refused}),
        "refused_booked": sorted(booked & {f"PD-{d}" for d in state.refused}),
        "parked": group_reasons(state.parked),
        "pending": sorted(e.document_number for e in state.pending),
        "total_mismatches": mismatches,
        "status_disagreements": disagreements,
        "refreshes": {vendor: sum(uses.values()) for vendor, uses in state.refresh_uses.items()},
        "refresh_reused": sorted(
            f"{vendor} {token[:10]}… ({count}×)"
            for vendor, uses in state.refresh_uses.items()
            for token, count in uses.items()
            if count > 1
        ),
    }


def off(invoice: dict[str, Any], want: Expected) -> str | None:
    """How a booked invoice differs from what its deal must become, per VAT rate; None when it agrees to the cent."""
    net: dict[Decimal, Decimal] = {}
    for line in invoice["Line"]:
        if line["DetailType"] == "SalesItemLineDetail":
            rate = DUTCH_RATE_OF_CODE.get(line["SalesItemLineDetail"]["TaxCodeRef"]["value"], Decimal(-1))
            net[rate] = net.get(rate, Decimal(0)) + Decimal(str(line["Amount"]))
    vat: dict[Decimal, Decimal] = {}
    for line in (invoice.get("TxnTaxDetail") or {}).get("TaxLine") or []:
        rate = DUTCH_PERCENT_OF_RATE.get(line["TaxLineDetail"]["TaxRateRef"]["value"], Decimal(-1))
        vat[rate] = vat.get(rate, Decimal(0)) + Decimal(str(line["Amount"]))
    total = Decimal(str(invoice["TotalAmt"]))
    if _nonzero(net) == _nonzero(want.net) and _nonzero(vat) == _nonzero(want.vat) and total == want.total:
        return None
    booked = f"net {_shown(net)}, VAT {_shown(vat)}, total {total}"
    return f"booked {booked}; expected net {_shown(want.net)}, VAT {_shown(want.vat)}, total {want.total}"


def _nonzero(values: dict[Decimal, Decimal]) -> dict[Decimal, Decimal]:
    return {rate: amount for rate, amount in values.items() if amount}


def _shown(values: dict[Decimal, Decimal]) -> str:
    return ", ".join(f"{rate.normalize():f}%: {amount}" for rate, amount in sorted(_nonzero(values).items()))
