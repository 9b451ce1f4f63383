"""e-Boekhouden.nl REST API sandbox (api.e-boekhouden.nl) on one loopback server (the vendor's facts:
koppel/connectors/eboekhouden/README.md).

Surface: ``POST``/``DELETE /v1/session``; ``GET``/``POST /v1/relation``, ``GET``/``PATCH /v1/relation/{id}``;
``GET``/``POST /v1/ledger``, ``GET``/``PATCH /v1/ledger/{id}``; ``GET``/``POST /v1/mutation``,
``GET /v1/mutation/{id}``, ``GET /v1/mutation/invoice/outstanding``. Each API token (``add_administration``)
opens one administration seeded with a default Dutch chart. The parts: eboekhouden_session (tokens, sessions,
rate limit), eboekhouden_store (relations, ledgers), eboekhouden_mutations (bookings, VAT, open items),
eboekhouden_wire (error shape, two-decimal JSON, paging and filters), eboekhouden_chart (chart, VAT codes).
Each module's docstring says which facts are confirmed and which are [I] (unverified).

Switches (constructor, and ``POST /_sandbox/settings``): ``refuse_duplicate_invoice_numbers`` (MUT_019, verified;
default True, off only in the chaos harness), ``strict_ledger_categories`` (True),
``outstanding_filters_by_relation`` (False),
``accept_bearer`` (False: ``Authorization`` carries the raw token), ``session_ttl`` (3600).
Faults from the base FaultPlan apply to /v1 and answer in e-Boekhouden's error shape (503, 429 + Retry-After).
Control: ``POST /_sandbox/administrations {"name"}`` → ``{"accessToken"}``, ``/_sandbox/settings``,
``/_sandbox/rate-limit {"accessToken", "per_second", "per_minute"}``,
``/_sandbox/pay {"accessToken", "invoiceNumber", "amount", "date"}``.
"""

from __future__ import annotations

import copy
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from devkit.sandboxes.eboekhouden import mutations
from devkit.sandboxes.eboekhouden.session import Sessions, throttled
from devkit.sandboxes.eboekhouden.store import (
    LEDGER_FILTERS,
    RELATION_FILTERS,
    Administration,
    Ids,
    ledger_list_item,
    relation_list_item,
)
from devkit.sandboxes.eboekhouden.wire import ApiError, answer, error_answer, loads, page
from devkit.sandboxes.kit.server import FaultPlan, Sandbox, json_response

if TYPE_CHECKING:
    from collections.abc import Callable

    from werkzeug.wrappers import Request, Response

API_PREFIXES = ("/v1",)
SETTINGS = (
    "refuse_duplicate_invoice_numbers",
    "strict_ledger_categories",
    "outstanding_filters_by_relation",
    "accept_bearer",
    "session_ttl",
)
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


