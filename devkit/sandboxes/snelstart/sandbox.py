"""SnelStart B2B API v2 sandbox: the auth host and the API on one loopback server (the vendor's facts:
koppel/connectors/snelstart/README.md).

- ``POST /b2b/token`` (auth.snelstart.nl) swaps a koppelsleutel for a bearer token, OAuth style.
- ``/v2/...`` (b2bapi.snelstart.nl/v2) needs the partner's ``Ocp-Apim-Subscription-Key`` (or
  ``?subscription-key=``) and ``Authorization: Bearer``; both refusals answer in Azure API Management's shape.
- ``GET /couplings/activate/{appShortName}`` (web.snelstart.nl) is the page a user opens to connect an
  administratie; the sandbox activates at once, POSTs the koppelsleutel to the partner webhook, then redirects.
Each koppelsleutel opens one administratie with its own relaties, chart of accounts, bookings and invoices.
The parts: snelstart_gate (keys, tokens, APIM checks), snelstart_store (administratie data and SnelStart's
rules), snelstart_odata ($filter/$top/$skip), snelstart_schema (the spec as JSON Schema, Decimal-safe JSON),
snelstart_chart (standard chart, countries), snelstart_activation (the koppelsleutel webhook).
Faults from the base FaultPlan apply to /v2 and /b2b and answer as APIM would (429 + Retry-After, 503).
"""

from __future__ import annotations

import copy
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from devkit.sandboxes.kit.server import FaultPlan, Sandbox, json_response
from devkit.sandboxes.snelstart.activation import ActivationMixin, Coupling
from devkit.sandboxes.snelstart.chart import land_models
from devkit.sandboxes.snelstart.gate import Gate, apim_answer, json_answer, throttled
from devkit.sandboxes.snelstart.odata import ODataError, query
from devkit.sandboxes.snelstart.schema import GROOTBOEK_MODEL, RELATIE_MODEL, VERKOOPFACTUUR_MODEL, loads, properties
from devkit.sandboxes.snelstart.store import Administratie, ApiError, guid, not_found

if TYPE_CHECKING:
    from collections.abc import Callable

    from werkzeug.wrappers import Request

API_PREFIXES = ("/v2", "/b2b")

_ROUTES = Map(
    [
        Rule("/v2/echo/<path:text>", endpoint="echo", methods=["GET"]),
        Rule("/v2/companyinfo", endpoint="company", methods=["GET"]),
        Rule("/v2/landen", endpoint="landen", methods=["GET"]),
        Rule("/v2/landen/<ident>", endpoint="land", methods=["GET"]),
        Rule("/v2/grootboeken", endpoint="grootboeken", methods=["GET"]),
        Rule("/v2/grootboeken/<ident>", endpoint="grootboek", methods=["GET"]),
        Rule("/v2/relaties", endpoint="relaties", methods=["GET", "POST"]),
        Rule("/v2/relaties/<ident>", endpoint="relatie", methods=["GET", "PUT"]),
        Rule("/v2/relaties/<ident>/verkoopboekingen", endpoint="relatie_boekingen", methods=["GET"]),
        Rule("/v2/verkoopboekingen", endpoint="boekingen", methods=["POST"]),
        Rule("/v2/verkoopboekingen/<ident>", endpoint="boeking", methods=["GET", "PUT", "DELETE"]),
        Rule("/v2/verkoopfacturen", endpoint="facturen", methods=["GET"]),
        Rule("/v2/verkoopfacturen/<ident>", endpoint="factuur", methods=["GET"]),
    ]
)


