"""The sandbox's control over HTTP (``POST /_sandbox/<action>``, JSON in and out), for the local stack and demos.

Besides the kit's ``faults``, ``reset`` and ``state``: ``companies`` {name, realm?} → {realmId}; ``clients``
{client_id, client_secret, redirect_uris?}; ``tokens`` {realmId} → the token endpoint's answer; ``names``
{realmId, entity: Customer|Vendor|Employee, name, email?} → the row; ``settings`` {refresh_grace, access_ttl,
require_global_tax_calculation, refuse_duplicate_docnumber, auth_fault_case}; ``rate-limit`` {per_second,
per_minute, style}; ``webhook`` {url, verifier_token, format}; ``deliver-webhooks`` → {delivered};
``pay`` {realmId, invoiceId, amount} → the payment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devkit.sandboxes.kit.server import json_response
from devkit.sandboxes.quickbooks.helpers import SeedingMixin
from devkit.sandboxes.quickbooks.wire import Fault, answer, loads

if TYPE_CHECKING:
    from werkzeug.wrappers import Request, Response

SETTINGS = ("refresh_grace", "access_ttl", "require_global_tax_calculation", "refuse_duplicate_docnumber")


class ControlMixin(SeedingMixin):
    """Routes ``/_sandbox/*`` actions to the sandbox's Python API (see helpers.py)."""

    auth_fault_case: str

    def _control(self, request: Request) -> Response:
        action = request.path.removeprefix("/_sandbox/").replace("-", "_")
        handler = getattr(self, f"_control_{action}", None)
        if request.method != "POST" or handler is None:
            return super()._control(request)  # type: ignore[misc,no-any-return]  # the kit's Sandbox, next in line
        try:
            return answer(handler(loads(request.get_data() or b"{}")))
        except (KeyError, ValueError, TypeError) as error:
            return json_response({"error": str(error)}, 400)
        except Fault as fault:
            return json_response({"error": str(fault)}, 400)

    def _control_companies(self, body: dict[str, Any]) -> dict[str, Any]:
        realm = self.add_company(str(body.get("name") or "Koppel Sandbox Ltd"), realm=body.get("realm"))
        return {"realmId": realm}

    def _control_clients(self, body: dict[str, Any]) -> dict[str, Any]:
        self.add_client(body["client_id"], body["client_secret"], tuple(body.get("redirect_uris") or ()))
        return {"ok": True}

    def _control_tokens(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.issue_tokens(body["realmId"])

    def _control_names(self, body: dict[str, Any]) -> dict[str, Any]:
        adders = {"Customer": "add_customer", "Vendor": "add_vendor", "Employee": "add_employee"}
        adder = getattr(self, adders[body.get("entity", "Customer")])
        extra = {"email": body["email"]} if body.get("email") and body.get("entity", "Customer") == "Customer" else {}
        row: dict[str, Any] = adder(body["realmId"], body["name"], **extra)
        return row

    def _control_settings(self, body: dict[str, Any]) -> dict[str, Any]:
        sandbox = self
        with sandbox._lock:
            for key in SETTINGS:
                if key in body:
                    target = sandbox.oauth if key in ("refresh_grace", "access_ttl") else sandbox.books
                    setattr(target, key, type(getattr(target, key))(body[key]))
            if body.get("auth_fault_case") in ("lower", "upper"):
                sandbox.auth_fault_case = body["auth_fault_case"]
            return {
                "refresh_grace": sandbox.oauth.refresh_grace,
                "access_ttl": sandbox.oauth.access_ttl,
                "require_global_tax_calculation": sandbox.books.require_global_tax_calculation,
                "refuse_duplicate_docnumber": sandbox.books.refuse_duplicate_docnumber,
                "auth_fault_case": sandbox.auth_fault_case,
            }

    def _control_rate_limit(self, body: dict[str, Any]) -> dict[str, Any]:
        self.set_rate_limit(body.get("per_second"), body.get("per_minute"), str(body.get("style", "429")))
        return {"ok": True}

    def _control_webhook(self, body: dict[str, Any]) -> dict[str, Any]:
        self.set_webhook(body["url"], body["verifier_token"], body.get("format", "classic"))
        return {"ok": True}

    def _control_deliver_webhooks(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"delivered": self.deliver_webhooks() is not None}

    def _control_pay(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.record_payment(body["realmId"], str(body["invoiceId"]), body["amount"])
