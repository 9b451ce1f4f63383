"""A connection's CCV Shop settings (``Connection.source_settings``); README.md in this folder has the API facts."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from koppel.connectors.ccvshop.mapping import CANCELLED

API_PREFIX = "/api/rest/v1/"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class CcvshopSettings(BaseModel):
    """A connection's CCV Shop settings (``Connection.source_settings``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str
    """The shop's root address, like https://demo.ccvshop.nl (the API is under /api/rest/v1/)."""
    webhook_signature: Literal["body", "address_body"] = "body"
    """How CCV computes a webhook's x-hash — unverified, hence a switch: "body" = hex HMAC-SHA512(webhook key,
    raw body); "address_body" = the same over ``delivery address + "|" + raw body`` (the recipe of CCV's
    app handshake)."""
    book_on_status: tuple[int, ...] = (7,)
    """Order statuses that make a paid order bookable (7 = Completed)."""
    max_open_days: int = Field(default=30, ge=1, le=366)
    """An order still open after this many days is no longer waited for by the poll watermark."""
    page_size: int = Field(default=100, ge=1, le=1000)

    @field_validator("base_url")
    @classmethod
    def _shop_root(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        value = value.removesuffix(API_PREFIX.rstrip("/"))
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be the shop's address, like https://demo.ccvshop.nl")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
            raise ValueError("must use https (plain http only for a local sandbox on 127.0.0.1)")
        if parts.path or parts.query or parts.fragment:
            raise ValueError("must be the shop's root address without a path, like https://demo.ccvshop.nl")
        return value

    @field_validator("book_on_status")
    @classmethod
    def _statuses(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value:
            raise ValueError("needs at least one status (7 = Completed)")
        if any(status not in range(1, 15) for status in value):
            raise ValueError("CCV order statuses are 1 to 14")
        if CANCELLED in value:
            raise ValueError("status 8 is Cancelled: a cancelled order is never booked")
        return value