class SnelstartSandbox(ActivationMixin, Sandbox):
    """A faithful SnelStart for tests and the local stack; see the module docstring for the surface."""

    name = "snelstart"

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
        super().__init__(faults or FaultPlan(applies_to=API_PREFIXES))
        self.faults.applies_to = self.faults.applies_to or API_PREFIXES
        self.subscription_key = subscription_key
        self._settings = {
            "token_ttl": token_ttl,
            "refuse_duplicates": refuse_duplicates,
            "odata_v3_only": odata_v3_only,
        }
        self.token_ttl = token_ttl
        self.refuse_duplicates = refuse_duplicates
        self.odata_v3_only = odata_v3_only
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
            self.gate.set_limit(self.administratie(koppelsleutel).id, per_second, per_minute)

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
                    }
                    for a in self._administraties.values()
                ],
                "webhook_deliveries": copy.deepcopy(self.webhook_deliveries),
            }

    def reset(self) -> None:
        """Forget all administraties, keys, tokens and faults; settings go back to the constructor's."""
        with self._lock:
            self.faults = FaultPlan(applies_to=API_PREFIXES)
            for name, value in self._settings.items():
                setattr(self, name, value)
            self._clear()

    def fault_response(self, kind: str) -> Response:
        if kind == "throttle":
            return throttled(int(self.faults.retry_after))
        return apim_answer(503, "Service Unavailable")

    def _control(self, request: Request) -> Response:
        action = request.path.removeprefix("/_sandbox/")
        extra = {
            "administraties": self._control_administratie,
            "settings": self._control_settings,
            "rate-limit": self._control_rate_limit,
            "pay": self._control_pay,
            "activate": self._control_activate,
        }
        if request.method == "POST" and action in extra:
            try:
                return json_answer(extra[action](loads(request.get_data() or b"{}")))
            except (KeyError, ValueError, TypeError) as error:
                return json_response({"error": str(error)}, 400)
        return super()._control(request)

    def _control_administratie(self, body: dict[str, Any]) -> dict[str, Any]:
        key = self.add_administratie(str(body.get("naam") or "Sandbox administratie"))
        return {"koppelsleutel": key, "administratieId": self.administratie(key).id}

    def _control_settings(self, body: dict[str, Any]) -> dict[str, Any]:
        self.refuse_duplicates = bool(body.get("refuse_duplicates", self.refuse_duplicates))
        self.token_ttl = int(body.get("token_ttl", self.token_ttl))
        self.odata_v3_only = bool(body.get("odata_v3_only", self.odata_v3_only))
        return {
            "refuse_duplicates": self.refuse_duplicates,
            "token_ttl": self.token_ttl,
            "odata_v3_only": self.odata_v3_only,
        }

    def _control_rate_limit(self, body: dict[str, Any]) -> dict[str, Any]:
        self.set_rate_limit(body["koppelsleutel"], body.get("per_second"), body.get("per_minute"))
        return {"ok": True}

    def _control_pay(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.pay(body["factuurnummer"], body["amount"], body.get("koppelsleutel"))

    def _control_activate(self, body: dict[str, Any]) -> dict[str, Any]:
        key = self.activate(body["webhook_url"], body["reference_key"], body.get("app_short_name", "koppel"))
        return {"koppelsleutel": key}

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

    def _api(self, request: Request, path: str, admin_id: str) -> Response:
        try:
            # APIM matches operations case-insensitively; only the echo text keeps its case
            endpoint, args = _ROUTES.bind("sandbox").match(
                path if "/echo/" in path.lower() else path.lower(), method=request.method
            )
        except HTTPException:
            return apim_answer(404, "Resource not found")
        try:
            with self._lock:
                answer: Response = getattr(self, f"_api_{endpoint}")(request, self._administraties[admin_id], **args)
                return answer
        except ApiError as error:
            return json_answer(error.body, error.status)
        except ODataError as error:
            return json_answer(error.body, 400)

    # -- API endpoints (called under the lock) --------------------------------------------------------------------
    def _body(self, request: Request) -> Any:
        try:
            return loads(request.get_data() or b"null")
        except ValueError:
            return None

    def _page(self, request: Request, rows: list[dict[str, Any]], model: str) -> Response:
        return json_answer(query(rows, request.args, properties(model), model, v3_only=self.odata_v3_only))

    def _api_echo(self, request: Request, admin: Administratie, text: str) -> Response:
        return json_answer(text)

    def _api_company(self, request: Request, admin: Administratie) -> Response:
        oss = admin.grootboek_by_number(1580)
        return json_answer(
            {
                "administratieIdentifier": admin.id,
                "administratieNaam": admin.naam,
                "bedrijfsnaam": admin.naam,
                "buitenlandseBtwGrootboek": {"id": oss["id"], "uri": oss["uri"]},
                "factureerBuitenlandsBtw": False,
            }
        )

    def _api_landen(self, request: Request, admin: Administratie) -> Response:
        return json_answer(land_models())  # the spec offers no OData here: $filter is ignored, as live

    def _api_land(self, request: Request, admin: Administratie, ident: str) -> Response:
        found = [land for land in land_models() if land["id"] == guid(ident)]
        if not found:
            raise not_found("Land", ident)
        return json_answer(found[0])

    def _api_grootboeken(self, request: Request, admin: Administratie) -> Response:
        rows = sorted(admin.grootboeken.values(), key=lambda g: g["nummer"])
        return self._page(request, rows, GROOTBOEK_MODEL)

    def _api_grootboek(self, request: Request, admin: Administratie, ident: str) -> Response:
        model = admin.grootboeken.get(guid(ident) or "")
        if model is None:
            raise not_found("Grootboek", ident)
        return json_answer(model)

    def _api_relaties(self, request: Request, admin: Administratie) -> Response:
        if request.method == "POST":
            return json_answer(admin.write_view(admin.create_relatie(self._body(request), self._now())), 201)
        return self._page(request, list(admin.relaties.values()), RELATIE_MODEL)

    def _api_relatie(self, request: Request, admin: Administratie, ident: str) -> Response:
        if request.method == "PUT":
            return json_answer(admin.write_view(admin.update_relatie(ident, self._body(request), self._now())))
        model = admin.relaties.get(guid(ident) or "")
        if model is None or model["nonactief"]:
            raise not_found("Relatie", ident)
        return json_answer(model)

    def _api_relatie_boekingen(self, request: Request, admin: Administratie, ident: str) -> Response:
        return json_answer([b for b in admin.boekingen.values() if (b["klant"] or {}).get("id") == guid(ident)])

    def _api_boekingen(self, request: Request, admin: Administratie) -> Response:
        boeking = admin.create_boeking(self._body(request), self._now(), refuse_duplicates=self.refuse_duplicates)
        return json_answer(boeking, 201)

    def _api_boeking(self, request: Request, admin: Administratie, ident: str) -> Response:
        if request.method == "PUT":
            body = self._body(request)
            return json_answer(admin.update_boeking(ident, body, self._now(), refuse_duplicates=self.refuse_duplicates))
        if request.method == "DELETE":
            admin.delete_boeking(ident)
            return json_answer({})
        return json_answer(admin.boeking(ident))

    def _api_facturen(self, request: Request, admin: Administratie) -> Response:
        return self._page(request, list(admin.facturen.values()), VERKOOPFACTUUR_MODEL)

    def _api_factuur(self, request: Request, admin: Administratie, ident: str) -> Response:
        model = admin.facturen.get(guid(ident) or "")
        if model is None:
            raise not_found("Verkoopfactuur", ident)
        return json_answer(model)
