"""e-Boekhouden.nl (accounting, REST API) as a target: relations, invoice and payment mutations, suppliers' invoices
as invoices received, open items read back for payment status, the chart of accounts synced. README.md has the API
facts."""

from koppel.connectors.contract import Connector, PreviewAccount
from koppel.connectors.eboekhouden import console
from koppel.connectors.eboekhouden.purchase import EboekhoudenBooks, build_target
from koppel.connectors.eboekhouden.settings import EboekhoudenSettings
from koppel.connectors.eboekhouden.target import (
    PREVIEW_CREDENTIAL_PATHS,
    EboekhoudenTarget,
    after_connect,
    preview_answer,
    preview_settings,
    sync_ledgers,
)

CONNECTOR = Connector(
    name="eboekhouden",
    title="e-Boekhouden.nl",
    settings=EboekhoudenSettings,
    capabilities=frozenset(
        {
            "target",
            "purchase_booking",
            "purchase_status_reader",
            "party_updates",
            "payment_status_reader",
            "chart_sync",
            "preview_target",
            "console_mapping",
        }
    ),
    build_target=build_target,
    preview_account=PreviewAccount(
        credential_paths=PREVIEW_CREDENTIAL_PATHS, answer=preview_answer, settings=preview_settings
    ),
    mapping_form=console.FORM,
)

__all__ = [
    "CONNECTOR",
    "EboekhoudenBooks",
    "EboekhoudenSettings",
    "EboekhoudenTarget",
    "after_connect",
    "build_target",
    "sync_ledgers",
]
