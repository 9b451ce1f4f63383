"""SnelStart's activation: the page where the owner activates Koppel for an administratie, and the koppelsleutel
webhook SnelStart then sends (Create, Regenerate, Delete). README.md in this folder describes the flow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from koppel.connectors.kit import load_settings
from koppel.connectors.snelstart.settings import VENDOR, SnelstartSettings
from koppel.errors import InputError
from koppel.inbound import MAX_CALLBACK_BYTES, read_json
from koppel.ports import Activation

if TYPE_CHECKING:
    from collections.abc import Mapping

ACTIVATE_PATH = "/couplings/activate/{app}"


_ACTIONS: dict[str, Literal["create", "regenerate", "delete"]] = {
    "Create": "create",
    "Regenerate": "regenerate",
    "Delete": "delete",
}


class _SnelstartActivation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    koppelSleutel: str = Field(default="", max_length=1024)
    actionType: Literal["Create", "Regenerate", "Delete"]
    referenceKey: str = Field(min_length=1, max_length=256)


def parse_activation(body: bytes) -> Activation:
    """SnelStart's koppelsleutel webhook ``{"koppelSleutel", "actionType", "referenceKey"}``, normalized."""
    data = read_json(body, f"{VENDOR} activation body", limit=MAX_CALLBACK_BYTES)
    try:
        wire = _SnelstartActivation.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InputError(
            f"the {VENDOR} activation body is not a koppelsleutel webhook: {where}: {first['msg']}"
        ) from error
    if wire.actionType != "Delete" and not wire.koppelSleutel:
        raise InputError(f"the {VENDOR} activation ({wire.actionType}) carries no koppelSleutel")
    return Activation(
        action=_ACTIONS[wire.actionType],
        credential=wire.koppelSleutel,
        credential_name="koppelsleutel",
        reference=wire.referenceKey,
    )


def vendor_activation_url(
    app_short_name: str, success_url: str, reference_key: str, base: str = "https://web.snelstart.nl"
) -> str:
    """Where the user activates the koppeling in SnelStart web; SnelStart then POSTs the koppelsleutel webhook."""
    query = urlencode({"successUrl": success_url, "referenceKey": reference_key}, quote_via=quote)
    return base.rstrip("/") + ACTIVATE_PATH.format(app=quote(app_short_name, safe="")) + "?" + query


def activation_url(
    success_url: str, reference_key: str, partner: Mapping[str, str], settings: Mapping[str, Any]
) -> str:
    """The SnelStart page where the user activates Koppel for an administratie (Koppel's app short name)."""
    app = partner.get("app_short_name", "")
    if not app:
        raise InputError(f"Koppel's {VENDOR} partner secret has no app_short_name: add it to the partner secret")
    base = load_settings(SnelstartSettings, settings, VENDOR).activation_base
    return vendor_activation_url(app, success_url, reference_key, base=base)


class SnelstartActivation:
    """The ``ActivationFlow`` of SnelStart."""

    def start_url(
        self, success_url: str, reference_key: str, partner: Mapping[str, str], settings: Mapping[str, Any]
    ) -> str:
        return activation_url(success_url, reference_key, partner, settings)

    def parse_callback(self, body: bytes) -> Activation:
        return parse_activation(body)
