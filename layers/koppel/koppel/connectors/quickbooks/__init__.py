"""QuickBooks Online (accounting, v3 Accounting API) as a target: customers, invoices and credit memos, suppliers'
bills and vendor credits with their original files (purchase.py), payment status read back, invoice actions for
the source's panel, the company's tax codes read after connecting; connected by Intuit's OAuth 2.0 consent.
README.md has the API facts."""

from koppel.connectors.contract import Connector, PreviewAccount
from koppel.connectors.quickbooks import console
from koppel.connectors.quickbooks.chart import preview_answer, preview_settings
from koppel.connectors.quickbooks.oauth import QuickbooksOAuth
from koppel.connectors.quickbooks.settings import QuickbooksSettings
from koppel.connectors.quickbooks.target import QuickbooksTarget, build_target
from koppel.connectors.quickbooks.webhooks import Notice, QuickbooksChangeNotices, parse_notices, verify_signature

CONNECTOR = Connector(
    name="quickbooks",
    title="QuickBooks Online",
    settings=QuickbooksSettings,
    capabilities=frozenset(
        {
            "target",
            "purchase_booking",
            "attachments",
            "purchase_status_reader",
            "party_updates",
            "payment_status_reader",
            "payment_changes",
            "chart_sync",
            "invoice_actions",
            "oauth",
            "change_notices",
            "preview_target",
            "console_mapping",
            "document_links",
        }
    ),
    build_target=build_target,
    oauth=QuickbooksOAuth(),
    change_notices=QuickbooksChangeNotices(),
    preview_account=PreviewAccount(answer=preview_answer, settings=preview_settings),
    mapping_form=console.FORM,
    document_link=console.document_link,
)

__all__ = [
    "CONNECTOR",
    "Notice",
    "QuickbooksOAuth",
    "QuickbooksSettings",
    "QuickbooksTarget",
    "build_target",
    "parse_notices",
    "verify_signature",
]
