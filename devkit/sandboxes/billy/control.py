"""Control routes of the Billy sandbox, for tests, ``make demo`` and ``make chaos`` that drive it over HTTP.

Organizations are named by ``token`` (the access token) in the JSON body or query; the first one when left out.
- ``POST /_sandbox/organizations`` ``{"name"?, "token"?, "email"?}`` → ``{"organization": {...}, "token": ...}``
- ``POST /_sandbox/seed`` ``{"token"?, "contacts": [...], "products": [...], "invoices": [...]}`` — bodies as
  the API takes them (``contacts`` may embed ``contactPersons``, products ``prices``, invoices ``lines``;
  an invoice with ``"state": "approved"`` is approved) → the created records by plural name
- ``POST /_sandbox/change`` ``{"resource": "contacts", "id": ..., "changes": {...}}`` — as a person in Billy's app
- ``POST /_sandbox/delete`` ``{"resource": ..., "id": ...}``
- ``POST /_sandbox/payments`` ``{"invoiceId": ..., "amount"?, "entryDate"?, "fee"?}`` → the bank payment
- ``GET /_sandbox/records?token=&resource=`` → one resource's records, or every business record without
  ``resource``; ``GET /_sandbox/emails`` → the invoice e-mails "sent"
- ``POST /_sandbox/config`` with any of the ``Options`` fields → the sandbox state
A refusal comes back in Billy's error shape with Billy's status.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devkit.sandboxes.billy.store import public
from devkit.sandboxes.billy.wire import BillyError, answer, error_response, loads
from devkit.sandboxes.kit.server import json_response

if TYPE_CHECKING:
    from werkzeug.wrappers import Request, Response

    from devkit.sandboxes.billy.sandbox import BillySandbox


def control(sandbox: BillySandbox, request: Request) -> Response | None:
    """Answer a Billy control route, or None to let the kit answer (faults, reset, state)."""
    action = request.path.removeprefix("/_sandbox/")
    handler = ROUTES.get((request.method, action))
    if handler is None:
        return None
    data = dict(request.args.items())
    if request.method == "POST":
        body = loads(request.get_data() or b"{}")
        data |= body if isinstance(body, dict) else {}
    try:
        return handler(sandbox, data)
    except BillyError as error:
        return error_response(error)
    except (KeyError, ValueError, TypeError) as error:
        return json_response({"error": str(error)}, 400)


def _organizations(sandbox: BillySandbox, data: dict[str, Any]) -> Response:
    org = sandbox.add_organization(**{k: data[k] for k in ("name", "token", "email") if k in data})
    return answer({"organization": public(org.record), "token": org.token})


def _seed(sandbox: BillySandbox, data: dict[str, Any]) -> Response:
    created: dict[str, list[Any]] = {}
    for plural in ("contacts", "products", "invoices"):
        for body in data.get(plural, []):
            created.setdefault(plural, []).append(sandbox.seed(plural, body, data.get("token")))
    return answer(created)


def _change(sandbox: BillySandbox, data: dict[str, Any]) -> Response:
    record = sandbox.change_by_person(data["resource"], data["id"], data.get("token"), **data.get("changes", {}))
    return answer({data["resource"]: [record]})


def _delete(sandbox: BillySandbox, data: dict[str, Any]) -> Response:
    sandbox.delete_record(data["resource"], data["id"], data.get("token"))
    return answer({"meta": {"deletedRecords": {data["resource"]: [data["id"]]}}})


def _payment(sandbox: BillySandbox, data: dict[str, Any]) -> Response:
    extra = {"entry_date": data["entryDate"]} if "entryDate" in data else {}
    payment = sandbox.register_payment(
        data["invoiceId"], data.get("amount"), fee=data.get("fee"), org=data.get("token"), **extra
    )
    return answer({"bankPayments": [payment]})


def _records(sandbox: BillySandbox, data: dict[str, Any]) -> Response:
    if data.get("resource"):
        return answer({data["resource"]: sandbox.records(data["resource"], data.get("token"))})
    return answer(sandbox.everything(data.get("token")))


def _config(sandbox: BillySandbox, data: dict[str, Any]) -> Response:
    sandbox.configure(data)
    return answer(sandbox.state())


def _emails(sandbox: BillySandbox, data: dict[str, Any]) -> Response:
    return answer({"emails": list(sandbox.sent_emails)})


ROUTES = {
    ("POST", "organizations"): _organizations,
    ("POST", "seed"): _seed,
    ("POST", "change"): _change,
    ("POST", "delete"): _delete,
    ("POST", "payments"): _payment,
    ("GET", "records"): _records,
    ("GET", "emails"): _emails,
    ("POST", "config"): _config,
}
