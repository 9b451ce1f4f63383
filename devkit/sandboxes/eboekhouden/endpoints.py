"""e-Boekhouden's REST endpoints (``/v1/...``) for EboekhoudenSandbox: routing, then one method per resource.

Every call but ``/v1/session`` needs a session token (session.py); the handlers run under the sandbox's lock and
answer in e-Boekhouden's shapes (wire.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from devkit.sandboxes.eboekhouden import mutations
from devkit.sandboxes.eboekhouden.store import LEDGER_FILTERS, RELATION_FILTERS, ledger_list_item, relation_list_item
from devkit.sandboxes.eboekhouden.wire import ApiError, answer, error_answer, loads, page

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from werkzeug.wrappers import Request, Response

    from devkit.sandboxes.eboekhouden.session import Sessions
    from devkit.sandboxes.eboekhouden.store import Administration

_ROUTES = Map(
    [
        Rule("/v1/session", endpoint="session", methods=["POST", "DELETE"]),
        Rule("/v1/relation", endpoint="relations", methods=["GET", "POST"]),
        Rule("/v1/relation/<int:ident>", endpoint="relation", methods=["GET", "PATCH"]),
        Rule("/v1/ledger", endpoint="ledgers", methods=["GET", "POST"]),
        Rule("/v1/ledger/<int:ident>", endpoint="ledger", methods=["GET", "PATCH"]),
        Rule("/v1/mutation", endpoint="mutations", methods=["GET", "POST"]),
        Rule("/v1/mutation/invoice/outstanding", endpoint="outstanding", methods=["GET"]),
        Rule("/v1/mutation/<int:ident>", endpoint="mutation", methods=["GET"]),
    ],
    strict_slashes=False,
)


class Endpoints:
    """The HTTP API of EboekhoudenSandbox, which provides the state below and ``_book``/``_today``."""

    _lock: threading.RLock
    _administrations: dict[str, Administration]
    sessions: Sessions
    clock: Callable[[], float]
    session_ttl: int
    accept_bearer: bool
    outstanding_filters_by_relation: bool
    _book: Callable[[Administration, Any], dict[str, Any]]
    _today: Callable[[], str]

    def handle(self, request: Request) -> Response:
        try:
            endpoint, args = _ROUTES.bind("sandbox").match(request.path.lower(), method=request.method)
        except MethodNotAllowed:
            return error_answer(ApiError(405, "API_METHOD_901", f"{request.method} is not allowed here"))
        except NotFound:
            return error_answer(ApiError(404, "API_NOTFOUND_901", f"No endpoint {request.path}"))
        try:
            with self._lock:
                if endpoint == "session":
                    return self._api_session(request)
                admin_id = self.sessions.admit(request.headers.get("Authorization"), self.clock(), self.accept_bearer)
                handler = getattr(self, f"_api_{endpoint}")
                response: Response = handler(request, self._administrations[admin_id], **args)
                return response
        except ApiError as error:
            return error_answer(error)

    def _body(self, request: Request) -> Any:
        try:
            return loads(request.get_data() or b"null")
        except ValueError:
            raise ApiError(400, "API_BODY_901", "The request body is not valid JSON") from None

    def _api_session(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.sessions.end(request.headers.get("Authorization"), self.clock(), self.accept_bearer)
            return answer(None)
        return answer(self.sessions.start(self._body(request), self.clock(), self.session_ttl))

    def _api_relations(self, request: Request, admin: Administration) -> Response:
        if request.method == "POST":
            relation = admin.create_relation(self._body(request), self._today())
            return answer({"id": relation["id"], "code": relation["code"]}, 201)
        listed = page(list(admin.relations.values()), request.args, RELATION_FILTERS)
        return answer({**listed, "items": [relation_list_item(r) for r in listed["items"]]})

    def _api_relation(self, request: Request, admin: Administration, ident: int) -> Response:
        if request.method == "PATCH":
            admin.patch_relation(ident, self._body(request))
            return answer(None)
        return answer(admin.relation(ident))

    def _api_ledgers(self, request: Request, admin: Administration) -> Response:
        if request.method == "POST":
            return answer({"id": admin.create_ledger(self._body(request))["id"]}, 201)
        rows = sorted(admin.ledgers.values(), key=lambda ledger: ledger["code"])
        listed = page(rows, request.args, LEDGER_FILTERS)
        return answer({**listed, "items": [ledger_list_item(ledger) for ledger in listed["items"]]})

    def _api_ledger(self, request: Request, admin: Administration, ident: int) -> Response:
        if request.method == "PATCH":
            admin.patch_ledger(ident, self._body(request))
            return answer(None)
        return answer(admin.ledger(ident))

    def _api_mutations(self, request: Request, admin: Administration) -> Response:
        if request.method == "POST":
            return answer({"id": self._book(admin, self._body(request))["id"]}, 201)
        listed = page(list(admin.mutations.values()), request.args, mutations.MUTATION_FILTERS)
        return answer({**listed, "items": [mutations.mutation_list_item(m) for m in listed["items"]]})

    def _api_mutation(self, request: Request, admin: Administration, ident: int) -> Response:
        if ident not in admin.mutations:
            raise ApiError(404, "API_NOTFOUND_901", f"Mutation {ident} not found")
        return answer(mutations.mutation_view(admin.mutations[ident]))

    def _api_outstanding(self, request: Request, admin: Administration) -> Response:
        by_relation = request.args.get("relationId") if self.outstanding_filters_by_relation else None
        items = mutations.outstanding(admin, request.args.get("credDeb"), by_relation)
        return answer(page(items, request.args, {"invoiceNumber": ("invoiceNumber", "text")}))
