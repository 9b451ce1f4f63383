"""Pipedrive as the target of invoice status carried back: a deal field (default "Invoice status") kept current
with the invoice's number, its status in words and what is open, e.g. "PD-1042 · Partially paid · EUR 121.00 open".

The field is found by name in the company's deal fields, or made (a text field) when the company has none; its
key (a 40-character hash, different per company) is remembered per connection in this process. The deal is read
first and written only when the text differs, so a repeat changes nothing (and fires no webhook).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from koppel.connectors.pipedrive.fields import VENDOR, custom_value
from koppel.errors import PermanentError
from koppel.inbound import ascii_digits
from koppel.model import PAYMENT_STATE_WORDS, ExternalRef
from koppel.money import cents

if TYPE_CHECKING:
    from koppel.connectors.pipedrive.client import PipedriveClient
    from koppel.connectors.pipedrive.settings import PipedriveSettings
    from koppel.model import PaymentStatus

SOURCE = "pipedrive"
_FIELD_KEYS: dict[tuple[str, str, str], str] = {}
"""(connection, API address, field name) → the field's key, for this process (a deal field list costs 20 tokens)."""


def status_text(status: PaymentStatus) -> str:
    """What the deal shows: ``PD-1042 · Partially paid · EUR 121.00 open``."""
    words = PAYMENT_STATE_WORDS[status.status]
    return f"{status.document_number} · {words} · {status.currency} {cents(status.amount_open)} open"


class PipedriveWriteBack:
    """``PaymentStatusWriter``: the invoice's status onto its deal."""

    name: ClassVar[str] = SOURCE

    def __init__(self, client: PipedriveClient, settings: PipedriveSettings, connection_id: str) -> None:
        self.client = client
        self.settings = settings
        self._cache_key = (connection_id, client.base_url, settings.invoice_status_field)

    def apply_payment_status(self, status: PaymentStatus) -> ExternalRef:
        """Keep the deal's status field current; a repeat finds nothing left to do."""
        deal_id = ascii_digits(status.source_id or "", f"the Pipedrive deal id of invoice {status.document_number}")
        ref = ExternalRef(system=SOURCE, id=deal_id, number=status.document_number)
        wanted = status_text(status)
        deal = self._deal(deal_id, status.document_number)
        key = self.field_key()
        if custom_value(deal.get("custom_fields"), key) == wanted:
            return ref
        try:
            self.client.call("PATCH", f"/api/v2/deals/{deal_id}", body={"custom_fields": {key: wanted}})
        except PermanentError as error:
            if error.status != 400:
                raise
            _FIELD_KEYS.pop(self._cache_key, None)  # the field may have been deleted and made again: look once more
            key = self.field_key()
            self.client.call("PATCH", f"/api/v2/deals/{deal_id}", body={"custom_fields": {key: wanted}})
        return ref

    def field_key(self) -> str:
        """The key of the status field, found by name or created as a text field."""
        cached = _FIELD_KEYS.get(self._cache_key)
        if cached:
            return cached
        name = self.settings.invoice_status_field
        key = next(
            (
                str(field["key"])
                for field in self.client.pages_v1("/v1/dealFields")
                if str(field.get("name", "")).strip().casefold() == name.casefold() and field.get("key")
            ),
            "",
        )
        if not key:
            made = self.client.call("POST", "/v1/dealFields", body={"name": name, "field_type": "varchar"})
            data = made.get("data") if isinstance(made, Mapping) else None
            key = str(data.get("key") or "") if isinstance(data, Mapping) else ""
            if not key:
                raise PermanentError(f"{VENDOR} made the deal field {name!r} but answered no key for it")
        _FIELD_KEYS[self._cache_key] = key
        return key

    def _deal(self, deal_id: str, number: str) -> Mapping[str, object]:
        try:
            deal = self.client.data(f"/api/v2/deals/{deal_id}")
        except PermanentError as error:
            if error.status == 404:
                raise PermanentError(
                    f"deal {deal_id} of invoice {number} no longer exists in {VENDOR}: its status cannot be shown",
                    status=404, vendor_message=error.vendor_message,
                ) from error  # fmt: skip
            raise
        if not isinstance(deal, Mapping):
            raise PermanentError(f"{VENDOR} answered GET deal {deal_id} with something that is not a deal")
        return deal
