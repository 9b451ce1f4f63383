"""SnelStart B2B API v2 sandbox: the auth host and the API on one loopback server (the vendor's facts:
koppel/connectors/snelstart/README.md).

- ``POST /b2b/token`` (auth.snelstart.nl) swaps a koppelsleutel for a bearer token, OAuth style.
- ``/v2/...`` (b2bapi.snelstart.nl/v2) needs the partner's ``Ocp-Apim-Subscription-Key`` (or
  ``?subscription-key=``) and ``Authorization: Bearer``; both refusals answer in Azure API Management's shape.
- ``GET /couplings/activate/{appShortName}`` (web.snelstart.nl) is the page a user opens to connect an
  administratie; the sandbox activates at once, POSTs the koppelsleutel to the partner webhook, then redirects.
Each koppelsleutel opens one administratie with its own relaties, chart of accounts, bookings and invoices, sales
(verkoopboekingen, verkoopfacturen) and purchases (inkoopboekingen, inkoopfacturen, documenten as attachments).
The parts: endpoints (the /v2 routes), gate (keys, tokens, APIM checks), store (administratie data), rules
(SnelStart's checks and error shape), purchases (the purchase side and its rules), odata ($orderby/$top/$skip;
odata_filter and odata_values for $filter), schema (the spec as JSON Schema, Decimal-safe JSON), chart (standard
chart, countries), activation (the koppelsleutel webhook).
Faults from the base FaultPlan apply to /v2 and /b2b and answer as APIM would (429 + Retry-After, 503).
"""

from __future__ import annotations

import copy
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from devkit.sandboxes.kit.control import ControlRoutes, Switches, decimal_body, rate_limit_action
from devkit.sandboxes.kit.server import FaultPlan, Sandbox
from devkit.sandboxes.snelstart.activation import ActivationMixin, Coupling
from devkit.sandboxes.snelstart.endpoints import Endpoints
from devkit.sandboxes.snelstart.gate import Gate, apim_answer, json_answer, throttled
from devkit.sandboxes.snelstart.store import Administratie

if TYPE_CHECKING:
    from collections.abc import Callable

    from werkzeug.wrappers import Request

API_PREFIXES = ("/v2", "/b2b")

SWITCHES = Switches({"refuse_duplicates": bool, "token_ttl": int, "odata_v3_only": bool})


