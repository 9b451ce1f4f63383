"""A connection's Banqup settings (``Connection.source_settings``): which client space it reads, where, and what.
README.md in this folder has the API facts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from koppel.connectors.banqup.fields import Folder

EU_PRODUCTION = "https://api.btx.eu.banqup.com"


class BanqupSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    space_id: str = Field(min_length=1)
    """The client's space (``GET /entitystore/v1/spaces`` lists those that whitelisted the firm's app)."""
    host: str = Field(default=EU_PRODUCTION, pattern=r"^https?://[^/]+$")
    """The BTX API host: EU or FR production, or a UAT host (``https://api.uat.btx.eu.banqup.com``)."""
    folders: tuple[Folder, ...] = Field(default=("PURCHASES", "SALES"), min_length=1)
    """Which of the space's folders are booked: purchase documents, sales documents, or both."""
    client_name: str = ""
    """How the client is named in what Koppel asks of a person ("ask Bakkerij Jansen to whitelist…")."""
    page_size: int = Field(default=100, ge=1, le=100)
    max_wait_days: int = Field(default=7, ge=0, le=90)
    """How long the poll waits for a file Banqup is still processing, or one parked for a missing field that a
    person may still correct in Banqup: files are listed by creation time only, so after this a correction is
    booked by a backfill (``koppel backfill``) instead."""
