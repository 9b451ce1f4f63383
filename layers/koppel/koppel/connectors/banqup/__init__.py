"""Banqup (Unifiedpost's BTX APIs) as a polled source: the documents an accounting firm's client keeps in its
Banqup space (UBL or PDF purchase and sales invoices, credit notes, receipts); payment status carried back onto
them. README.md has the API facts."""

from koppel.connectors.banqup.settings import BanqupSettings
from koppel.connectors.banqup.source import (
    POLL_INTERVAL_MINUTES,
    BanqupSource,
    build_source,
    build_target,
    preview_events,
)
from koppel.connectors.banqup.writeback import BanqupWriteBack
from koppel.connectors.contract import Connector

CONNECTOR = Connector(
    name="banqup",
    title="Banqup",
    settings=BanqupSettings,
    capabilities=frozenset({"polled_source", "payment_status_writer", "preview_source"}),
    build_source=build_source,
    build_target=build_target,
    example_settings={"space_id": "00000000-0000-0000-0000-000000000000"},
    poll_interval_minutes=POLL_INTERVAL_MINUTES,
    preview_events=preview_events,
)

__all__ = [
    "CONNECTOR",
    "BanqupSettings",
    "BanqupSource",
    "BanqupWriteBack",
    "build_source",
    "build_target",
    "preview_events",
]