class SnelstartSandbox(ActivationMixin, Endpoints, Sandbox):
    """A faithful SnelStart for tests and the local stack; see the module docstring for the surface."""

    name = "snelstart"
    fault_paths = API_PREFIXES

    def __init__(
        self,
        subscription_key: str = "sandbox-subscription-key",
        token_ttl: int = 3599,
        *,
        faults: FaultPlan | None = None,
        refuse_duplicates: bool = False,
        odata_v3_only: bool = False,
        clock: Callable[[], float] = time.time,
        webhook_timeout: float = 5.0,
    ) -> None:
        super().__init__(faults)
        self.subscription_key = subscription_key
        self.token_ttl = token_ttl
        self.refuse_duplicates = refuse_duplicates
        self.odata_v3_only = odata_v3_only
        self._settings = SWITCHES.describe(self)
        self.clock = clock
        self.webhook_timeout = webhook_timeout
        self._lock = threading.RLock()
        self._clear()

    def _clear(self) -> None:
        self._administraties: dict[str, Administratie] = {}
        self.gate = Gate()
        self._couplings: dict[str, Coupling] = {}
        self._apps: dict[str, str] = {}
        self.webhook_deliveries: list[dict[str, Any]] = []

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # -- Python API for tests and the demo ----------------------------------------------------------------------
    def add_administratie(self, name: str) -> str:
        """Create an administratie seeded with the standard chart; returns its koppelsleutel."""
        with self._lock:
            administratie = Administratie.seeded(name, self._now())
            self._administraties[administratie.id] = administratie
            return self.gate.add_key(administratie.id)

    def add_koppelsleutel(self, koppelsleutel: str, key: str | None = None) -> str:
        """One more key to the administratie behind ``koppelsleutel``: ``key`` (e.g. the one a recorded activation
        carries) or a new one; returns it."""
        with self._lock:
            return self.gate.add_key(self.administratie(koppelsleutel).id, key)

    def administratie(self, koppelsleutel: str) -> Administratie:
        """The live administratie behind a key, retired keys included so tests can inspect it after a Delete.

        Mutable: hold the sandbox's ``_lock`` while changing it.
        """
        with self._lock:
            try:
                return self._administraties[self.gate.history[koppelsleutel]]
            except KeyError:
                raise KeyError("unknown koppelsleutel") from None

    def bookings(self, koppelsleutel: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self.administratie(koppelsleutel).boekingen.values()))

    def relations(self, koppelsleutel: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self.administratie(koppelsleutel).relaties.values()))

    def invoices(self, koppelsleutel: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self.administratie(koppelsleutel).facturen.values()))

    def purchases(self, koppelsleutel: str) -> list[dict[str, Any]]:
        """The inkoopboekingen, each with its documents (file names and ids) as GET /inkoopboekingen/{id} shows."""
        with self._lock:
            return copy.deepcopy(list(self.administratie(koppelsleutel).inkoopboekingen.values()))

    def purchase_invoices(self, koppelsleutel: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self.administratie(koppelsleutel).inkoopfacturen.values()))

    def money_bookings(self, koppelsleutel: str) -> list[dict[str, Any]]:
        """The kas- and bankboekingen, each with its ``soort`` (Kas or Bank)."""
        with self._lock:
            return copy.deepcopy(list(self.administratie(koppelsleutel).geldboekingen.values()))

    def document_content(self, koppelsleutel: str, document_id: str) -> bytes:
        with self._lock:
            return bytes(self.administratie(koppelsleutel).documenten[document_id]["content"])

    def duplicates(self, koppelsleutel: str) -> list[str]:
        """Invoice numbers booked more than once: what exactly-once delivery must keep empty."""
        with self._lock:
            return self.administratie(koppelsleutel).duplicates()

    def grootboek_id(self, koppelsleutel: str, nummer: int) -> str:
        with self._lock:
            return str(self.administratie(koppelsleutel).grootboek_by_number(nummer)["id"])

    def add_grootboek(
        self,
        koppelsleutel: str,
        nummer: int,
        omschrijving: str,
        *,
        id: str | None = None,
        grootboekfunctie: str = "Diversen",
        btw_soort: tuple[str, ...] = ("Geen", "Laag", "Hoog", "Overig"),
    ) -> str:
        """Add a ledger account (e.g. with a fixed id from a vendor example); returns its id."""
        with self._lock:
            model = self.administratie(koppelsleutel).add_grootboek(
                nummer, omschrijving, self._now(), grootboekfunctie=grootboekfunctie, btw_soort=btw_soort, ident=id
            )
            return str(model["id"])

    def add_relatie(
        self,
        koppelsleutel: str,
        naam: str,
        *,
        id: str | None = None,
        email: str | None = None,
        relatiesoort: tuple[str, ...] = ("Klant",),
        **fields: Any,
    ) -> dict[str, Any]:
        """Create a relatie through the API's own rules (fields as in RelatieWriteModel); returns the model."""
        body = {"naam": naam, "email": email, "relatiesoort": list(relatiesoort), **fields}
        with self._lock:
            return copy.deepcopy(self.administratie(koppelsleutel).create_relatie(body, self._now(), id))

    def pay(self, factuurnummer: str, amount: Decimal | int | str, koppelsleutel: str | None = None) -> dict[str, Any]:
        """Register a payment against an invoice: lowers its openstaandSaldo (0 means paid)."""
        with self._lock:
            scope = [self.administratie(koppelsleutel)] if koppelsleutel else list(self._administraties.values())
            holders = [a for a in scope if any(f["factuurnummer"] == factuurnummer for f in a.facturen.values())]
            if len(holders) != 1:
                raise KeyError(
                    f"verkoopfactuur {factuurnummer!r} found in {len(holders)} administraties; pass koppelsleutel"
                )
            return copy.deepcopy(holders[0].pay(factuurnummer, Decimal(str(amount)), self._now()))

    def set_rate_limit(self, koppelsleutel: str, per_second: int | None = None, per_minute: int | None = None) -> None:
        """Limit one administratie's API calls; over the limit answers 429 with Retry-After (None lifts it)."""
        with self._lock:
            self.gate.limits.set(self.administratie(koppelsleutel).id, per_second, per_minute)

    def issue_token(self, koppelsleutel: str) -> str:
        """What ``POST /b2b/token`` hands out, for tests that are not about the token flow."""
        with self._lock:
            return self.gate.issue(self.administratie(koppelsleutel).id, self.clock(), self.token_ttl)

    # -- sandbox control ------------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        with self._lock:
            keys = self.gate.keys_by_admin()
            return {
                "administraties": [
                    {
                        "id": a.id,
                        "naam": a.naam,
                        "koppelsleutels": keys.get(a.id, []),
                        "relaties": len(a.relaties),
                        "verkoopboekingen": len(a.boekingen),
                        "verkoopfacturen": len(a.facturen),
                        "duplicates": a.duplicates(),
                        "inkoopboekingen": len(a.inkoopboekingen),
                        "purchase_duplicates": a.purchases.duplicates(),
                    }
                    for a in self._administraties.values()
                ],
                "webhook_deliveries": copy.deepcopy(self.webhook_deliveries),
            }

    def reset(self) -> None:
        """Forget all administraties, keys, tokens and faults; settings go back to the constructor's."""
        with self._lock:
            super().reset()
            SWITCHES.restore(self, self._settings)
            self._clear()

    def fault_response(self, kind: str) -> Response:
        if kind == "throttle":
            return throttled(int(self.faults.retry_after))
        return apim_answer(503, "Service Unavailable")

    def control_routes(self) -> ControlRoutes:
        def add_administratie(body: dict[str, Any]) -> dict[str, Any]:
            key = self.add_administratie(str(body.get("naam") or "Sandbox administratie"))
            return {"koppelsleutel": key, "administratieId": self.administratie(key).id}

        def activate(body: dict[str, Any]) -> dict[str, Any]:
            key = self.activate(body["webhook_url"], body["reference_key"], body.get("app_short_name", "koppel"))
            return {"koppelsleutel": key}

        return ControlRoutes(
            with_body={
                "administraties": add_administratie,
                "settings": lambda body: SWITCHES.apply(self, body),
                "rate-limit": rate_limit_action(self.set_rate_limit, "koppelsleutel"),
                "pay": lambda body: self.pay(body["factuurnummer"], body["amount"], body.get("koppelsleutel")),
                "activate": activate,
            },
            read=decimal_body,
            write=json_answer,
            refusals=(KeyError, ValueError, TypeError),
        )

    # -- HTTP ---------------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if path.lower() == "/b2b/token":
            with self._lock:
                return self.gate.token_request(request, self.clock(), self.token_ttl)
        if path.lower().startswith("/couplings/activate/"):
            return self._activation_page(request, path.split("/", 3)[3])
        if not path.lower().startswith("/v2/"):
            return apim_answer(404, "Resource not found")
        with self._lock:
            admin_id = self.gate.admit(request, self.clock(), self.subscription_key)
        return admin_id if isinstance(admin_id, Response) else self._api(request, path, admin_id)
