"""Bizzcloud sandbox: an Odoo 17 tenant reached over Odoo's external API, on one loopback server (the vendor's
facts: koppel/connectors/bizzcloud/README.md).

Transports (``odoo/addons/base/controllers/rpc.py``):
- ``POST /jsonrpc`` ``{"jsonrpc": "2.0", "method": "call", "params": {"service", "method", "args"}, "id"}``; errors
  come back with HTTP 200 in ``{"error": {"code": 200, "message": "Odoo Server Error", "data": {...}}}``.
- ``POST /xmlrpc/2/common`` and ``/xmlrpc/2/object``; errors are Faults with Odoo's integer codes.
Services: ``common`` (``version``, ``login``, ``authenticate``) and ``object`` (``execute_kw``, ``execute``).
Passwords and API keys are interchangeable for RPC, as in Odoo >= 14; a failed ``authenticate`` answers ``False``,
a failed ``execute_kw`` raises AccessDenied ("Access Denied").
Parts: models (fields, reference data), store (generic ORM), domain (domains), accounting
(taxes, invoices, payments), pos (till orders), rpc (dispatch, encodings), errors (error shapes).

Switches for facts not confirmed [I]:
- ``accountant_installed``: a fully paid invoice reads ``in_payment`` (enterprise account_accountant) instead of
  ``paid`` (community) until ``reconcile_bank(move_id)``.
- ``set_rate_limit(per_second, per_minute)``: Bizzcloud's limit is unknown; off by default. A refusal is nginx's
  HTML 429 page; ``Retry-After`` is sent unless ``rate_limit_retry_after=False`` (plain nginx ``limit_req`` sends none).
- An unknown database name answers psycopg2's OperationalError text (a tenant without ``dbfilter``).
"""

from __future__ import annotations

import collections
import copy
import json
import threading
import time
import xmlrpc.client
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from devkit.sandboxes.bizzcloud import pos
from devkit.sandboxes.bizzcloud.accounting import Books
from devkit.sandboxes.bizzcloud.errors import AccessDenied, OdooError, PythonError, json_error, xmlrpc_fault
from devkit.sandboxes.bizzcloud.models import MODELS, Field, product_tax_name, reference_data
from devkit.sandboxes.bizzcloud.rpc import call_kw, decimals_from_floats, json_text, xml_text
from devkit.sandboxes.kit.server import FaultPlan, Sandbox

if TYPE_CHECKING:
    from collections.abc import Callable

    from werkzeug.wrappers import Request

