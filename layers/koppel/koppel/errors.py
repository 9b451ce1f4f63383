"""The error taxonomy every connector maps vendor answers into.

- RetryableError: try again later (429, 5xx, timeouts, a record in flight elsewhere); the message goes back
  to the queue and is retried with backoff that honours ``retry_after``.
- PermanentError: the target will never take this as it is (validation); the record is parked with the
  vendor's own message and shown on the connection's status until a person fixes the cause and replays it.
- AuthError: credentials are wrong or revoked; the connection turns red with "reconnect" as the action.
- InputError: bad input at our edge (webhook body, signature, CLI argument, config); answered with 4xx or a
  non-zero exit and a sentence that says what to do. Never enqueued.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from decimal import Decimal

    from koppel.ports import ParkReason


class KoppelError(Exception):
    """Base class: ``str(error)`` is a sentence a person can act on."""


class RetryableError(KoppelError):
    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class PermanentError(KoppelError):
    def __init__(self, message: str, *, status: int | None = None, vendor_message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.vendor_message = vendor_message


class UnbalancedDocumentError(PermanentError):
    """The source document's own parts do not add up to its total."""

    def __init__(self, message: str, *, difference: Decimal) -> None:
        super().__init__(message)
        self.difference = difference


class MappingError(PermanentError):
    """The connection's mapping has no place for this record (an unknown VAT rate, a missing ledger)."""


class AuthError(KoppelError):
    """Credentials rejected or revoked: the connection needs to be reconnected."""


class InputError(KoppelError):
    """Bad input at our edge; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class SignatureError(InputError):
    """401. ``check``: which check failed, in plain words, where a door may say it (the app extension's JWT)."""

    def __init__(self, message: str, *, check: str = "") -> None:
        super().__init__(message, status=401)
        self.check = check


class NotFoundError(InputError):
    def __init__(self, message: str) -> None:
        super().__init__(message, status=404)


def park_reason(error: PermanentError) -> ParkReason:
    """The class of a parked record's reason, for metrics (the message itself goes to the ledger): ``unbalanced``
    (the source's own totals do not add up: fix it in the source), ``mapping`` (the connection's mapping has no place
    for it: fix the mapping), ``vendor`` (the target refused it with its own message) or ``other``."""
    if isinstance(error, UnbalancedDocumentError):
        return "unbalanced"
    if isinstance(error, MappingError):
        return "mapping"
    return "vendor" if error.status is not None or error.vendor_message else "other"
