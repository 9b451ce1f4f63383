"""QuickBooks' change data capture: which invoices changed since a moment, deleted ones included, in one call.

``GET /cdc?entities=Invoice,Payment&changedSince=<ISO>`` answers every object of those kinds changed since then, up
to 30 days back and at most 1,000 objects per answer (verified: Intuit's change-data-capture page). A deleted
object comes as ``{"status": "Deleted", "Id", "MetaData"}`` without its DocNumber, so changes are matched by id.
Payments are asked for too: whether applying a payment also counts as a change of the invoice it pays is not
documented, so the invoices a changed payment names are read by id as well (one query per 50).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from koppel.connectors.quickbooks import mapping

if TYPE_CHECKING:
    from datetime import datetime

    from koppel.connectors.quickbooks.client import QuickbooksClient

REACH = timedelta(days=30) - timedelta(hours=1)
"""How far back QuickBooks answers, less a margin for the clocks of both sides."""
MOST_PER_ANSWER = 1000
_IN_CHUNK = 50


@dataclass(frozen=True)
class Changed:
    invoices: list[dict[str, Any]]
    """Every changed invoice as QuickBooks holds it now."""
    deleted: list[str]
    """The ids of invoices deleted since."""


def read_changes(client: QuickbooksClient, since: datetime, now: datetime) -> Changed | None:
    """The invoices changed since ``since``; None when QuickBooks cannot answer it in one go (further back than it
    reaches, or a full answer, which may have left changes out): then every open invoice is read instead."""
    if now - since > REACH:
        return None
    answer = client.call("GET", "/cdc", params={"entities": "Invoice,Payment", "changedSince": since.isoformat()})
    rows = _objects(answer)
    if sum(len(found) for found in rows.values()) >= MOST_PER_ANSWER:
        return None
    invoices = rows.get("Invoice", [])
    deleted = [str(row.get("Id")) for row in invoices if row.get("status") == "Deleted"]
    current = [row for row in invoices if row.get("status") != "Deleted"]
    seen = {str(row.get("Id")) for row in invoices}
    named = sorted({ident for payment in rows.get("Payment", []) for ident in _invoices_paid(payment)} - seen)
    return Changed(current + _invoices_by_id(client, named), deleted)


def _objects(answer: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """``CDCResponse[].QueryResponse[].<Entity>[]`` gathered per entity, whatever the nesting left empty."""
    found: dict[str, list[dict[str, Any]]] = {}
    for response in answer.get("CDCResponse") or []:
        for query in (response or {}).get("QueryResponse") or []:
            for entity, rows in (query or {}).items():
                if isinstance(rows, list):
                    found.setdefault(entity, []).extend(row for row in rows if isinstance(row, dict))
    return found


def _invoices_paid(payment: dict[str, Any]) -> set[str]:
    return {
        str(link.get("TxnId"))
        for line in payment.get("Line") or []
        for link in (line or {}).get("LinkedTxn") or []
        if isinstance(link, dict) and link.get("TxnType") == "Invoice" and link.get("TxnId")
    }


def _invoices_by_id(client: QuickbooksClient, ids: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for start in range(0, len(ids), _IN_CHUNK):
        listed = ", ".join(mapping.quote(ident) for ident in ids[start : start + _IN_CHUNK])
        # QuickBooks' query language, not SQL: every id went through mapping.quote
        answer = client.query(f"SELECT * FROM Invoice WHERE Id IN ({listed}) MAXRESULTS 1000")  # nosec B608
        found += [row for row in answer.get("Invoice") or [] if isinstance(row, dict)]
    return found
