"""SnelStart (accounting, B2B API v2) as a target: relaties, verkoopboekingen and inkoopboekingen (with the supplier's
original attached); activated by SnelStart's koppelsleutel callback. README.md has the API facts."""

from koppel.connectors.contract import Connector, PreviewAccount
from koppel.connectors.snelstart import console
from koppel.connectors.snelstart.activation import SnelstartActivation, activation_url, parse_activation
from koppel.connectors.snelstart.mapping import to_verkoopboeking
from koppel.connectors.snelstart.purchase import SnelstartPurchaseTarget, build_target
from koppel.connectors.snelstart.purchase_mapping import to_inkoopboeking
from koppel.connectors.snelstart.settings import SnelstartSettings
from koppel.connectors.snelstart.target import (
    SnelstartTarget,
    after_connect,
    sync_countries,
    sync_ledgers,
)

CONNECTOR = Connector(
    name="snelstart",
    title="SnelStart",
    settings=SnelstartSettings,
    capabilities=frozenset(
        {
            "target",
            "purchase_booking",
            "attachments",
            "purchase_status_reader",
            "chart_sync",
            "activation",
            "preview_target",
            "console_mapping",
        }
    ),
    build_target=build_target,
    activation=SnelstartActivation(),
    preview_account=PreviewAccount(),
    mapping_form=console.FORM,
)

__all__ = [
    "CONNECTOR",
    "SnelstartPurchaseTarget",
    "SnelstartSettings",
    "SnelstartTarget",
    "activation_url",
    "after_connect",
    "build_target",
    "parse_activation",
    "sync_countries",
    "sync_ledgers",
    "to_inkoopboeking",
    "to_verkoopboeking",
]
