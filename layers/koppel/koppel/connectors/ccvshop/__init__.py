"""CCV Shop (webshop) as a source: completed, paid orders, by webhook and by poll. README.md has the API facts."""

from koppel.connectors.ccvshop.mapping import normalize_order, read_preview_file
from koppel.connectors.ccvshop.settings import CcvshopSettings
from koppel.connectors.ccvshop.source import CcvshopSource, build_source, preview_events
from koppel.connectors.contract import Connector

CONNECTOR = Connector(
    name="ccvshop",
    title="CCV Shop",
    settings=CcvshopSettings,
    capabilities=frozenset({"polled_source", "webhook_source", "webhook_registration", "preview_source"}),
    build_source=build_source,
    example_settings={"base_url": "https://demo.ccvshop.nl"},
    poll_interval_minutes=5,
    preview_events=preview_events,
)

__all__ = [
    "CONNECTOR",
    "CcvshopSettings",
    "CcvshopSource",
    "build_source",
    "normalize_order",
    "preview_events",
    "read_preview_file",
]
