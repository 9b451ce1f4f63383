"""Deliver's purchase path: a supplier's invoice or a receipt booked as the target's purchase booking, exactly once.

The outbox is the sales path's (``services/deliver.py``). What differs:
- the party is a supplier, found by VAT number, then registration number, then name, and created once (its keys
  are reserved like a new customer's);
- the natural key is the supplier's own invoice number, which is unique per supplier only;
- the original file (the supplier's PDF, the UBL) is attached afterwards, from its claim check; a crash in between
  finds the booking by its natural key and attaches again, which the target makes a no-op for a file it holds.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from koppel.booking import plan_booking
from koppel.connectors.contract import AttachedFile, AttachmentTarget, PurchaseTarget
from koppel.errors import MappingError
from koppel.services.deliver import DeliveryResult, ensure_linked

if TYPE_CHECKING:
    from koppel.model import DocumentEvent, ExternalRef, Party, SalesDocument
    from koppel.ports import LedgerEntry
    from koppel.services.deliver import DeliverDeps

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def supplier_keys(party: Party) -> list[str]:
    """How a supplier is remembered, in the order it is looked up: VAT number, registration number, name."""
    keys = [
        f"supplier:vat:{_NOT_ALNUM.sub('', party.vat_number.lower())}" if party.vat_number.strip() else "",
        f"supplier:coc:{_NOT_ALNUM.sub('', party.coc_number.lower())}" if party.coc_number.strip() else "",
        f"supplier:name:{' '.join(party.name.lower().split())}",
    ]
    return [key for key in keys if key]


def book_purchase(event: DocumentEvent, entry: LedgerEntry, deps: DeliverDeps) -> DeliveryResult:
    doc = event.payload
    target = deps.target
    if not isinstance(target, PurchaseTarget):
        raise MappingError(
            f"{deps.target_name} takes no purchase invoices from Koppel: book {doc.party.name}'s invoice {doc.number} "
            "by hand, or send purchases to a target that takes them"
        )
    booking = plan_booking(doc)
    supplier, _ = ensure_linked(
        event.connection_id,
        supplier_keys(doc.party),
        lambda: target.find_supplier(doc.party),
        lambda: target.create_supplier(doc.party),
        doc.party.name,
        deps,
    )
    existing = target.find_purchase(booking, supplier)
    ref = existing or target.post_purchase(booking, supplier, entry.request_id)
    notes = [*_attach_originals(doc, ref, deps), *(f"review: {item}" for item in doc.review)]
    posted = deps.ledger.mark_posted(entry, ref, deps.clock(), note="; ".join(notes))
    return DeliveryResult("found_in_target" if existing else "posted", posted, ref=ref)


def _attach_originals(doc: SalesDocument, ref: ExternalRef, deps: DeliverDeps) -> list[str]:
    """Attach every original file where the target takes files; otherwise say so in the booked row's note."""
    if not doc.attachments:
        return []
    if not isinstance(deps.target, AttachmentTarget) or deps.files is None:
        names = ", ".join(a.filename for a in doc.attachments)
        return [f"original not attached ({deps.target_name} takes no files from Koppel): {names}"]
    for attachment in doc.attachments:
        data = deps.files.read(attachment)
        deps.target.attach(ref, AttachedFile(attachment.filename, attachment.content_type, data))
    return []
