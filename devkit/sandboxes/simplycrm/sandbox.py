"""Simply CRM sandbox: a real HTTP vtiger ``webservice.php`` on loopback (Simply CRM is a vtiger fork and
keeps its webservice). Talk to ``{base_url}/webservice.php`` as to ``https://{instance}/webservice.php``.

Python helpers: ``add_user``, ``add_contact`` / ``add_account`` / ``add_product`` / ``add_invoice`` (or
``seed``), ``add_custom_field``, ``set_session_lifetime``, ``change_by_person`` (an edit in the CRM's UI:
bumps modifiedtime), ``delete_by_person``, ``records(module)``, ``retrieve(id)``. Time comes from ``clock``
(unix seconds), so tests can move it. Control routes besides ``/_sandbox/faults|reset|state``:
``POST /_sandbox/users``, ``/_sandbox/seed``, ``/_sandbox/custom_fields``, ``/_sandbox/config``,
``/_sandbox/change``, ``/_sandbox/delete`` and ``GET /_sandbox/records/<Module>`` (see README.md).
``reset`` keeps users and drops records, custom fields, sessions and challenges.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, ClassVar

from werkzeug.wrappers import Response

from devkit.sandboxes.kit.server import Sandbox, json_response
from devkit.sandboxes.simplycrm import api, records
from devkit.sandboxes.simplycrm.auth import Gate, User, access_digest
from devkit.sandboxes.simplycrm.store import Store, visible
from devkit.sandboxes.simplycrm.wire import VtigerError

if TYPE_CHECKING:
    from collections.abc import Callable

    from werkzeug.wrappers import Request

    from devkit.sandboxes.kit.server import FaultPlan

__all__ = ["SimplyCrmSandbox", "User", "access_digest"]

OUTAGE_PAGE = (
    "<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>"
)
THROTTLE_PAGE = "<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1></body></html>"


class SimplyCrmSandbox(Sandbox):
    name = "simplycrm"

    def __init__(
        self,
        faults: FaultPlan | None = None,
        *,
        session_lifetime: float = 86400.0,
        clock: Callable[[], float] | None = None,
        vtiger_version: str = "7.1.0",
    ) -> None:
        super().__init__(faults)
        self.store = Store()
        self.gate = Gate(session_lifetime)
        self.clock: Callable[[], float] = clock or time.time
        self.vtiger_version = vtiger_version
        self.lock = threading.RLock()
        self._initial_lifetime = session_lifetime

    # -- HTTP ---------------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        return api.handle(self, request)

    def fault_response(self, kind: str) -> Response:
        """vtiger has no throttle of its own and no JSON for an outage: what the client meets is the web server
        in front of PHP answering an HTML page [I]."""
        if kind == "throttle":
            return Response(THROTTLE_PAGE, 429, {"Retry-After": str(self.faults.retry_after)}, mimetype="text/html")
        return Response(OUTAGE_PAGE, 503, mimetype="text/html")

    # -- helpers ------------------------------------------------------------------------------------------------
    def add_user(self, user_name: str = "admin", access_key: str = "0123456789abcdef", **details: Any) -> str:
        """A CRM user with its access key (My Preferences); returns its webservice id ``19x<n>``."""
        with self.lock:
            number = max(self.gate.users, default=0) + 1
            user = User(number, user_name, access_key, **details)
            self.gate.users[number] = user
            module = self.store.modules["Users"]
            webservice_id = f"{module.id_prefix}x{number}"
            record: dict[str, Any] = {
                "user_name": user_name,
                "first_name": user.first_name,
                "last_name": user.last_name or user_name,
                "email1": user.email or f"{user_name}@example.com",
                "status": "Active" if user.active else "Inactive",
                "is_admin": "on" if user.is_admin else "off",
                "id": webservice_id,
                "_mtime": int(self.clock()),
                "_deleted": False,
            }
            self.store.put(module, number, record)
            return webservice_id

    def seed(self, module: str, element: dict[str, Any], owner: str | None = None) -> dict[str, Any]:
        """A record made as through ``create`` (same checks); ``owner`` defaults to the first user."""
        with self.lock:
            owner = owner or element.get("assigned_user_id") or f"19x{min(self.gate.users)}"
            element = {"assigned_user_id": owner, **element}
            return records.create(self.store, module, element, owner, self.clock())

    def add_contact(self, lastname: str, **fields: Any) -> dict[str, Any]:
        return self.seed("Contacts", {"lastname": lastname, **fields})

    def add_account(self, accountname: str, **fields: Any) -> dict[str, Any]:
        return self.seed("Accounts", {"accountname": accountname, **fields})

    def add_product(self, productname: str, unit_price: str = "0", **fields: Any) -> dict[str, Any]:
        return self.seed("Products", {"productname": productname, "unit_price": unit_price, **fields})

    def add_invoice(self, subject: str, account_id: str, line_items: list[dict[str, Any]], **fields: Any) -> Any:
        street = {"bill_street": "Dorpsstraat 1", "ship_street": "Dorpsstraat 1"}
        element = {"subject": subject, "account_id": account_id, **street, "LineItems": line_items, **fields}
        return self.seed("Invoice", element)

    def add_custom_field(self, module: str, label: str, type_name: str = "string") -> str:
        """A ``cf_NNN`` field (as an admin adds one in Settings); returns its name."""
        with self.lock:
            return self.store.add_custom_field(module, label, type_name)

    def set_session_lifetime(self, seconds: float) -> None:
        self.gate.session_lifetime = seconds

    def configure(self, settings: dict[str, Any]) -> dict[str, Any]:
        """``POST /_sandbox/config``: ``session_lifetime`` (seconds) and ``vtiger_version``."""
        for key, value in settings.items():
            if key == "session_lifetime":
                self.set_session_lifetime(float(value))
            elif key == "vtiger_version":
                self.vtiger_version = str(value)
            else:
                raise ValueError(f"unknown simplycrm setting {key!r}")
        return self.state()

    def change_by_person(self, webservice_id: str, changes: dict[str, Any], by: str | None = None) -> Any:
        """An edit in the CRM's own screens: same rules as revise, modifiedtime moves."""
        with self.lock:
            user = by or f"19x{min(self.gate.users)}"
            return records.change(self.store, {**changes, "id": webservice_id}, user, self.clock(), partial=True)

    def delete_by_person(self, webservice_id: str, by: str | None = None) -> str:
        with self.lock:
            records.existing(self.store, webservice_id)
            self.store.delete(webservice_id, self.clock(), by or f"19x{min(self.gate.users)}")
            return webservice_id

    def retrieve(self, webservice_id: str) -> dict[str, Any]:
        with self.lock:
            return records.shown(self.store, records.existing(self.store, webservice_id)[1])

    def records(self, module: str) -> list[dict[str, Any]]:
        """Every live record of a module as retrieve answers it (invoices with their LineItems)."""
        with self.lock:
            return [
                records.shown(self.store, r) if module == "Invoice" else visible(r) for r in self.store.live(module)
            ]

    # -- control --------------------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        with self.lock:
            counts = {m: len(self.store.live(m)) for m in self.store.modules}
            return {"records": counts, "sessions": len(self.gate.sessions), "lifetime": self.gate.session_lifetime}

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self.store.clear()
            self.gate.sessions.clear()
            self.gate.tokens.clear()
            self.gate.session_lifetime = self._initial_lifetime

    def _control(self, request: Request) -> Response:
        action = request.path.removeprefix("/_sandbox/")
        body = request.get_json(force=True, silent=True) or {}
        try:
            if request.method == "GET" and action.startswith("records/"):
                return json_response(self.records(action.removeprefix("records/")))
            if request.method == "POST" and action in self._ROUTES:
                return json_response(self._ROUTES[action](self, body))
        except VtigerError as error:
            return json_response({"code": error.code, "message": error.message}, 400)
        except (KeyError, TypeError, ValueError) as error:
            return json_response({"error": str(error)}, 400)
        return super()._control(request)

    _ROUTES: ClassVar[dict[str, Callable[[SimplyCrmSandbox, dict[str, Any]], Any]]] = {
        "users": lambda s, b: {"id": s.add_user(b["user_name"], b["access_key"])},
        "seed": lambda s, b: s.seed(b["module"], b["element"], b.get("owner")),
        "custom_fields": lambda s, b: {"name": s.add_custom_field(b["module"], b["label"], b.get("type", "string"))},
        "config": lambda s, b: s.configure(b),
        "change": lambda s, b: s.change_by_person(b["id"], b["changes"]),
        "delete": lambda s, b: {"deleted": s.delete_by_person(b["id"])},
    }
