"""Billy (billy.dk, Danish accounting, API v2) as a target: customers become contacts, documents become invoices or
credit notes on products, drafted, reconciled to the cent and approved; payment status read back; the
organization's rulesets and accounts read after connecting; organizations, contacts and products kept alike with a
CRM (record sync). README.md has the API facts."""

from koppel.connectors.billy.chart import PreviewOrganization, preview_settings
from koppel.connectors.billy.settings import BillySettings
from koppel.connectors.billy.target import BillyTarget, build_target
from koppel.connectors.contract import Connector, PreviewAccount

CONNECTOR = Connector(
    name="billy",
    title="Billy",
    settings=BillySettings,
    capabilities=frozenset({"target", "payment_status_reader", "chart_sync", "record_sync", "preview_target"}),
    build_target=build_target,
    example_settings={},
    preview_account=PreviewAccount(answer=PreviewOrganization(), settings=preview_settings),
)

__all__ = ["CONNECTOR", "BillySettings", "BillyTarget", "build_target"]
