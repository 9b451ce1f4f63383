"""A connection's Bizzcloud settings (``Connection.source_settings``): where the Odoo tenant is, how to reach it and
what to read. README.md in this folder has the API facts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class BizzcloudSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(pattern=r"^https?://[^/]+")
    """The Bizzcloud address, e.g. https://mijnwinkel.bizzcloud.nl."""
    database: str = Field(min_length=1)
    transport: Literal["jsonrpc", "xmlrpc"] = "jsonrpc"
    page_size: int = Field(default=200, ge=1, le=2000)
    book_till_orders: bool = True
    sync_customers: bool = True
    """Customers created or changed in Bizzcloud are created or updated in the target even before an invoice."""
    walk_in_name: str = "Kassaverkoop"
    """The relation a till sale without a customer is booked on."""
    payment_journal: str = "BNK1"
    """Code of the Bizzcloud journal that payments carried back from the accounting package are registered on."""
