"""A connection's Simply CRM settings (``Connection.source_settings``, or its ``target_settings`` when Simply CRM is the
target): where the CRM is, which module is the customer on invoices, which invoice statuses are booked, how records
map onto Simply CRM's fields, and, as a target, where the other system's number goes and the status written.
README.md in this folder has the API facts and the standard mapping."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from koppel.model import Currency
from koppel.records import RECORD_FIELDS, RecordKind

CustomerModule = Literal["Accounts", "Contacts"]
FieldMap = dict[str, str]
"""Canonical field (``koppel.records.RECORD_FIELDS``) → Simply CRM field name (``accountname``, ``cf_701``)."""


class SimplyCrmSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(pattern=r"^https?://[^/\s]+")
    """The CRM's address, e.g. https://mijnbedrijf.simply-crm.com; ``/webservice.php`` is added to it."""
    customer_module: CustomerModule = "Accounts"
    """Who is invoiced: the invoice's organization (``account_id``, Accounts) or its contact (``contact_id``)."""
    final_statuses: tuple[str, ...] = Field(default=("Approved", "Sent", "Paid"), min_length=1)
    """Invoice statuses that mean "final": only invoices in one of these (or a credit status) are booked."""
    credit_statuses: tuple[str, ...] = ("Credit Invoice",)
    """Invoice statuses that make the invoice a credit note (booked with its amounts negated)."""
    paid_status: str = Field(default="Paid", min_length=1)
    """The status the write-back sets once the accounting package says the invoice is paid in full."""
    currency: Currency = "EUR"
    """The CRM's base currency: vtiger names an invoice's currency by a record id, not by its code."""
    mapping: Literal["standard", "custom"] = "standard"
    fields: dict[RecordKind, FieldMap] = Field(default_factory=dict)
    """The custom mapping, per kind (a kind left out keeps the standard mapping); checked against ``describe``
    when saved (``check_mapping``) and again before Koppel writes with it."""
    vat_field: str = ""
    """Standard mapping: the Organizations field holding the VAT number (stock vtiger has none: a ``cf_NNN``)."""
    registration_field: str = ""
    """Standard mapping: the Organizations field holding the chamber of commerce number (a ``cf_NNN``)."""
    number_field: str = Field(default="subject", min_length=1)
    """Target: the Invoice field that holds the other system's document number, which Koppel sets and looks a
    document up by (vtiger numbers invoices itself: ``invoice_no`` is read-only). ``subject`` (stock, mandatory)
    holds ``<number_prefix><number>`` (``Billy 2026-0005``); a custom field (``cf_NNN``) holds the bare number."""
    number_prefix: str | None = None
    """Target: what precedes the number in ``subject``; None: the source's name and a space (``Billy ``)."""
    invoice_status: str = Field(default="Approved", min_length=1)
    """Target: the status an invoice is created with (a credit note gets the first of ``credit_statuses``)."""
    sync_type: Literal["application", "user"] = "application"
    """vtiger ``sync``: every record (``application``) or only those the connected user owns (``user``)."""

    @model_validator(mode="after")
    def _mapping_is_whole(self) -> Self:
        if self.mapping == "custom" and not self.fields:
            raise ValueError("mapping custom needs fields: {kind: {canonical field: Simply CRM field}}")
        if self.mapping == "standard" and self.fields:
            raise ValueError("fields are read only with mapping custom: set mapping to custom, or leave fields out")
        for kind, names in self.fields.items():
            unknown = sorted(set(names) - set(RECORD_FIELDS[kind]))
            if unknown:
                raise ValueError(
                    f"{kind} has no canonical field {', '.join(unknown)}; it has {', '.join(RECORD_FIELDS[kind])}"
                )
            empty = sorted(name for name, field in names.items() if not field.strip())
            if empty:
                raise ValueError(f"{kind}: map {', '.join(empty)} to a Simply CRM field, or leave it out")
        if self.invoice_status in self.credit_statuses:
            raise ValueError(f"invoice_status {self.invoice_status} is a credit status: choose an invoice status")
        overlap = set(self.final_statuses) & set(self.credit_statuses)
        if overlap:
            raise ValueError(f"{', '.join(sorted(overlap))} cannot be both a final and a credit status")
        return self
