"""Billy sandbox: a real HTTP Billy API v2 on loopback, for the Simply CRM ↔ Billy koppeling.

Talk to ``base_url + "/v2/…"`` as to ``https://api.billysbilling.com/v2`` with an ``X-Access-Token``. One
organization per token (``add_organization``), each created with Billy's reference data (countries, currencies,
Danish tax rates, sales-tax rulesets and rules, accounts; see reference.py). The vendor facts, and what is
assumed where none were found, are in README.md and in each module's docstring.

Control over HTTP besides the kit's ``/_sandbox/faults|reset|state``: ``POST /_sandbox/organizations``,
``POST /_sandbox/seed``, ``POST /_sandbox/change``, ``POST /_sandbox/delete``, ``POST /_sandbox/payments``,
``GET /_sandbox/records`` and ``POST /_sandbox/config`` (see control.py). ``reset`` keeps organizations,
their tokens and reference data, and drops contacts, products, invoices, payments, options and faults.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.billy.api import BillyApi
from devkit.sandboxes.billy.changes import Options
from devkit.sandboxes.billy.control import control
from devkit.sandboxes.billy.seeding import REFERENCE, Seeding
from devkit.sandboxes.billy.store import Organization, Store
from devkit.sandboxes.billy.wire import BillyError, error_response
from devkit.sandboxes.kit.server import Sandbox

if TYPE_CHECKING:
    from collections.abc import Callable

    from werkzeug.wrappers import Request, Response

    from devkit.sandboxes.kit.server import FaultPlan

__all__ = ["BillySandbox", "Options", "Organization"]


class BillySandbox(Seeding, Sandbox):
    name = "billy"

    def __init__(
        self,
        faults: FaultPlan | None = None,
        *,
        options: Options | None = None,
        seed: int = 0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(faults)
        self.store = Store(seed, clock or (lambda: datetime.now(UTC)))
        self.options = options or Options()
        self._initial_options = dict(vars(self.options))
        self.lock = threading.RLock()
        self.api = BillyApi(self)
        self.sent_emails: list[dict[str, Any]] = []
        self.received: list[tuple[str, str]] = []  # (method, path with query) of every API request

    # -- HTTP ---------------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        self.received.append((request.method, request.full_path.rstrip("?")))
        return self.api.handle(request)

    def fault_response(self, kind: str) -> Response:
        """Billy documents no rate limit; a throttle is the kit's 429 with Retry-After in Billy's error body [I]."""
        if kind == "throttle":
            headers = {"Retry-After": str(self.faults.retry_after)}
            error = BillyError(429, "Too many requests. Please slow down.", "TOO_MANY_REQUESTS", headers=headers)
        else:
            error = BillyError(503, "The service is temporarily unavailable.", "SERVICE_UNAVAILABLE")
        return error_response(error)

    def _control(self, request: Request) -> Response:
        answered = control(self, request)
        return answered if answered is not None else super()._control(request)

    # -- state --------------------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "options": dict(vars(self.options)),
                "organizations": {
                    org.id: {plural: len(table) for plural, table in org.tables.items() if plural not in REFERENCE}
                    for org in self.store.organizations.values()
                },
                "sentEmails": len(self.sent_emails),
            }

    def reset(self) -> None:
        super().reset()
        with self.lock:
            for org in self.store.organizations.values():
                for plural in [p for p in org.tables if p not in REFERENCE]:
                    del org.tables[plural]
                org.record["nextInvoiceNo"] = 1
            self.options = Options(**self._initial_options)
            self.sent_emails.clear()
            self.received.clear()

    def configure(self, settings: dict[str, Any]) -> None:
        """Switch the behaviours the docs leave open (see ``Options``)."""
        with self.lock:
            self.options.update(settings)
