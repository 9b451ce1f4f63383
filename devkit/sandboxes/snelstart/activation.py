"""SnelStart's koppeling activation: the only webhook SnelStart sends (the connector's README, b2bapi-developer
"oauth").

A user opens ``https://web.snelstart.nl/couplings/activate/{appShortName}?successUrl=…&referenceKey=…``, picks an
administratie and agrees; SnelStart then POSTs ``{"koppelSleutel", "actionType": "Create"|"Regenerate"|"Delete",
"referenceKey"}`` to the partner's registered webhook and sends the user to successUrl. The sandbox skips the
login: opening the page activates at once [I: whether SnelStart adds anything to successUrl is not documented;
the sandbox adds nothing]. No signature is documented, so none is sent. A failed webhook delivery does not undo
the activation; it is recorded in ``webhook_deliveries`` [I].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests
from werkzeug.wrappers import Response

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from werkzeug.wrappers import Request

    from devkit.sandboxes.snelstart.gate import Gate


@dataclass
class Coupling:
    app: str
    webhook_url: str
    administratie_id: str
    koppelsleutel: str


class ActivationMixin:
    """Activation for SnelstartSandbox; the sandbox provides the lock, the gate and ``add_administratie``."""

    _lock: threading.RLock
    gate: Gate
    webhook_timeout: float
    _apps: dict[str, str]  # appShortName -> partner webhook url
    _couplings: dict[str, Coupling]  # by the partner's referenceKey
    webhook_deliveries: list[dict[str, Any]]
    add_administratie: Callable[[str], str]

    def register_app(self, app_short_name: str, webhook_url: str) -> None:
        """The partner registration SnelStart does by hand: which webhook belongs to an appShortName."""
        with self._lock:
            self._apps[app_short_name] = webhook_url

    def activate(
        self, partner_webhook_url: str, reference_key: str, app_short_name: str, administratie_name: str | None = None
    ) -> str:
        """A user connects a new administratie: POSTs its new koppelsleutel (Create) and returns it."""
        with self._lock:
            self._apps.setdefault(app_short_name, partner_webhook_url)
            key = self.add_administratie(administratie_name or f"Administratie {reference_key}")
            self._couplings[reference_key] = Coupling(app_short_name, partner_webhook_url, self.gate.keys[key], key)
        self._notify(partner_webhook_url, key, "Create", reference_key)
        return key

    def regenerate(self, reference_key: str) -> str:
        """The user makes a new key: the old one stops working at the token endpoint (Regenerate)."""
        with self._lock:
            coupling = self._couplings[reference_key]
            self.gate.retire_key(coupling.koppelsleutel)
            coupling.koppelsleutel = self.gate.add_key(coupling.administratie_id)
        self._notify(coupling.webhook_url, coupling.koppelsleutel, "Regenerate", reference_key)
        return coupling.koppelsleutel

    def deactivate(self, reference_key: str) -> None:
        """The user disconnects the app: the key stops working (Delete); the administratie itself stays."""
        with self._lock:
            coupling = self._couplings.pop(reference_key)
            self.gate.retire_key(coupling.koppelsleutel)
        self._notify(coupling.webhook_url, coupling.koppelsleutel, "Delete", reference_key)

    def _notify(self, url: str, key: str, action: str, reference_key: str) -> None:
        """POST outside the lock: the partner may call straight back for a token."""
        payload = {"koppelSleutel": key, "actionType": action, "referenceKey": reference_key}
        delivery: dict[str, Any] = {"url": url, "payload": payload}
        try:
            delivery["status"] = requests.post(url, json=payload, timeout=self.webhook_timeout).status_code
        except requests.RequestException as error:
            delivery["error"] = str(error)
        with self._lock:
            self.webhook_deliveries.append(delivery)

    def _activation_page(self, request: Request, app: str) -> Response:
        success_url, reference_key = request.args.get("successUrl"), request.args.get("referenceKey")
        with self._lock:
            webhook_url = self._apps.get(app)
        if webhook_url is None:
            return Response(f"Onbekende koppeling '{app}'.", 404, content_type="text/plain; charset=utf-8")
        if not success_url or not reference_key:
            return Response("successUrl en referenceKey zijn verplicht.", 400, content_type="text/plain; charset=utf-8")
        self.activate(webhook_url, reference_key, app)
        return Response(status=302, headers={"Location": success_url})