API_PREFIXES = ("/jsonrpc", "/xmlrpc/")
VERSION = {
    "server_version": "17.0",
    "server_version_info": [17, 0, 0, "final", 0, ""],
    "server_serie": "17.0",
    "protocol_version": 1,
}
_NGINX_PAGE = "<html>\r\n<head><title>{0}</title></head>\r\n<body>\r\n<center><h1>{0}</h1></center>\r\n"
_NGINX_PAGE += "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class BizzcloudSandbox(Sandbox):
    """A faithful Odoo 17 external API for tests and the local stack; see the module docstring."""

    name = "bizzcloud"

    def __init__(
        self,
        *,
        faults: FaultPlan | None = None,
        clock: Callable[[], datetime] = _utcnow,
        db: str = "bizzcloud",
        accountant_installed: bool = False,
        rate_limit_retry_after: bool = True,
    ) -> None:
        super().__init__(faults or FaultPlan(applies_to=API_PREFIXES))
        self.faults.applies_to = self.faults.applies_to or API_PREFIXES
        self.clock = clock
        self.db = db
        self.accountant_installed = accountant_installed
        self.rate_limit_retry_after = rate_limit_retry_after
        self._lock = threading.RLock()
        self._clear()

    def _clear(self) -> None:
        self.books = Books(self._now, self.accountant_installed)
        for model, values in reference_data():
            self.books.insert(model, values)
        for product_id, product in self.books.data["product.product"].items():
            tax = pos.tax_id(self.books, product_tax_name(product["default_code"]))
            self.books.data["product.product"][product_id]["taxes_id"] = [tax]
        self.users: dict[int, dict[str, Any]] = {2: {"login": "admin", "password": "admin", "keys": set()}}
        self.rate_limit: tuple[int, int] | None = None
        self._hits: collections.deque[float] = collections.deque()

    def _now(self) -> datetime:
        return self.clock()

    def reset(self) -> None:
        super().reset()
        self.faults.applies_to = API_PREFIXES
        with self._lock:
            self._clear()

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"counts": {model: len(rows) for model, rows in self.books.data.items()}}

    # -- Python helpers for tests and the demo ------------------------------------------------------------------
    def set_clock(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock

    def add_user(self, login: str, api_key: str, password: str | None = None) -> int:
        with self._lock:
            uid = max(self.users) + 1
            self.users[uid] = {"login": login, "password": password, "keys": {api_key}}
            return uid

    def revoke_api_key(self, api_key: str) -> None:
        with self._lock:
            for user in self.users.values():
                user["keys"].discard(api_key)

    def add_custom_field(self, model: str, name: str, field_type: str, string: str | None = None) -> None:
        """A Studio field (``x_`` prefix is Odoo's rule for manual fields)."""
        if not name.startswith("x_"):
            raise ValueError("Custom fields must have a name that starts with 'x_' !")
        with self._lock:
            self.books.custom[model][name] = Field(field_type, string or name)

    def add_partner(self, **fields: Any) -> int:
        with self._lock:
            return self.books.create("res.partner", {"customer_rank": 1} | fields)

    def create_invoice(
        self,
        partner_id: int,
        lines: list[dict[str, Any]],
        invoice_date: str | None = None,
        move_type: str = "out_invoice",
        post: bool = True,
        reversed_entry_id: int | None = None,
        **fields: Any,
    ) -> int:
        with self._lock:
            commands = [(0, 0, self._line_values(line)) for line in lines]
            values = {"move_type": move_type, "partner_id": partner_id, "invoice_line_ids": commands}
            values |= {"invoice_date": invoice_date or False, "reversed_entry_id": reversed_entry_id or False}
            move_id = self.books.create("account.move", values | fields)
            if post:
                self.books.post([move_id])
            return move_id

    def _line_values(self, line: dict[str, Any]) -> dict[str, Any]:
        values = {key: value for key, value in line.items() if key != "tax_names"}
        if "tax_names" in line:
            values["tax_ids"] = [pos.tax_id(self.books, name) for name in line["tax_names"]]
        return values

    def post(self, move_id: int) -> None:
        with self._lock:
            self.books.post([move_id])

    def cancel(self, move_id: int) -> None:
        with self._lock:
            self.books.cancel([move_id])

    def register_payment(self, move_id: int, amount: Decimal | str, date: str | None = None) -> int:
        """What the register-payment wizard does; returns the account.payment id."""
        with self._lock:
            return self.books.pay([move_id], Decimal(str(amount)), date or self.books.today())

    def reverse(self, move_id: int) -> int:
        """A full credit note for the invoice, reconciled with it: the invoice then reads ``reversed``."""
        with self._lock:
            move = self.books.data["account.move"][move_id]
            lines = self.books.read("account.move.line", self.books.raw("account.move", move_id, "invoice_line_ids"))
            keys = ("name", "quantity", "price_unit", "discount")
            copies = [{key: line[key] for key in keys} | {"tax_ids": line["tax_ids"]} for line in lines]
            copies = [
                c | {"product_id": line["product_id"][0]} if line["product_id"] else c
                for c, line in zip(copies, lines, strict=True)
            ]
            credit_id = self.create_invoice(move["partner_id"], copies, self.books.today(), "out_refund", True, move_id)
            self.books.settle(credit_id, self.books.data["account.move"][credit_id]["amount_total"])
            move["_reversed"] = True
            self.books.settle(move_id, move["amount_residual"])
            return credit_id

    def reconcile_bank(self, move_id: int) -> None:
        """Bank statement matched: ``in_payment`` becomes ``paid`` (only differs with ``accountant_installed``)."""
        with self._lock:
            move = self.books.data["account.move"][move_id]
            if move["payment_state"] == "in_payment":
                move["payment_state"] = "paid"
                self.books.touch("account.move", move_id)

    def create_pos_order(
        self,
        lines: list[dict[str, Any]],
        payments: list[tuple[str, Any]],
        partner_id: int | None = None,
        invoice: bool = False,
    ) -> int:
        with self._lock:
            return pos.create_order(self.books, lines, payments, partner_id, invoice)

    def close_session(self) -> None:
        with self._lock:
            pos.close_session(self.books)

    def touch(self, model: str, record_id: int) -> None:
        with self._lock:
            self.books.touch(model, record_id)

    def records(self, model: str, fields: list[str] | None = None) -> list[dict[str, Any]]:
        """What search_read without a domain returns (Decimals for amounts), in id order."""
        with self._lock:
            return copy.deepcopy(self.books.read(model, self.books.search(model, [], order="id"), fields))

    def tax_id(self, name: str) -> int:
        return pos.tax_id(self.books, name)

    def set_rate_limit(self, per_second: int | None, per_minute: int | None) -> None:
        with self._lock:
            self.rate_limit = (per_second or 0, per_minute or 0) if per_second or per_minute else None
            self._hits.clear()

    # -- HTTP ---------------------------------------------------------------------------------------------------
    def fault_response(self, kind: str) -> Response:
        if kind == "throttle":
            return self._nginx(429, "429 Too Many Requests", self.faults.retry_after)
        return self._nginx(503, "503 Service Temporarily Unavailable", None)

    def _nginx(self, status: int, title: str, retry_after: int | None) -> Response:
        headers = {"Retry-After": str(retry_after)} if retry_after and self.rate_limit_retry_after else {}
        return Response(_NGINX_PAGE.format(title), status=status, mimetype="text/html", headers=headers)

    def _throttled(self) -> int | None:
        with self._lock:
            if self.rate_limit is None:
                return None
            now = time.monotonic()
            while self._hits and now - self._hits[0] >= 60:
                self._hits.popleft()
            per_second, per_minute = self.rate_limit
            last_second = sum(1 for hit in self._hits if now - hit < 1)
            if per_second and last_second >= per_second:
                return 1
            if per_minute and len(self._hits) >= per_minute:
                return max(1, int(60 - (now - self._hits[0])) + 1)
            self._hits.append(now)
            return None

    def handle(self, request: Request) -> Response:
        if request.method != "POST" or not request.path.startswith(API_PREFIXES):
            return Response(_NGINX_PAGE.format("404 Not Found"), status=404, mimetype="text/html")
        wait = self._throttled()
        if wait is not None:
            return self._nginx(429, "429 Too Many Requests", wait)
        if request.path == "/jsonrpc":
            return self._jsonrpc(request)
        service = request.path.removeprefix("/xmlrpc/2/")
        if service not in ("common", "object", "db"):
            return Response(_NGINX_PAGE.format("404 Not Found"), status=404, mimetype="text/html")
        return self._xmlrpc(service, request)

    def _jsonrpc(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data(as_text=True), parse_float=Decimal)
        except ValueError:
            return Response("<h1>Bad Request</h1><p>Invalid JSON data</p>", status=400, mimetype="text/html")
        params = body.get("params") or {}
        envelope: dict[str, Any] = {"jsonrpc": "2.0", "id": body.get("id")}
        try:
            envelope["result"] = self.dispatch(params.get("service"), params.get("method"), params.get("args") or [])
        except OdooError as error:
            envelope["error"] = json_error(error)
        return Response(json_text(envelope), mimetype="application/json")

    def _xmlrpc(self, service: str, request: Request) -> Response:
        try:
            params, method = xmlrpc.client.loads(request.get_data(), use_builtin_types=True)
            result = self.dispatch(service, method or "", decimals_from_floats(list(params)))
            text = xml_text((result,))
        except OdooError as error:
            text = xml_text(xmlrpc_fault(error))
        except TypeError as error:  # a None deep in a result: Odoo's marshaller refuses it the same way
            text = xml_text(xmlrpc_fault(PythonError("TypeError", str(error))))
        return Response(text, mimetype="text/xml")

    # -- services -----------------------------------------------------------------------------------------------
    def dispatch(self, service: Any, method: Any, args: list[Any]) -> Any:
        with self._lock:
            if service == "common":
                return self._common(method, args)
            if service == "object":
                return self._object(method, args)
            raise PythonError("KeyError", repr(service))

    def _common(self, method: str, args: list[Any]) -> Any:
        if method == "version":
            return dict(VERSION)
        if method in ("login", "authenticate"):
            db, login, secret = [*args, None, None, None][:3]
            self._check_db(db)
            uid = next((uid for uid, user in self.users.items() if user["login"] == login), None)
            return uid if uid is not None and self._secret_ok(uid, secret) else False
        raise PythonError("KeyError", repr(f"exp_{method}"))

    def _object(self, method: str, args: list[Any]) -> Any:
        if method not in ("execute", "execute_kw"):
            raise PythonError("NameError", f"Method not available {method}")
        db, uid, secret, model, name = (list(args) + [None] * 5)[:5]
        rest = list(args[5:])
        self._check_db(db)
        try:
            uid = int(uid)
        except (TypeError, ValueError):
            raise AccessDenied() from None
        if uid not in self.users or not self._secret_ok(uid, secret):
            raise AccessDenied()
        if method == "execute":
            return call_kw(self.books, str(model), str(name), rest, {})
        positional, keywords = [*rest, [], {}][:2]
        return call_kw(self.books, str(model), str(name), list(positional or []), dict(keywords or {}))

    def _check_db(self, db: Any) -> None:
        if db != self.db:
            raise PythonError("OperationalError", f'FATAL:  database "{db}" does not exist\n', module="psycopg2")

    def _secret_ok(self, uid: int, secret: Any) -> bool:
        user = self.users[uid]
        return bool(secret) and (secret == user["password"] or secret in user["keys"])


__all__ = ["MODELS", "BizzcloudSandbox"]
