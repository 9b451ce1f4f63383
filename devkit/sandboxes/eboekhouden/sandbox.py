"""e-Boekhouden.nl REST API sandbox (api.e-boekhouden.nl) on one loopback server (the vendor's facts:
koppel/connectors/eboekhouden/README.md).

Surface: ``POST``/``DELETE /v1/session``; ``GET``/``POST /v1/relation``, ``GET``/``PATCH /v1/relation/{id}``;
``GET``/``POST /v1/ledger``, ``GET``/``PATCH /v1/ledger/{id}``; ``GET``/``POST /v1/mutation``,
``GET /v1/mutation/{id}``, ``GET /v1/mutation/invoice/outstanding``. Each API token (``add_administration``)
opens one administration seeded with a default Dutch chart. The parts: endpoints (the HTTP routes), session
(tokens, sessions, rate limit), store (relations, ledgers), mutations (bookings, VAT, open items), wire (error
shape, two-decimal JSON, paging and filters), chart (chart, VAT codes).
Each module's docstring says which facts are confirmed and which are [I] (unverified).

Switches (constructor, and ``POST /_sandbox/settings``): ``refuse_duplicate_invoice_numbers`` (MUT_019, verified;
default True, off only in the chaos harness), ``strict_ledger_categories`` (True),
``outstanding_filters_by_relation`` (False), ``purchase_numbers_unique_per_relation`` (False: a supplier's
invoice number is refused MUT_019 when any invoice received holds it; True: only when that supplier's does),
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

from devkit.sandboxes.eboekhouden import mutations
from devkit.sandboxes.eboekhouden.endpoints import Endpoints
from devkit.sandboxes.eboekhouden.session import Sessions, throttled
from devkit.sandboxes.eboekhouden.store import Administration, Ids
from devkit.sandboxes.eboekhouden.wire import ApiError, answer, error_answer
from devkit.sandboxes.kit.control import ControlRoutes, Switches, decimal_body, rate_limit_action, refused
from devkit.sandboxes.kit.server import FaultPlan, Sandbox

if TYPE_CHECKING:
    from collections.abc import Callable

    from werkzeug.wrappers import Response

API_PREFIXES = ("/v1",)
SWITCHES = Switches(
    {
        "refuse_duplicate_invoice_numbers": bool,
        "strict_ledger_categories": bool,
        "outstanding_filters_by_relation": bool,
        "purchase_numbers_unique_per_relation": bool,
        "accept_bearer": bool,
        "session_ttl": int,
    }
)


class EboekhoudenSandbox(Endpoints, Sandbox):
    """A faithful e-Boekhouden for tests, the demo and the chaos suite; see the module docstring."""

    name = "eboekhouden"
    fault_paths = API_PREFIXES

    def __init__(
        self,
        *,
        faults: FaultPlan | None = None,
        clock: Callable[[], float] = time.time,
        session_ttl: int = 3600,
        refuse_duplicate_invoice_numbers: bool = True,
        strict_ledger_categories: bool = True,
        outstanding_filters_by_relation: bool = False,
        purchase_numbers_unique_per_relation: bool = False,
        accept_bearer: bool = False,
    ) -> None:
        super().__init__(faults)
        self.clock = clock
        self.session_ttl = session_ttl
        self.refuse_duplicate_invoice_numbers = refuse_duplicate_invoice_numbers
        self.strict_ledger_categories = strict_ledger_categories
        self.outstanding_filters_by_relation = outstanding_filters_by_relation
        self.purchase_numbers_unique_per_relation = purchase_numbers_unique_per_relation
        self.accept_bearer = accept_bearer
        self._settings = SWITCHES.describe(self)
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
        return self._pay(api_token, 3, invoice_number, amount, date)

    def pay_supplier(self, api_token: str, invoice_number: str, amount: Decimal | int | str, date: str) -> int:
        """Book a payment to a supplier: a type 4 mutation (invoice payment sent) from bank 1100."""
        return self._pay(api_token, 4, invoice_number, amount, date)

    def delete_mutation(self, api_token: str, ident: int) -> None:
        """A person deletes a mutation in e-Boekhouden's screens (the API offers no delete)."""
        with self._lock:
            del self.administration(api_token).mutations[ident]

    def _pay(self, api_token: str, kind: int, invoice_number: str, amount: Decimal | int | str, date: str) -> int:
        with self._lock:
            admin = self.administration(api_token)
            settles = mutations.PAYMENT_TYPES[kind]
            invoices = [
                m for m in admin.mutations.values() if m["type"] == settles and m["invoiceNumber"] == invoice_number
            ]
            if not invoices:
                raise KeyError(f"no invoice {invoice_number!r} in this administration")
            body = {
                "type": kind,
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
            self.sessions.limits.set(self.administration(api_token).id, per_second, per_minute)

    def _book(self, admin: Administration, body: Any) -> dict[str, Any]:
        return mutations.create_mutation(
            admin,
            body,
            refuse_duplicates=self.refuse_duplicate_invoice_numbers,
            strict_ledgers=self.strict_ledger_categories,
            per_relation=self.purchase_numbers_unique_per_relation,
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
                "settings": SWITCHES.describe(self),
            }

    def reset(self) -> None:
        """Forget all administrations, tokens, limits and faults; settings go back to the constructor's."""
        with self._lock:
            super().reset()
            SWITCHES.restore(self, self._settings)
            self._clear()

    def fault_response(self, kind: str) -> Response:
        if kind == "throttle":
            return error_answer(throttled(int(self.faults.retry_after)))
        return error_answer(ApiError(503, "API_UNAVAILABLE_901", "The service is temporarily unavailable"))

    def control_routes(self) -> ControlRoutes:
        def add_administration(body: dict[str, Any]) -> dict[str, Any]:
            return {"accessToken": self.add_administration(str(body.get("name") or "Demo"))}

        def pay(body: dict[str, Any]) -> dict[str, Any]:
            return {"id": self.pay(body["accessToken"], body["invoiceNumber"], body["amount"], body["date"])}

        def settings(body: dict[str, Any]) -> dict[str, Any]:
            with self._lock:
                return SWITCHES.apply(self, body)

        return ControlRoutes(
            with_body={
                "administrations": add_administration,
                "settings": settings,
                "rate-limit": rate_limit_action(self.set_rate_limit, "accessToken"),
                "pay": pay,
            },
            read=decimal_body,
            write=answer,
            refusals=(ApiError, KeyError, ValueError, TypeError),
            refuse=lambda error: error_answer(error) if isinstance(error, ApiError) else refused(error),
        )
