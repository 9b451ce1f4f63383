"""Billy (billy.dk, Danish accounting, API v2) as a target: customers become contacts, documents become invoices or
credit notes on products, drafted, reconciled to the cent and approved; a supplier's invoices become bills with
the original file attached (purchase.py); payment status read back; the
organization's rulesets and accounts read after connecting; organizations, contacts and products kept alike with a
CRM (record sync). And as a polled source: approved invoices and credit notes, read by when they were approved.
README.md has the API facts."""

from koppel.connectors.billy import console
from koppel.connectors.billy.chart import PreviewOrganization, preview_settings
from koppel.connectors.billy.settings import BillySettings
from koppel.connectors.billy.source import POLL_INTERVAL_MINUTES, BillySource, build_source, preview_events
from koppel.connectors.billy.target import BillyTarget, build_target
from koppel.connectors.contract import Capability, Connector, PreviewAccount

AS_TARGET: tuple[Capability, ...] = (
    "target", "purchase_booking", "attachments", "purchase_status_reader", "payment_status_reader", "chart_sync",
    "record_sync", "preview_target", "console_mapping",
)  # fmt: skip
AS_SOURCE: tuple[Capability, ...] = ("polled_source", "preview_source")
CONNECTOR = Connector(
    name="billy",
    title="Billy",
    settings=BillySettings,
    capabilities=frozenset(AS_TARGET + AS_SOURCE),
    build_source=build_source,
    build_target=build_target,
    example_settings={},
    poll_interval_minutes=POLL_INTERVAL_MINUTES,
    preview_events=preview_events,
    preview_account=PreviewAccount(answer=PreviewOrganization(), settings=preview_settings),
    mapping_form=console.FORM,
)

__all__ = ["CONNECTOR", "BillySettings", "BillySource", "BillyTarget", "build_source", "build_target", "preview_events"]
