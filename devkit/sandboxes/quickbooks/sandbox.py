"""QuickBooks Online sandbox: Intuit's OAuth 2.0 and the v3 Accounting API on one loopback server.

- ``GET /connect/oauth2``, ``POST /oauth2/v1/tokens/bearer``, ``POST /v2/oauth2/tokens/revoke`` (oauth.py).
- ``/v3/company/{realmId}/...`` with ``Authorization: Bearer``; ``?minorversion=`` is accepted and ignored:
  ``POST /{entity}`` creates, updates (``Id`` + ``SyncToken``, ``sparse``) or, with ``?operation=delete|void``,
  deletes or voids (books.py); ``GET /{entity}/{id}`` reads; ``GET|POST /query`` (query.py); ``GET /cdc``.
  ``POST /invoice/{id}/send[?sendTo=]`` e-mails it, ``GET /invoice/{id}/pdf`` renders it (books.py).
  ``POST /upload`` attaches files to a transaction (attachables.py); a note-only ``POST /attachable`` is left out.
  ``?requestid=X`` on a write makes it idempotent per company: a repeat gets the first answer, byte for byte,
  and changes nothing [V: Intuit's developer blog, 2015].
- Limits and auth refusals in QuickBooks' shapes (gate.py); webhooks in both formats (webhooks.py).
Entities: Customer, Vendor, Employee, Item, Account, Term, TaxCode, TaxRate (read-only), Invoice, Payment,
CreditMemo, Bill and VendorCredit (purchases.py), BillPayment (bill_payments.py), Attachable, CompanyInfo,
Preferences. Seeding and inspection for tests live in helpers.py, their HTTP control (``/_sandbox/*``) in
control.py. Faults from the base FaultPlan apply to /v3 and /oauth2 and answer like QuickBooks (throttle as
configured, 503 SystemFault).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from devkit.sandboxes.kit.server import FaultPlan, Sandbox
from devkit.sandboxes.quickbooks import attachables
from devkit.sandboxes.quickbooks import query as qbo_query
from devkit.sandboxes.quickbooks.books import Books
from devkit.sandboxes.quickbooks.control import ControlMixin
from devkit.sandboxes.quickbooks.gate import Limits, auth_failed, forbidden, throttle_answer
from devkit.sandboxes.quickbooks.oauth import OAuth
from devkit.sandboxes.quickbooks.store import ENTITIES, Company
from devkit.sandboxes.quickbooks.webhooks import Webhooks
from devkit.sandboxes.quickbooks.wire import Fault, answer, fault_answer, loads, parse_time, qbo_time, unsupported

if TYPE_CHECKING:
    from collections.abc import Callable

    from werkzeug.wrappers import Request

API_PREFIXES = ("/v3", "/oauth2")
CDC_WINDOW = timedelta(days=30)
CDC_MAX = 1000  # objects per answer, all entities together
_ENTITY_PATHS = {entity.lower(): entity for entity in ENTITIES}
_ROUTES = Map(
    [
        Rule("/connect/oauth2", endpoint="authorize", methods=["GET"]),
        Rule("/oauth2/v1/tokens/bearer", endpoint="token", methods=["POST", "GET"]),
        Rule("/oauth2/v1/tokens/revoke", endpoint="revoke", methods=["POST"]),
        Rule("/v2/oauth2/tokens/revoke", endpoint="revoke", methods=["POST"]),
        Rule("/v3/company/<realm>/query", endpoint="query", methods=["GET", "POST"]),
        Rule("/v3/company/<realm>/cdc", endpoint="cdc", methods=["GET"]),
        Rule("/v3/company/<realm>/upload", endpoint="upload", methods=["POST"]),
        Rule("/v3/company/<realm>/<entity>", endpoint="entity", methods=["GET", "POST"]),
        Rule("/v3/company/<realm>/<entity>/<ident>", endpoint="read", methods=["GET"]),
        Rule("/v3/company/<realm>/<entity>/<ident>/send", endpoint="send", methods=["POST"]),
        Rule("/v3/company/<realm>/<entity>/<ident>/pdf", endpoint="pdf", methods=["GET"]),
    ]
)


class QuickbooksSandbox(ControlMixin, Sandbox):
    """A faithful QuickBooks Online for tests and the local stack; see the module docstring for the surface."""

    name = "quickbooks"

    def __init__(
        self,
        *,
        faults: FaultPlan | None = None,
        clock: Callable[[], float] = time.time,
        access_ttl: int = 3600,
        refresh_grace: float = 0.0,
        require_global_tax_calculation: bool = True,
        refuse_duplicate_docnumber: bool = False,
        auth_fault_case: str = "lower",
    ) -> None:
        super().__init__(faults or FaultPlan(applies_to=API_PREFIXES))
        self.faults.applies_to = self.faults.applies_to or API_PREFIXES
        self.clock = clock
        self._settings: dict[str, Any] = {
            "access_ttl": access_ttl,
            "refresh_grace": refresh_grace,
            "require_global_tax_calculation": require_global_tax_calculation,
            "refuse_duplicate_docnumber": refuse_duplicate_docnumber,
            "auth_fault_case": auth_fault_case,
        }
        self._lock = threading.RLock()
        self._clear()

    def _clear(self) -> None:
        settings = self._settings
        self.oauth = OAuth(access_ttl=settings["access_ttl"], refresh_grace=settings["refresh_grace"])
        self.books = Books(
            require_global_tax_calculation=settings["require_global_tax_calculation"],
            refuse_duplicate_docnumber=settings["refuse_duplicate_docnumber"],
        )
        self.auth_fault_case = settings["auth_fault_case"]
        self.limits = Limits()
        self.webhooks = Webhooks()
        self.companies: dict[str, Company] = {}
        self.received: list[dict[str, Any]] = []
        self._flushed: dict[str, int] = {}

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _flush(self, company: Company) -> None:
        """Hand the company's new changes to the webhook outbox."""
        start = self._flushed.get(company.realm, 0)
        for change in company.changes[start:]:
            self.webhooks.record(company.realm, change)
        self._flushed[company.realm] = len(company.changes)

    # -- sandbox control ------------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget companies, apps, tokens, webhooks and faults; settings go back to the constructor's."""
        with self._lock:
            self.faults = FaultPlan(applies_to=API_PREFIXES)
            self._clear()

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "companies": [
                    {"realmId": c.realm, "name": c.name, **{e: len(c.table(e)) for e in ("Customer", "Invoice")}}
                    for c in self.companies.values()
                ],
                "webhooks_pending": len(self.webhooks.pending),
            }

    def fault_response(self, kind: str) -> Response:
        if kind == "throttle":
            return throttle_answer(self.limits.style, self._now())
        message = "An application error has occurred while processing your request"
        fault = Fault(503, "SystemFault", ("10000", message, "System Failure Error: Service Unavailable", ""))
        return fault_answer(fault, self._now())

    # -- HTTP -------------------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        self.received.append(
            {
                "method": request.method,
                "path": request.path,
                "args": dict(request.args),
                "body": request.get_data(as_text=True),
            }
        )
        try:
            endpoint, args = _ROUTES.bind("sandbox").match(request.path.rstrip("/"), method=request.method)
        except HTTPException as error:
            return Response(f"<html><body>{error.code}</body></html>", error.code or 404, content_type="text/html")
        with self._lock:
            now = self.clock()
            if endpoint == "authorize":
                realm = request.args.get("realmId") or next(iter(self.companies), None)
                return self.oauth.authorize(request, realm, now)
            if endpoint == "token":
                return self.oauth.token_request(request, now)
            if endpoint == "revoke":
                return self.oauth.revoke_request(request)
            return self._api(request, endpoint, dict(args))

    def _admit(self, request: Request, realm: str, now: datetime) -> Company | Response:
        """The bearer token, its company, then the company's limits: the company or the refusal."""
        holder = self.oauth.bearer(request, self.clock())
        if holder is None:
            detail = "Token expired or invalid" if request.headers.get("Authorization") else "Token is missing"
            return auth_failed(now, self.auth_fault_case, detail)
        company = self.companies.get(realm)
        if company is None or holder[0] != company.realm:
            return forbidden(now)
        if not self.limits.admit(company.realm, self.clock()):
            return throttle_answer(self.limits.style, now)
        return company

    def _api(self, request: Request, endpoint: str, args: dict[str, str]) -> Response:
        now = self._now()
        company = self._admit(request, args["realm"], now)
        if isinstance(company, Response):
            return company
        try:
            answered: Response = self._route(request, endpoint, args, company, now)
            return answered
        except Fault as fault:
            return fault_answer(fault, now)
        finally:
            self._flush(company)

    def _route(self, request: Request, endpoint: str, args: dict[str, str], company: Company, now: datetime) -> Any:
        readers = {"query": self._query, "cdc": self._cdc, "upload": attachables.upload}
        if endpoint in readers:
            return readers[endpoint](request, company, now)
        entity = _ENTITY_PATHS.get(args["entity"].lower())
        if entity is None or (entity == "Attachable" and request.method == "POST"):
            raise unsupported(f"operation could not find resource for entity {args['entity']}")
        if endpoint == "send":
            row = self.books.send(company, entity, args["ident"], request.args.get("sendTo"), now)
            return answer({entity: row, "time": qbo_time(now, millis=True)})
        if endpoint == "pdf":
            return Response(self.books.pdf(company, entity, args["ident"]), content_type="application/pdf")
        if endpoint == "read" or request.method == "GET":
            return self._read(company, entity, args.get("ident"), now)
        return self._write(request, company, entity, now)

    def _read(self, company: Company, entity: str, ident: str | None, now: datetime) -> Response:
        if entity in ("CompanyInfo", "Preferences"):
            ident = "1"  # read as /companyinfo/{realmId} and /preferences
        if ident is None:
            raise unsupported(f"GET of {entity} needs an id")
        return answer({entity: company.get(entity, ident), "time": qbo_time(now, millis=True)})

    def _write(self, request: Request, company: Company, entity: str, now: datetime) -> Response:
        request_id = request.args.get("requestid")
        if request_id and request_id in company.replies:
            status, text = company.replies[request_id]
            return Response(text, status, content_type="application/json;charset=UTF-8")
        try:
            body = loads(request.get_data() or b"null")
            operation = request.args.get("operation", "").lower()
            if operation in ("delete", "void"):
                row = getattr(self.books, operation)(company, entity, body, now)
            elif operation:
                raise unsupported(f"Operation {operation} is not supported")
            elif isinstance(body, dict) and body.get("Id"):
                row = self.books.update(company, entity, body, now)
            else:
                row = self.books.create(company, entity, body, now)
            response = answer({entity: row, "time": qbo_time(now, millis=True)})
        except ValueError:
            detail = "The request body is not valid JSON"
            fault = Fault(400, "ValidationFault", ("2010", "Request has invalid or unsupported property", detail, ""))
            response = fault_answer(fault, now)
        except Fault as fault:
            response = fault_answer(fault, now)
        if request_id:
            company.replies[request_id] = (response.status_code, response.get_data(as_text=True))
        return response

    def _query(self, request: Request, company: Company, now: datetime) -> Response:
        text = request.args.get("query") if request.method == "GET" else request.get_data(as_text=True)
        parsed = qbo_query.parse(text or "")
        rows = list(company.table(parsed.entity).values())
        return answer({"QueryResponse": qbo_query.run(parsed, rows), "time": qbo_time(now, millis=True)})

    def _cdc(self, request: Request, company: Company, now: datetime) -> Response:
        names = [n.strip() for n in request.args.get("entities", "").split(",") if n.strip()]
        if not names:
            raise Fault(400, "ValidationFault", ("2020", "Required param missing", "entities is required", "entities"))
        try:
            since = parse_time(request.args.get("changedSince", ""))
        except ValueError:
            detail = "changedSince must be a date time like 2024-05-01T00:00:00Z"
            raise Fault(400, "ValidationFault", ("2020", "Required param missing", detail, "changedSince")) from None
        if since < now - CDC_WINDOW:
            detail = "changedSince is older than 30 days; do a full read with queries instead"
            raise Fault(400, "ValidationFault", ("10", "Invalid changedSince", detail, "changedSince"))
        responses, budget = [], CDC_MAX
        for name in names:
            responses.append(self._changed(company, _ENTITY_PATHS.get(name.lower(), name), since, budget))
            budget -= responses[-1].get("maxResults", 0)
        return answer({"CDCResponse": [{"QueryResponse": responses}], "time": qbo_time(now, millis=True)})

    @staticmethod
    def _changed(company: Company, entity: str, since: datetime, budget: int) -> dict[str, Any]:
        if entity not in ENTITIES:
            raise unsupported(f"CDC does not support entity {entity}")
        found: list[dict[str, Any]] = [
            row for row in company.table(entity).values() if parse_time(row["MetaData"]["LastUpdatedTime"]) >= since
        ]
        for ident, at in company.deleted.get(entity, {}).items():
            if at >= since:
                stamp = {"LastUpdatedTime": qbo_time(at)}
                found.append({"domain": "QBO", "status": "Deleted", "Id": ident, "MetaData": stamp})
        found = found[: max(budget, 0)]
        if not found:
            return {}
        return {entity: found, "startPosition": 1, "maxResults": len(found), "totalCount": len(found)}
