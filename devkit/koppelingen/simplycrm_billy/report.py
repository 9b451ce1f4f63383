"""What a Simply CRM ↔ Billy chaos run found, read from the final state of both sandboxes, Koppel's record links and
its ledger (devkit.koppelingen.simplycrm_billy.chaos reads them once the queues are empty):

- duplicates: a natural key (an e-mail, a product number, a name) held by two live records on one side;
- lost: a record the workload made that the other side does not hold, though it was not deleted;
- re-created: a record that is back on the side where it was deleted (a deletion is reported, never carried);
- differing: a field that differs between the two records of a link, neither deleted (a product made in Billy
  keeps its number there while Simply CRM numbers its copy itself: shown apart, as Simply CRM's README says);
- conflicts: the same field changed differently on both sides between two polls must end with Simply CRM's value
  on both sides (unless a later edit changed it again);
- echo writes: what either side received during two syncs after the last change (must be none: no ping-pong);
- invoices booked once in Billy, to Simply CRM's grand total, and those paid in Billy marked Paid in the CRM.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from devkit.chaos.report import ChaosReport, Row, group_reasons, pairs
from devkit.koppelingen.simplycrm_billy.scenarios import BILLY, CRM, KINDS

if TYPE_CHECKING:
    from datetime import datetime

    from devkit.koppelingen.simplycrm_billy.scenarios import Made
    from koppel.ports import LedgerEntry
    from koppel.records import RecordLink

PAID = "Paid"
CENT = Decimal("0.01")


@dataclass(kw_only=True)
class CrmChaosReport(ChaosReport):
    unit: str = "records"
    linked: dict[str, int] = field(default_factory=dict)
    differing: list[str] = field(default_factory=list)
    known_differences: list[str] = field(default_factory=list)
    recreated: list[str] = field(default_factory=list)
    echo: list[str] = field(default_factory=list)
    """Writes either side received during the two syncs after the last change."""
    conflicts: dict[str, int] = field(default_factory=dict)
    conflicts_lost: list[str] = field(default_factory=list)
    edits: dict[str, int] = field(default_factory=dict)
    invoices: dict[str, int] = field(default_factory=dict)
    invoice_problems: list[str] = field(default_factory=list)
    payments: dict[str, int] = field(default_factory=dict)
    payments_missing: list[str] = field(default_factory=list)
    leased: int = 0
    """Record changes of a killed run, PENDING until their lease runs out (their link was saved)."""

    def checks(self) -> dict[str, list[str]]:
        return {
            "re-created after a deletion": self.recreated,
            "fields differing between linked records": self.differing,
            "conflicts Simply CRM did not win": self.conflicts_lost,
            "echo writes after the last change": self.echo,
            "invoices not booked once, or off": self.invoice_problems,
            "payments not carried back": self.payments_missing,
        }

    def rows(self) -> list[Row]:
        return [
            ("linked pairs", str(sum(self.linked.values())), pairs(self.linked)),
            ("changes made", str(sum(self.edits.values())), pairs(self.edits)),
            ("conflicts", str(self.conflicts.get("made", 0)), pairs(self.conflicts)),
            ("invoices", str(self.invoices.get("made", 0)), pairs(self.invoices)),
            ("payments", str(self.payments.get("paid in Billy", 0)), pairs(self.payments)),
            ("killed mid-change, lease running", str(self.leased), "PENDING until a run after the lease reads it"),
            ("differing by design", str(len(self.known_differences)), "; ".join(self.known_differences[:5])),
        ]

    def summary(self) -> str:
        linked, differing, echo = sum(self.linked.values()), len(self.differing), len(self.echo)
        return (
            f"{super().summary()}; linked {linked}, differing {differing}, echo writes {echo}, "
            f"conflicts {self.conflicts.get('Simply CRM held', 0)}/{self.conflicts.get('checked', 0)} held, "
            f"invoices booked {self.invoices.get('booked once', 0)}/{self.invoices.get('made', 0)}"
        )


@dataclass
class FinalState:
    """Everything the report reads, taken once after the last sync."""

    made: Made
    index: dict[tuple[str, str], dict[str, str]]
    """(kind, natural key) → {side: id} of the live records, by the sandboxes' own data."""
    records: dict[str, dict[str, dict[str, dict[str, str]]]]
    """kind → side → id → its canonical fields, as Koppel reads them."""
    names: dict[str, list[str]]
    """kind → the fields both sides hold (what is synced)."""
    links: dict[str, list[RecordLink]]
    duplicates: list[str]
    echo: list[str]
    crm_invoices: dict[str, dict[str, Any]]
    """Invoice number → the CRM invoice."""
    billy_invoices: list[dict[str, Any]]
    history: list[LedgerEntry]
    now: datetime


