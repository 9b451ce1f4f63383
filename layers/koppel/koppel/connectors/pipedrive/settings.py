"""A connection's Pipedrive settings (``Connection.source_settings``), one set per Pipedrive company: the choices
Pipedrive's own QuickBooks app offers (who the invoice is to, the due date, the currency, the number), where to reach
Pipedrive, and whether a won deal makes an invoice by itself. README.md in this folder has the API facts."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

DOC_NUMBER_MAX = 21
"""QuickBooks Online's DocNumber holds at most 21 characters: ``<prefix><deal id>`` must fit."""
PREFIX_MAX = DOC_NUMBER_MAX - 10
"""Room for a deal id of ten digits (Pipedrive's ids are nine digits long today)."""
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_FIELD_KEY = re.compile(r"^[0-9a-f]{40}$")
_PREFIX = re.compile(r"^[A-Za-z0-9./_-]*$")


class PipedriveSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    api_url: str = "https://api.pipedrive.com"
    """Where a personal API token calls (OAuth calls go to the ``api_domain`` its grant named)."""
    oauth_url: str = "https://oauth.pipedrive.com"
    """Pipedrive's OAuth server (authorize, token); another address only for a local sandbox."""
    customer_name: Literal["organization", "person"] = "organization"
    """Who the invoice is "To": the organization's name (else the person's), or the person's (else the
    organization's)."""
    tax_number_field: str = ""
    """Key of the custom field (on the deal, else on its organization) that holds the customer's VAT number."""
    due_days: int | None = Field(default=None, ge=0, le=365)
    """Due date = issue date + this many days; unset: the customer's terms in the accounting package decide."""
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    """Invoices in this currency only (a deal in another is refused); unset: the deal's own currency."""
    number_prefix: str = "PD-"
    """The invoice number is ``<prefix><deal id>``."""
    won_deals_create_invoices: bool = False
    """A won deal is invoiced by itself (webhook and poll); off: only the "Create invoice" button does."""
    invoice_status_field: str = Field(default="Invoice status", min_length=1, max_length=60)
    """The deal field Koppel keeps the invoice's status in (created when the company does not have it)."""
    page_size: int = Field(default=100, ge=1, le=500)

    @field_validator("api_url", "oauth_url")
    @classmethod
    def _address(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an address like https://api.pipedrive.com")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
            raise ValueError("must use https (plain http only for a local sandbox on 127.0.0.1)")
        if parts.path or parts.query or parts.fragment:
            raise ValueError("must be a host without a path, like https://api.pipedrive.com")
        return value

    @field_validator("tax_number_field")
    @classmethod
    def _field_key(cls, value: str) -> str:
        value = value.strip()
        if value and not _FIELD_KEY.fullmatch(value):
            raise ValueError(
                "must be the 40-character key of a Pipedrive custom field (Settings → Data fields → the field's "
                "API key), not its name"
            )
        return value

    @field_validator("number_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not _PREFIX.fullmatch(value):
            raise ValueError("may hold only letters, digits and . / _ - (no spaces)")
        if len(value) > PREFIX_MAX:
            raise ValueError(
                f"is {len(value)} characters; at most {PREFIX_MAX}, so that prefix and deal id fit QuickBooks' "
                f"{DOC_NUMBER_MAX}-character invoice number"
            )
        return value


def base_url_ok(value: str) -> bool:
    """An API domain a grant named may be used: https, or plain http on loopback (the sandbox)."""
    parts = urlsplit(value)
    if parts.scheme == "http":
        return parts.hostname in _LOOPBACK
    return parts.scheme == "https" and bool(parts.hostname)
