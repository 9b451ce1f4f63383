"""Simply CRM (vtiger's webservice) on both sides of a two-way koppeling: its invoices and credit invoices polled
into the books, payment status carried back onto them, the other side's invoices and credit notes written into it
(a booking target), and organizations, contacts and products kept alike with the other side. README.md has the API
facts."""

from koppel.connectors.contract import Connector, PreviewAccount
from koppel.connectors.simplycrm import console
from koppel.connectors.simplycrm.fields import check_mapping
from koppel.connectors.simplycrm.preview import PreviewCrm, preview_settings
from koppel.connectors.simplycrm.settings import SimplyCrmSettings
from koppel.connectors.simplycrm.source import (
    POLL_INTERVAL_MINUTES,
    SimplyCrmSource,
    build_source,
    build_target,
    preview_events,
)
from koppel.connectors.simplycrm.target import SimplyCrmTarget
from koppel.connectors.simplycrm.writeback import SimplyCrmWriteBack

CONNECTOR = Connector(
    name="simplycrm",
    title="Simply CRM",
    settings=SimplyCrmSettings,
    capabilities=frozenset(
        {
            "polled_source",
            "record_sync",
            "mapping_check",
            "payment_status_writer",
            "preview_source",
            "target",
            "preview_target",
            "document_links",
        }
    ),
    build_source=build_source,
    build_target=build_target,
    example_settings={"url": "https://demo.simply-crm.com"},
    poll_interval_minutes=POLL_INTERVAL_MINUTES,
    preview_events=preview_events,
    preview_account=PreviewAccount(answer=PreviewCrm(), settings=preview_settings, form_api=True),
    document_link=console.document_link,
)

__all__ = [
    "CONNECTOR",
    "SimplyCrmSettings",
    "SimplyCrmSource",
    "SimplyCrmTarget",
    "SimplyCrmWriteBack",
    "build_source",
    "build_target",
    "check_mapping",
    "preview_events",
]