def figures(state: FinalState) -> dict[str, Any]:
    """The comparisons of the report, as keyword arguments of CrmChaosReport."""
    made = state.made
    lost, recreated = [], []
    for p in made.records:
        held = state.index.get((p.kind, p.key), {})
        for side in (CRM, BILLY):
            if side == p.deleted_on and side in held:
                recreated.append(f"{p.kind} {p.key} in {side}")
            elif side != p.deleted_on and side not in held:
                lost.append(f"{p.kind} {p.key} (made in {p.made_on}) missing in {side}")
    differing, known = _differing(state)
    parked = [e for e in state.history if e.state == "PARKED"]
    # a record change whose run was killed stays PENDING until its lease (5 minutes) runs out and a later run
    # reads it again; its link was saved before the kill, so only a row past its lease is stuck
    pending = [e for e in state.history if e.state == "PENDING" and e.lease_until <= state.now]
    leased = [e for e in state.history if e.state == "PENDING" and e.lease_until > state.now]
    conflicts, conflicts_lost = _conflicts(state)
    invoices, invoice_problems = _invoices(state, {e.document_number for e in parked})
    missing = sorted(n for n in made.paid if state.crm_invoices.get(n, {}).get("invoicestatus") != PAID)
    return {
        "sent": len(made.records),
        "by_kind": dict(made.counts),
        "expected": len(made.records),
        "expected_means": "records made, each to be held on both sides (bar a side that deleted it)",
        "booked": sum(len(links) for links in state.links.values()),
        "linked": {kind: len(links) for kind, links in state.links.items()},
        "duplicates": state.duplicates,
        "lost": lost,
        "unexpected": [],
        "recreated": recreated,
        "parked": group_reasons(parked),
        "pending": sorted(e.event_id for e in pending),
        "leased": len(leased),
        "differing": differing,
        "known_differences": known,
        "echo": state.echo,
        "conflicts": conflicts,
        "conflicts_lost": conflicts_lost,
        "edits": dict(made.edits),
        "invoices": invoices,
        "invoice_problems": invoice_problems,
        "payments": {"paid in Billy": len(made.paid), "Paid in Simply CRM": len(made.paid) - len(missing)},
        "payments_missing": missing,
    }


def _differing(state: FinalState) -> tuple[list[str], list[str]]:
    differing, known = [], []
    billy_products = {p.key for p in state.made.records if p.kind == "product" and p.made_on == BILLY}
    for kind in KINDS:
        held = state.records.get(kind, {})
        for link in state.links.get(kind, []):
            if link.deleted:
                continue
            crm, billy = held.get(CRM, {}).get(link.ids[CRM]), held.get(BILLY, {}).get(link.ids[BILLY])
            if crm is None or billy is None:
                continue  # deleted since: the report's ``recreated`` and ``lost`` look at those
            for name in state.names.get(kind, []):
                if crm.get(name, "") == billy.get(name, ""):
                    continue
                pair = f"{kind} {link.ids[CRM]}/{link.ids[BILLY]}"
                said = f"{pair} {name}: {crm.get(name, '')!r} ≠ {billy.get(name, '')!r}"
                numbered = name == "product_number" and billy.get(name, "") in billy_products
                (known if numbered else differing).append(said)
    return differing, known


def _conflicts(state: FinalState) -> tuple[dict[str, int], list[str]]:
    from koppel.records import SyncRecord

    lost, checked = [], 0
    for c in state.made.conflicts:
        planned = next(p for p in state.made.records if p.key == c.key and p.kind == c.kind)
        ids = state.index.get((c.kind, c.key), {})
        if planned.deleted_on or len(ids) < 2 or state.made.touched[(c.key, c.field)] != c.edits:
            continue
        checked += 1
        want = SyncRecord(kind=c.kind, ident="-", fields={c.field: c.values[CRM]}).value(c.field)  # type: ignore[arg-type]
        held = {side: state.records.get(c.kind, {}).get(side, {}).get(ids[side], {}).get(c.field, "") for side in ids}
        if set(held.values()) != {want}:
            lost.append(f"{c.kind} {c.key} {c.field}: Simply CRM gave {want!r}, now {held}")
    noted = sum(1 for e in state.history if "conflict on" in e.reason)
    figures = {"made": len(state.made.conflicts), "checked": checked, "Simply CRM held": checked - len(lost)}
    return figures | {"in Koppel's history": noted}, lost


def _invoices(state: FinalState, parked: set[str]) -> tuple[dict[str, int], list[str]]:
    numbers = set(state.made.invoices.values())
    booked = Counter(
        str(i.get("invoiceNo")) for i in state.billy_invoices
        if str(i.get("invoiceNo")) in numbers and i.get("type", "invoice") == "invoice" and i["state"] == "approved"
    )  # fmt: skip
    problems = [f"{n} booked {count} times" for n, count in sorted(booked.items()) if count > 1]
    problems += [f"{n} not booked" for n in sorted(numbers - set(booked) - parked)]
    # an invoice booked in Billy is not sent back to the CRM, and Billy holds only the CRM's (no echo either way)
    problems += [f"Simply CRM holds {n}, which the run did not make" for n in sorted(set(state.crm_invoices) - numbers)]
    problems += [f"Billy holds {i.get('invoiceNo')}, which the run did not make" for i in state.billy_invoices
                 if str(i.get("invoiceNo")) not in numbers]  # fmt: skip
    reconciled = 0
    for invoice in state.billy_invoices:
        crm = state.crm_invoices.get(str(invoice.get("invoiceNo")))
        if crm is None or invoice["state"] != "approved":
            continue
        total = Decimal(str(crm.get("hdnGrandTotal") or 0)).quantize(CENT, rounding=ROUND_HALF_UP)
        if Decimal(str(invoice["grossAmount"])) == total:
            reconciled += 1
        else:
            problems.append(f"{invoice['invoiceNo']}: Billy {invoice['grossAmount']}, CRM {crm.get('hdnGrandTotal')}")
    figures = {"made": len(numbers), "booked once": sum(1 for c in booked.values() if c == 1)}
    return figures | {"to the cent": reconciled, "parked": len(numbers & parked)}, problems
