"""SnelStart's B2B API v2 endpoints (``/v2/...``) for SnelstartSandbox: routing, then one method per resource.

APIM matches operations case-insensitively; the handlers run under the sandbox's lock and answer with Decimal-safe
JSON, refusals in SnelStart's shape (rules.py) or ASP.NET OData's (odata_values.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule

from devkit.sandboxes.snelstart.chart import land_models
from devkit.sandboxes.snelstart.gate import apim_answer, json_answer
from devkit.sandboxes.snelstart.journals import BOOKING_MODELS, book
from devkit.sandboxes.snelstart.odata import query
from devkit.sandboxes.snelstart.odata_values import ODataError
from devkit.sandboxes.snelstart.rules import ApiError, guid, not_found
from devkit.sandboxes.snelstart.schema import (
    GROOTBOEK_MODEL,
    INKOOPFACTUUR_MODEL,
    RELATIE_MODEL,
    VERKOOPFACTUUR_MODEL,
    loads,
    properties,
)

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable
    from datetime import datetime

    from werkzeug.wrappers import Request, Response

    from devkit.sandboxes.snelstart.store import Administratie

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
        Rule("/v2/relaties/<ident>/inkoopboekingen", endpoint="relatie_inkoop", methods=["GET"]),
        Rule("/v2/inkoopboekingen", endpoint="inkoopboekingen", methods=["POST"]),
        Rule("/v2/inkoopboekingen/<ident>", endpoint="inkoopboeking", methods=["GET", "PUT", "DELETE"]),
        Rule("/v2/inkoopfacturen", endpoint="inkoopfacturen", methods=["GET"]),
        Rule("/v2/documenten/<documenttype>", endpoint="documenten", methods=["POST"]),
        Rule("/v2/documenten/<documenttype>/<ident>", endpoint="document_lijst", methods=["GET"]),
        Rule("/v2/dagboeken", endpoint="dagboeken", methods=["GET"]),
        Rule("/v2/kasboekingen", endpoint="geldboekingen", methods=["GET", "POST"], defaults={"soort": "Kas"}),
        Rule("/v2/bankboekingen", endpoint="geldboekingen", methods=["GET", "POST"], defaults={"soort": "Bank"}),
    ]
)


class Endpoints:
    """The ``/v2`` API of SnelstartSandbox, which provides the state below and ``_now``."""

    _lock: threading.RLock
    _administraties: dict[str, Administratie]
    refuse_duplicates: bool
    odata_v3_only: bool
    _now: Callable[[], datetime]

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

    # -- the purchase side (purchases.py) -------------------------------------------------------------------------
    def _api_relatie_inkoop(self, request: Request, admin: Administratie, ident: str) -> Response:
        return json_answer(admin.purchases.of_relatie(ident))

    def _api_inkoopboekingen(self, request: Request, admin: Administratie) -> Response:
        boeking = admin.purchases.create(self._body(request), self._now(), refuse_duplicates=self.refuse_duplicates)
        return json_answer(boeking, 201)

    def _api_inkoopboeking(self, request: Request, admin: Administratie, ident: str) -> Response:
        if request.method == "PUT":
            body = self._body(request)
            return json_answer(
                admin.purchases.update(ident, body, self._now(), refuse_duplicates=self.refuse_duplicates)
            )
        if request.method == "DELETE":
            admin.purchases.delete(ident)
            return json_answer({})
        return json_answer(admin.purchases.get(ident))

    def _api_inkoopfacturen(self, request: Request, admin: Administratie) -> Response:
        return self._page(request, list(admin.inkoopfacturen.values()), INKOOPFACTUUR_MODEL)

    def _api_documenten(self, request: Request, admin: Administratie, documenttype: str) -> Response:
        return json_answer(admin.purchases.upload(documenttype, self._body(request)))

    def _api_document_lijst(self, request: Request, admin: Administratie, documenttype: str, ident: str) -> Response:
        return json_answer(admin.purchases.documents(documenttype, ident))

    # -- money in a Kas or Bank dagboek (journals.py) -------------------------------------------------------------
    def _api_dagboeken(self, request: Request, admin: Administratie) -> Response:
        return json_answer(sorted(admin.dagboeken.values(), key=lambda d: d["nummer"]))  # the spec offers no OData

    def _api_geldboekingen(self, request: Request, admin: Administratie, soort: str) -> Response:
        if request.method == "POST":
            return json_answer(book(admin, soort, self._body(request), self._now()), 201)
        rows = [
            {k: v for k, v in b.items() if k != "soort"} for b in admin.geldboekingen.values() if b["soort"] == soort
        ]
        return self._page(request, rows, BOOKING_MODELS[soort])