class EboekhoudenSandbox(Sandbox):
    """A faithful e-Boekhouden for tests, the demo and the chaos suite; see the module docstring."""

    name = "eboekhouden"

    def __init__(
        self,
        *,
        faults: FaultPlan | None = None,
        clock: Callable[[], float] = time.time,
        session_ttl: int = 3600,
        refuse_duplicate_invoice_numbers: bool = True,
        strict_ledger_categories: bool = True,
        outstanding_filters_by_relation: bool = False,
        accept_bearer: bool = False,
    ) -> None:
        super().__init__(faults or FaultPlan(applies_to=API_PREFIXES))
        self.faults.applies_to = self.faults.applies_to or API_PREFIXES
        self.clock = clock
        self.session_ttl = session_ttl
        self.refuse_duplicate_invoice_numbers = refuse_duplicate_invoice_numbers
        self.strict_ledger_categories = strict_ledger_categories
        self.outstanding_filters_by_relation = outstanding_filters_by_relation
        self.accept_bearer = accept_bearer
        self._settings = {name: getattr(self, name) for name in SETTINGS}
        self._lock = threading.RLock()
        self._clear()

    def _clear(self) -> None:
        self._administrations: dict[str, Administration] = {}
        self._ids = Ids()
        self.sessions = Sessions()

    def _today(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).date().isoformat()

    # -- Python API for tests and the demo --------------------------------------------------------------------------
    def add_administration(self, name: str) -> str:
        """Create an administration with the default chart; returns the API token (accessToken) that opens it."""
        with self._lock:
            admin = Administration.seeded(name, self._ids)
            self._administrations[admin.id] = admin
            return self.sessions.add_access_token(admin.id)

    def administration(self, api_token: str) -> Administration:
        """The live administration behind an API token. Mutable: hold ``_lock`` while changing it."""
        with self._lock:
            try:
                return self._administrations[self.sessions.access_tokens[api_token]]
            except KeyError:
                raise KeyError("unknown API token") from None

    def open_session(self, api_token: str) -> str:
        """What ``POST /v1/session`` hands out, for tests that are not about the session flow."""
        with self._lock:
            return self.sessions.issue(self.administration(api_token).id, self.clock(), self.session_ttl)

    def relations(self, api_token: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self.administration(api_token).relations.values()))

    def ledgers(self, api_token: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self.administration(api_token).ledgers.values()))

    def mutations(self, api_token: str) -> list[dict[str, Any]]:
        """Every stored mutation with its computed rows and totals (totalExclVat, totalVat, totalAmount)."""
        with self._lock:
            return copy.deepcopy(list(self.administration(api_token).mutations.values()))

    def duplicates(self, api_token: str) -> list[str]:
        """Invoice numbers booked more than once: what exactly-once delivery must keep empty."""
        with self._lock:
            return mutations.duplicates(self.administration(api_token))

    def ledger_id(self, api_token: str, code: str) -> int:
        with self._lock:
            return int(self.administration(api_token).ledger_by_code(code)["id"])

    def add_relation(self, api_token: str, name: str, **fields: Any) -> dict[str, Any]:
        """Create a relation through the API's own rules (fields as in CreateRelation); returns it."""
        with self._lock:
            admin = self.administration(api_token)
            return copy.deepcopy(admin.create_relation({"name": name, **fields}, self._today()))

    def add_ledger(self, api_token: str, code: str, description: str, category: str = "VW") -> int:
        with self._lock:
            body = {"code": code, "description": description, "category": category}
            return int(self.administration(api_token).create_ledger(body)["id"])

    def rename_ledger(self, api_token: str, code: str, description: str) -> None:
        with self._lock:
            admin = self.administration(api_token)
            admin.patch_ledger(admin.ledger_by_code(code)["id"], {"description": description})

    def delete_ledger(self, api_token: str, code: str) -> None:
        with self._lock:
            self.administration(api_token).delete_ledger(code)

    def pay(self, api_token: str, invoice_number: str, amount: Decimal | int | str, date: str) -> int:
        """Book a customer's payment as e-Boekhouden would: a type 3 mutation on bank 1100; returns its number."""
        with self._lock:
            admin = self.administration(api_token)
            invoices = [m for m in admin.mutations.values() if m["type"] == 2 and m["invoiceNumber"] == invoice_number]
            if not invoices:
                raise KeyError(f"no invoice {invoice_number!r} in this administration")
            body = {
                "type": 3,
                "date": date,
                "ledgerId": admin.ledger_by_code("1100")["id"],
                "relationId": invoices[0]["relationId"],
                "inExVat": "EX",
                "description": f"Betaling {invoice_number}"[:50],
                "rows": [{"amount": Decimal(str(amount)), "invoiceNumber": invoice_number, "vatCode": "GEEN"}],
            }
            return int(self._book(admin, body)["id"])

    def set_rate_limit(self, api_token: str, per_second: int | None = None, per_minute: int | None = None) -> None:
        """Limit one administration's calls; over it answers 429 with Retry-After (None for both lifts it)."""
        with self._lock:
            self.sessions.set_limit(self.administration(api_token).id, per_second, per_minute)

    def _book(self, admin: Administration, body: Any) -> dict[str, Any]:
        return mutations.create_mutation(
            admin,
            body,
            refuse_duplicates=self.refuse_duplicate_invoice_numbers,
            strict_ledgers=self.strict_ledger_categories,
        )

    # -- sandbox control --------------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "administrations": [
                    {
                        "id": a.id,
                        "name": a.name,
                        "relations": len(a.relations),
                        "ledgers": len(a.ledgers),
                        "mutations": len(a.mutations),
                        "invoices": sum(1 for m in a.mutations.values() if m["type"] in mutations.INVOICE_TYPES),
                        "duplicates": mutations.duplicates(a),
                    }
                    for a in self._administrations.values()
                ],
                "sessions": len(self.sessions.tokens),
                "settings": {name: getattr(self, name) for name in SETTINGS},
            }

    def reset(self) -> None:
        """Forget all administrations, tokens, limits and faults; settings go back to the constructor's."""
        with self._lock:
            self.faults = FaultPlan(applies_to=API_PREFIXES)
            for name, value in self._settings.items():
                setattr(self, name, value)
            self._clear()

    def fault_response(self, kind: str) -> Response:
        if kind == "throttle":
            return error_answer(throttled(int(self.faults.retry_after)))
        return error_answer(ApiError(503, "API_UNAVAILABLE_901", "The service is temporarily unavailable"))

    def _control(self, request: Request) -> Response:
        action = request.path.removeprefix("/_sandbox/")
        extra: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "administrations": lambda body: {"accessToken": self.add_administration(str(body.get("name") or "Demo"))},
            "settings": self._control_settings,
            "rate-limit": self._control_rate_limit,
            "pay": lambda body: {
                "id": self.pay(body["accessToken"], body["invoiceNumber"], body["amount"], body["date"])
            },
        }
        if request.method == "POST" and action in extra:
            try:
                return answer(extra[action](loads(request.get_data() or b"{}")))
            except ApiError as error:
                return error_answer(error)
            except (KeyError, ValueError, TypeError) as error:
                return json_response({"error": str(error)}, 400)
        return super()._control(request)

    def _control_rate_limit(self, body: dict[str, Any]) -> dict[str, Any]:
        self.set_rate_limit(body["accessToken"], body.get("per_second"), body.get("per_minute"))
        return {"ok": True}

    def _control_settings(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            for name in SETTINGS:
                if name in body:
                    setattr(self, name, int(body[name]) if name == "session_ttl" else bool(body[name]))
            return {name: getattr(self, name) for name in SETTINGS}

    # -- HTTP -------------------------------------------------------------------------------------------------------
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
