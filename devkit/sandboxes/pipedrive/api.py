"""HTTP routes of the Pipedrive sandbox: OAuth, the v2 API the connector reads and writes, v1 fields/webhooks.

Paging [V]: v2 lists take ``limit`` (default 100, max 500) and an opaque ``cursor``; the answer's
``additional_data.next_cursor`` is null on the last page. ``GET /api/v2/deals`` filters on ``status``
(comma list of open|won|lost|deleted; default: all but deleted), ``updated_since``/``updated_until``
(RFC 3339, ``update_time >=`` since), owner_id, person_id, org_id, pipeline_id, stage_id, ids; sorts on
``sort_by`` id|update_time|add_time and ``sort_direction``; leaves archived deals out. A limit over 500 is
refused with 400 [I]. v1 paths work with and without the ``/api`` prefix [V]. An unknown path answers 404
in Pipedrive's body [I]. OAuth scopes are not enforced [I: not modelled].
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from devkit.sandboxes.pipedrive import deals, fields
from devkit.sandboxes.pipedrive.budget import operation
from devkit.sandboxes.pipedrive.oauth import Grant, OAuthError
from devkit.sandboxes.pipedrive.webhooks import MAX_PER_USER, new_subscription
from devkit.sandboxes.pipedrive.wire import (
    PipedriveError,
    answer,
    bad_request,
    loads,
    not_found,
    ok,
    parse_rfc3339,
    unauthorized,
)

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

    from devkit.sandboxes.pipedrive.sandbox import PipedriveSandbox

ENTITY_NAMES = {"persons": ("person", "Person"), "organizations": ("organization", "Organization")}
ENTITY_NAMES["products"] = ("product", "Product")
ROUTES = {
    ("GET", "api/v2/deals"): "get_deals",
    ("GET", "api/v2/deals/{id}"): "get_deal",
    ("PATCH", "api/v2/deals/{id}"): "patch_deal",
    ("GET", "api/v2/deals/{id}/products"): "get_deal_products",
    ("GET", "api/v2/persons/{id}"): "get_record",
    ("GET", "api/v2/organizations/{id}"): "get_record",
    ("GET", "api/v2/products/{id}"): "get_record",
    ("GET", "v1/users/me"): "get_me",
    ("GET", "v1/dealFields"): "get_deal_fields",
    ("POST", "v1/dealFields"): "post_deal_field",
    ("GET", "v1/webhooks"): "list_webhooks",
    ("POST", "v1/webhooks"): "create_webhook",
    ("DELETE", "v1/webhooks/{id}"): "delete_webhook",
}


class PipedriveApi:
    def __init__(self, sandbox: PipedriveSandbox) -> None:
        self.sandbox = sandbox

    def handle(self, request: Request) -> Response:
        headers: dict[str, str] = {}
        try:
            if request.path.startswith("/oauth/"):
                return self._oauth(request)
            path = request.path.removeprefix("/api") if request.path.startswith("/api/v1/") else request.path
            identified = self.sandbox.tokens.identify(request.headers, request.args, self.sandbox.clock())
            if identified is None:
                raise unauthorized()
            grant, kind = identified
            parts = [p for p in path.split("/") if p]
            version = "v2" if path.startswith("/api/v2/") else "v1"
            company = self.sandbox.store.companies[grant.company_id]
            cost = self.sandbox.budget.limits.costs[
                (version, operation(request.method, bool(parts) and parts[-1].isdigit()))
            ]
            headers = self.sandbox.budget.admit(
                company_id=company.id,
                daily_budget=company.budget,
                user_id=grant.user_id,
                kind=kind,
                plan=company.plan,
                cost=cost,
                method=request.method,
                now=self.sandbox.clock(),
            )
            status, body = self._route(request, parts, grant)
            return answer(body, status, headers)
        except PipedriveError as error:
            if "html" in error.body:
                return Response(error.body["html"], status=error.status, mimetype="text/html", headers=error.headers)
            return answer(error.body, error.status, {**headers, **error.headers})

    # -- OAuth ------------------------------------------------------------------------------------------------
    def _oauth(self, request: Request) -> Response:
        sandbox = self.sandbox
        try:
            if request.path == "/oauth/authorize" and request.method == "GET":
                location = sandbox.tokens.authorize(dict(request.args), sandbox.consenting_grant(), sandbox.clock())
                return Response("", status=302, headers={"Location": location})
            if request.path in ("/oauth/token", "/oauth/token/") and request.method == "POST":
                grant, body = sandbox.tokens.token(
                    request.headers.get("Authorization", ""),
                    request.content_type or "",
                    dict(request.form),
                    sandbox.clock(),
                )
                body["api_domain"] = sandbox.api_domain(grant.company_id)
                return answer(body)
        except OAuthError as error:
            return answer(error.body, error.status)
        return answer(not_found("Route").body, 404)

    # -- API --------------------------------------------------------------------------------------------------
    def _route(self, request: Request, parts: list[str], grant: Grant) -> tuple[int, Any]:
        path = "/".join("{id}" if p.isdigit() else p for p in parts)
        ids = [int(p) for p in parts if p.isdigit()]
        handler = ROUTES.get((request.method, path))
        if handler is None:
            raise PipedriveError(404, f"Unknown method {request.method} {request.path}")
        with self.sandbox.lock:  # seeding may change the records from another thread meanwhile
            answered: tuple[int, Any] = getattr(self, handler)(request, grant, *ids)
        return answered

    def get_deals(self, request: Request, grant: Grant) -> tuple[int, Any]:
        return 200, self._list_deals(request.args, grant.company_id)

    def get_deal(self, request: Request, grant: Grant, deal_id: int) -> tuple[int, Any]:
        return 200, ok(deals.render(self._deal(deal_id, grant)))

    def patch_deal(self, request: Request, grant: Grant, deal_id: int) -> tuple[int, Any]:
        changes = self._json(request)
        deal = self.sandbox.change_deal(deal_id, changes, company=grant.company_id, source="api", user_id=grant.user_id)
        return 200, ok(deal)

    def get_deal_products(self, request: Request, grant: Grant, deal_id: int) -> tuple[int, Any]:
        self._deal(deal_id, grant)
        return 200, self._page(self.sandbox.store.products_of(deal_id), request.args, "id", "asc")

    def get_record(self, request: Request, grant: Grant, ident: int) -> tuple[int, Any]:
        entity, label = ENTITY_NAMES[request.path.split("/")[3]]
        record = self.sandbox.store.find(entity, ident, grant.company_id)
        if record is None:
            raise not_found(label)
        return 200, ok(record)

    def get_me(self, request: Request, grant: Grant) -> tuple[int, Any]:
        """``GET /v1/users/me`` [V endpoint, https://developers.pipedrive.com/docs/api/v1/Users#getCurrentUser]:
        the token's user with its company; the fields beyond id, name, email, company_id, company_name,
        company_domain are left out [I]."""
        company = self.sandbox.store.companies[grant.company_id]
        user = company.users[grant.user_id]
        me = {"id": user.id, "name": user.name, "email": user.email, "company_id": company.id}
        return 200, ok(me | {"company_name": company.name, "company_domain": company.domain})

    def get_deal_fields(self, request: Request, grant: Grant) -> tuple[int, Any]:
        page, extra = fields.page_v1(self.sandbox.deal_fields(grant.company_id), request.args)
        return 200, ok(page, extra)

    def post_deal_field(self, request: Request, grant: Grant) -> tuple[int, Any]:
        return 200, ok(self.sandbox.add_deal_field_from(self._json(request), grant))

    def _json(self, request: Request) -> dict[str, Any]:
        try:
            body = loads(request.get_data()) if request.get_data() else {}
        except ValueError as error:
            raise bad_request("Invalid JSON in request body") from error
        if not isinstance(body, dict):
            raise bad_request("Request body must be a JSON object")
        return body

    def _deal(self, deal_id: int, grant: Grant) -> dict[str, Any]:
        deal = self.sandbox.store.find("deal", deal_id, grant.company_id)
        if deal is None or deal["is_deleted"]:
            raise not_found("Deal")
        return deal

    def _list_deals(self, args: Any, company_id: int) -> dict[str, Any]:
        statuses = (args.get("status") or "open,won,lost").split(",")
        since = parse_rfc3339(args["updated_since"], "updated_since") if "updated_since" in args else None
        until = parse_rfc3339(args["updated_until"], "updated_until") if "updated_until" in args else None
        ids = {int(i) for i in args["ids"].split(",")} if args.get("ids") else None
        selected = []
        for deal in self.sandbox.store.deals.values():
            if self.sandbox.store.owner.get(("deal", deal["id"])) != company_id or deal["is_archived"]:
                continue
            status = "deleted" if deal["is_deleted"] else deal["status"]
            if status not in statuses or (ids is not None and deal["id"] not in ids):
                continue
            if (since and deal["update_time"] < since) or (until and deal["update_time"] >= until):
                continue
            filters = ("owner_id", "person_id", "org_id", "pipeline_id", "stage_id")
            if any(args.get(f) and str(deal[f]) != args[f] for f in filters):
                continue
            selected.append(deal)
        sort_by = args.get("sort_by", "id")
        if sort_by not in ("id", "update_time", "add_time"):
            raise bad_request("Validation failed: sort_by: must be one of id, update_time, add_time")
        body = self._page(selected, args, sort_by, args.get("sort_direction", "asc"))
        body["data"] = [deals.render(d) for d in body["data"]]
        return body

    def _page(self, items: list[dict[str, Any]], args: Any, sort_by: str, direction: str) -> dict[str, Any]:
        try:
            limit = int(args.get("limit", 100))
        except ValueError as error:
            raise bad_request("Validation failed: limit: must be an integer") from error
        if not 1 <= limit <= 500:
            raise bad_request("Validation failed: limit: must be between 1 and 500")

        def key(item: dict[str, Any]) -> tuple[float, int]:
            value = item[sort_by]
            return (value if isinstance(value, int) else value.timestamp(), item["id"])

        ordered = sorted(items, key=key, reverse=direction == "desc")
        if args.get("cursor"):
            try:
                mark = json.loads(base64.urlsafe_b64decode(args["cursor"].encode()))
                after = (mark["value"], mark["id"])
            except (ValueError, KeyError, TypeError) as error:
                raise bad_request("Validation failed: cursor: invalid cursor") from error
            ordered = [i for i in ordered if (key(i) < after if direction == "desc" else key(i) > after)]
        page = ordered[:limit]
        cursor = None
        if len(ordered) > limit:
            value, ident = key(page[-1])
            raw = json.dumps({"field": sort_by, "value": value, "id": ident}).encode()
            cursor = base64.urlsafe_b64encode(raw).decode()
        return ok(page, {"next_cursor": cursor})

    def _hooks(self, grant: Grant) -> list[dict[str, Any]]:
        kind = "general" if grant.client_id is None else "application"
        return [
            h
            for h in self.sandbox.webhooks.values()
            if h["company_id"] == grant.company_id and h["type"] == kind and h["_client"] == grant.client_id
        ]

    def list_webhooks(self, request: Request, grant: Grant) -> tuple[int, Any]:
        with self.sandbox.lock:
            return 200, {"success": True, "status": "ok", "data": [_public(h) for h in self._hooks(grant)]}

    def create_webhook(self, request: Request, grant: Grant) -> tuple[int, Any]:
        sandbox = self.sandbox
        body = self._json(request) if request.is_json else dict(request.form)
        user_id = int(body.get("user_id") or grant.user_id)
        with sandbox.lock:
            if sum(1 for h in self._hooks(grant) if h["user_id"] == user_id) >= MAX_PER_USER:
                raise PipedriveError(403, f"You have reached the maximum of {MAX_PER_USER} webhooks per user")
            ident = sandbox.store.next_id("webhook")
            app = grant.client_id is not None
            hook = new_subscription(ident, grant.company_id, grant.user_id, body, app, sandbox.clock())
            hook["_client"] = grant.client_id
            sandbox.webhooks[ident] = hook
            return 201, {"success": True, "status": "ok", "data": _public(hook)}

    def delete_webhook(self, request: Request, grant: Grant, hook_id: int) -> tuple[int, Any]:
        with self.sandbox.lock:
            if not any(h["id"] == hook_id for h in self._hooks(grant)):
                raise not_found("Webhook")
            del self.sandbox.webhooks[hook_id]
            return 200, {"success": True, "status": "ok"}


def _public(hook: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in hook.items() if not k.startswith("_")}
