"""Pipedrive (CRM) as a source: a deal becomes an invoice in the accounting package when a salesperson presses
"Create invoice" (an app extension) or, when the connection says so, when the deal is won; the invoice's status is
kept on the deal. README.md has the API facts."""

from koppel.connectors.contract import Connector
from koppel.connectors.pipedrive.extensions import (
    PipedriveAppExtension,
    SignedRequest,
    invoice_panel,
    read_extension_request,
)
from koppel.connectors.pipedrive.oauth import PipedriveOAuth
from koppel.connectors.pipedrive.settings import PipedriveSettings
from koppel.connectors.pipedrive.source import (
    POLL_INTERVAL_MINUTES,
    PipedriveSource,
    build_source,
    build_target,
    preview_events,
)
from koppel.connectors.pipedrive.writeback import PipedriveWriteBack

CONNECTOR = Connector(
    name="pipedrive",
    title="Pipedrive",
    settings=PipedriveSettings,
    capabilities=frozenset(
        {
            "polled_source",
            "webhook_source",
            "webhook_registration",
            "payment_status_writer",
            "oauth",
            "app_extension",
            "preview_source",
        }
    ),
    build_source=build_source,
    build_target=build_target,
    example_settings={},
    poll_interval_minutes=POLL_INTERVAL_MINUTES,
    oauth=PipedriveOAuth(),
    app_extension=PipedriveAppExtension(),
    preview_events=preview_events,
)

__all__ = [
    "CONNECTOR",
    "PipedriveAppExtension",
    "PipedriveOAuth",
    "PipedriveSettings",
    "PipedriveSource",
    "PipedriveWriteBack",
    "SignedRequest",
    "build_source",
    "build_target",
    "invoice_panel",
    "preview_events",
    "read_extension_request",
]
