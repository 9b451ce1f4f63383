"""Pipedrive sandbox: a real HTTP Pipedrive on loopback — OAuth, API tokens, the v2 deals API, v1 deal
fields and webhooks, v2 webhooks out, the daily token budget and the burst limit.

Talk to it like to ``https://{company}.pipedrive.com`` (``/api/v2/…``, ``/v1/…``) and to
``https://oauth.pipedrive.com`` (``/oauth/authorize``, ``/oauth/token``): both are served from
``base_url``, which is also the ``api_domain`` the token endpoint answers. The vendor facts, and what is
assumed where none were found, are written in README.md and in each module's docstring.

Scene from Python (see seeding.py): ``add_company`` (with its first user), ``add_user``, ``add_api_token``,
``add_oauth_client``, ``add_person``, ``add_organization``, ``add_product``, ``add_deal`` with
``ProductLine``s, ``add_deal_product``, ``update_deal``/``set_deal_status``, ``add_deal_field``; look with
``get_deal``, ``get_deal_products``, ``custom_field_values``, ``preview_deal``, ``received`` (requests),
``refresh_token_uses``, ``tokens_left``. Webhooks wait in an outbox (``pending_webhooks``) until
``deliver_webhooks`` (or ``auto_deliver=True``); a failed delivery comes back later with ``meta.attempt``
raised, like Pipedrive's retries.

Control over HTTP besides ``/_sandbox/faults|reset|state``: ``GET /_sandbox/webhooks``, ``POST
/_sandbox/webhooks/deliver`` and ``POST /_sandbox/config`` with any of ``burst_override``, ``burst_answer``
("429" | "403" | "html"), ``retry_after_header``, ``refresh_grace_seconds``, ``auto_deliver``,
``daily_budget`` (all companies). ``reset`` keeps companies, users and credentials, and drops records,
custom fields, webhooks, the outbox, OAuth sessions, spent tokens and the request log.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.kit.control import ControlRoutes
from devkit.sandboxes.kit.server import Sandbox
from devkit.sandboxes.pipedrive.api import PipedriveApi
from devkit.sandboxes.pipedrive.budget import BURST_ANSWERS, Budget, Limits
from devkit.sandboxes.pipedrive.delivery import Delivery, Outbox
from devkit.sandboxes.pipedrive.extensions import ExtensionRequest, extension_request
from devkit.sandboxes.pipedrive.oauth import TokenBook
from devkit.sandboxes.pipedrive.products import ProductLine
from devkit.sandboxes.pipedrive.seeding import Seeding
from devkit.sandboxes.pipedrive.store import Company, Store, User
from devkit.sandboxes.pipedrive.webhooks import new_subscription
from devkit.sandboxes.pipedrive.wire import PipedriveError, answer

if TYPE_CHECKING:
    from collections.abc import Callable

    from werkzeug.wrappers import Request, Response

    from devkit.sandboxes.kit.server import FaultPlan

__all__ = ["Company", "Delivery", "Limits", "PipedriveSandbox", "ProductLine", "Received", "User"]


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


class PipedriveSandbox(Seeding, Sandbox):
    name = "pipedrive"

    def __init__(
        self,
        faults: FaultPlan | None = None,
        *,
        limits: Limits | None = None,
        refresh_grace_seconds: float = 0.0,
        auto_deliver: bool = False,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(faults)
        self.store = Store()
        self.tokens = TokenBook(refresh_grace_seconds=refresh_grace_seconds)
        self.budget = Budget(limits or Limits())
        self.outbox = Outbox()
        self.webhooks: dict[int, dict[str, Any]] = {}
        self.auto_deliver = auto_deliver
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.lock = threading.RLock()
        self.received: list[Received] = []
        self.consenting_user: User | None = None
        self.api = PipedriveApi(self)
        self._initial_limits = copy.deepcopy(self.budget.limits)
        self._initial_grace, self._initial_auto = refresh_grace_seconds, auto_deliver

    # -- HTTP ---------------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        self.received.append(Received(request.method, request.path, dict(request.args), headers, request.get_data()))
        return self.api.handle(request)

    def fault_response(self, kind: str) -> Response:
        if kind == "throttle":
            error = PipedriveError(429, "Request over limit", {"Retry-After": str(self.faults.retry_after)})
        else:
            error = PipedriveError(503, "Service unavailable")
        return answer(error.body, error.status, error.headers)

    # -- webhooks -------------------------------------------------------------------------------------------------
    def register_webhook(
        self,
        event: str,
        url: str,
        *,
        user: User | None = None,
        http_auth: tuple[str, str] | None = None,
    ) -> dict[str, Any]:
        """The Python twin of ``POST /v1/webhooks`` (``event`` like "change.deal"; version 2.0)."""
        action, _, entity = event.partition(".")
        who = user or next(iter(self.company().users.values()))
        body = {"subscription_url": url, "event_action": action, "event_object": entity, "version": "2.0"}
        if http_auth:
            body |= {"http_auth_user": http_auth[0], "http_auth_password": http_auth[1]}
        with self.lock:
            hook = new_subscription(self.store.next_id("webhook"), who.company_id, who.id, body, False, self.clock())
            hook["_client"] = None
            self.webhooks[hook["id"]] = hook
            return {k: v for k, v in hook.items() if not k.startswith("_")}

    def pending_webhooks(self) -> list[Delivery]:
        return self.outbox.pending()

    # -- app extensions -----------------------------------------------------------------------------------------
    def app_extension_request(
        self,
        app_url: str,
        client_id: str,
        selected_ids: list[int],
        *,
        user: User | None = None,
        resource: str = "deal",
        view: str = "details",
        custom_ui: bool = False,
        now: datetime | None = None,
    ) -> ExtensionRequest:
        """The GET Pipedrive sends to an app's panel/action URL, its ``token`` signed with the app's JWT secret
        (or its client secret when it has none [V])."""
        client = self.tokens.clients[client_id]
        who = user or self.consenting_grant_user()
        return extension_request(
            app_url,
            user_id=who.id,
            company_id=who.company_id,
            secret=client.jwt_secret or client.client_secret,
            selected_ids=selected_ids,
            resource=resource,
            view=view,
            custom_ui=custom_ui,
            now=now or self.clock(),
        )

    # -- limits -------------------------------------------------------------------------------------------------
    def tokens_left(self, company: Company | int | None = None) -> int:
        target = self.company(company)
        return self.budget.tokens_left(target.id, target.budget, self.clock())

    def spend_tokens(self, tokens: int, company: Company | int | None = None) -> None:
        """Use up budget as the company's other integrations would."""
        self.budget.spend(self.company(company).id, tokens, self.clock())

    # -- configuration and control ----------------------------------------------------------------------------------
    def configure(self, settings: dict[str, Any]) -> None:
        limits = self.budget.limits
        for key, value in settings.items():
            if key == "burst_override":
                limits.burst_override = None if value is None else int(value)
            elif key == "burst_answer":
                if str(value) not in BURST_ANSWERS:
                    raise ValueError(f"burst_answer must be one of {BURST_ANSWERS}")
                limits.burst_answer = str(value)
            elif key == "retry_after_header":
                limits.retry_after_header = bool(value)
            elif key == "refresh_grace_seconds":
                self.tokens.refresh_grace_seconds = float(value)
            elif key == "auto_deliver":
                self.auto_deliver = bool(value)
            elif key == "daily_budget":
                for company in self.store.companies.values():
                    company.daily_budget = None if value is None else int(value)
            else:
                raise ValueError(f"unknown pipedrive setting {key!r}")

    def state(self) -> dict[str, Any]:
        with self.lock:
            companies = {
                c.id: {
                    "deals": sum(1 for k in self.store.owner if k[0] == "deal" and self.store.owner[k] == c.id),
                    "tokens_left": self.tokens_left(c),
                }
                for c in self.store.companies.values()
            }
        return {"companies": companies, "webhooks": len(self.webhooks), "pending_webhooks": len(self.outbox.pending())}

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self.store.clear_data()
            self.webhooks.clear()
            self.received.clear()
            self.consenting_user = None
        self.outbox.clear()
        self.budget.reset()
        self.budget.limits = copy.deepcopy(self._initial_limits)
        self.tokens.clear_sessions()
        self.tokens.refresh_grace_seconds = self._initial_grace
        self.auto_deliver = self._initial_auto
        for company in self.store.companies.values():
            company.daily_budget = company.initial_daily_budget

    def control_routes(self) -> ControlRoutes:
        def configure(body: dict[str, Any]) -> dict[str, Any]:
            self.configure(body)
            return self.state()

        def outbox() -> list[dict[str, Any]]:
            return [
                {"url": d.url, "event": d.event, "attempt": d.attempt, "headers": d.headers, "body": d.body.decode()}
                for d in self.pending_webhooks()
            ]

        return ControlRoutes(
            with_body={"config": configure},
            without_body={
                ("GET", "webhooks"): outbox,
                ("POST", "webhooks/deliver"): lambda: {
                    "delivered": [s for _, s in self.deliver_webhooks(due_only=False)]
                },
            },
        )
