"""Bizzcloud as the target of payment status carried back from the accounting package (its write-back queue)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from koppel.connectors.bizzcloud.fields import VENDOR, decimal
from koppel.connectors.bizzcloud.mapping import SOURCE
from koppel.errors import PermanentError
from koppel.model import ExternalRef
from koppel.money import cents

if TYPE_CHECKING:
    from koppel.connectors.bizzcloud.client import Odoo
    from koppel.model import PaymentStatus


class BizzcloudWriteBack:
    """Payment status from the accounting package, registered on the Bizzcloud invoice with Odoo's own
    register-payment wizard (so Odoo reconciles it and sets the invoice's payment state itself)."""

    name: ClassVar[str] = SOURCE

    def __init__(self, odoo: Odoo, payment_journal: str) -> None:
        self.odoo = odoo
        self.payment_journal = payment_journal

    def apply_payment_status(self, status: PaymentStatus) -> ExternalRef:
        """Bring the invoice's open amount down to the one the books show; a repeat finds nothing left to do."""
        if not status.source_id or not status.source_id.isdigit():
            raise PermanentError(f"payment status for {status.document_number} names no Bizzcloud invoice id")
        move_id = int(status.source_id)
        move = self.odoo.read("account.move", [move_id], ["name", "state", "amount_residual"]).get(move_id)
        if move is None:
            raise PermanentError(f"invoice {status.document_number} no longer exists in {VENDOR}: nothing to mark paid")
        ref = ExternalRef(system=SOURCE, id=str(move_id), number=str(move.get("name") or status.document_number))
        residual = decimal(move.get("amount_residual"))
        payment = residual - cents(status.amount_open)
        if payment == 0:
            return ref
        if payment < 0:
            raise PermanentError(
                f"the accounting package shows {cents(status.amount_open)} open on {ref.number} but {VENDOR} only "
                f"{residual}: a payment was undone there; correct the payment in {VENDOR} by hand"
            )
        if move.get("state") != "posted":
            raise PermanentError(f"invoice {ref.number} is {move.get('state')} in {VENDOR}: it cannot take a payment")
        values: dict[str, Any] = {"amount": payment, "payment_date": status.updated_at.date().isoformat()}
        values["communication"] = f"{ref.number} (betaling uit de boekhouding)"
        journal = self._journal()
        if journal is not None:
            values["journal_id"] = journal
        context = {"active_model": "account.move", "active_ids": [move_id]}
        wizard = self.odoo.execute("account.payment.register", "create", [values], context=context)
        self.odoo.execute("account.payment.register", "action_create_payments", [[wizard]])
        return ref

    def _journal(self) -> int | None:
        rows = self.odoo.search_read("account.journal", [("code", "=", self.payment_journal)], ["id"])
        return int(rows[0]["id"]) if rows else None
