"""Bizzcloud (till and invoicing on Odoo) as a polled source: customers, invoices, credit invoices and till sales;
payment status carried back onto its invoices. README.md has the API facts."""

from koppel.connectors.bizzcloud.settings import BizzcloudSettings
from koppel.connectors.bizzcloud.source import (
    POLL_INTERVAL_MINUTES,
    BizzcloudSource,
    build_source,
    build_target,
    preview_events,
)
from koppel.connectors.bizzcloud.writeback import BizzcloudWriteBack
from koppel.connectors.contract import Connector

CONNECTOR = Connector(
    name="bizzcloud",
    title="Bizzcloud",
    settings=BizzcloudSettings,
    capabilities=frozenset({"polled_source", "product_groups", "payment_status_writer", "preview_source"}),
    build_source=build_source,
    build_target=build_target,
    example_settings={"url": "https://demo.bizzcloud.nl", "database": "demo"},
    poll_interval_minutes=POLL_INTERVAL_MINUTES,
    preview_events=preview_events,
)

__all__ = [
    "CONNECTOR",
    "BizzcloudSettings",
    "BizzcloudSource",
    "BizzcloudWriteBack",
    "build_source",
    "build_target",
    "preview_events",
]
