"""HTTP routes of the Billy sandbox: ``/v2/<plural>[/<id>]`` with GET, POST, PUT and DELETE, plus
``GET /v2/user``, ``GET /v2/organization``, ``POST /v2/invoices/:id/emails`` and ``POST /v2/files`` (a raw body).

[V, https://www.billy.dk/api/]: the ``X-Access-Token`` header carries a company's token (tokens don't expire);
bodies are wrapped in the singular name and answers carry every changed record by plural name; DELETE is
idempotent (200 for an unknown id); an embedded save is atomic (all or nothing); ``organizationId`` in a body is
only needed for user tokens. [I]: a missing or unknown token → 401 ``AUTHENTICATION_REQUIRED``; an unknown
resource or id → 404; a method a resource does not take → 405; a body without its singular root key → 400;
an ``organizationId`` of another company → 422; successful writes answer 200; HTTP Basic auth is not modelled;
``POST /v2/invoices/:id/emails`` marks an approved invoice ``sentState: "sent"`` and sends nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.billy import bills, catalog, invoices, payments
from devkit.sandboxes.billy.changes import Changes
from devkit.sandboxes.billy.query import Renderer, matches, ordered, page_of
from devkit.sandboxes.billy.schema import RESOURCES
from devkit.sandboxes.billy.store import public
from devkit.sandboxes.billy.wire import (
    BillyError,
    answer,
    bad_request,
    error_response,
    invalid,
    loads,
    method_not_allowed,
    not_found,
    unauthorized,
)

if TYPE_CHECKING:
    from werkzeug.wrappers import Request, Response

    from devkit.sandboxes.billy.sandbox import BillySandbox
    from devkit.sandboxes.billy.store import Organization, Record

Create = Callable[[Changes, dict[str, Any], str], Any]
Update = Callable[[Changes, Any, dict[str, Any], str], Any]
Delete = Callable[[Changes, str], None]


def _create_line(work: Changes, body: dict[str, Any], cid: str) -> Record:
    invoice = work.org.get("invoices", body.get("invoiceId"))
    if invoice is None:
        raise invalid("The invoice does not exist.", {"invoiceId": "Unknown invoice."}, cid)
    if invoice["state"] != "draft":
        raise invalid("Lines of an approved invoice can't be changed.", {"invoiceId": "Approved."}, cid)
    line = invoices.add_line(
        work, invoice, body, cid, len(work.org.children("invoiceLines", "invoiceId", invoice["id"])) + 1
    )
    invoices.refresh(work, invoice)
    return line


def _plain_delete(plural: str) -> Delete:
    return lambda work, ident: work.delete(plural, ident)


WRITES: dict[str, tuple[Create, Update, Delete]] = {
    "contacts": (catalog.save_contact, lambda w, r, b, c: catalog.save_contact(w, b, c, r), catalog.delete_contact),
    "contactPersons": (
        catalog.save_person,
        lambda w, r, b, c: catalog.save_person(w, b, c, r),
        _plain_delete("contactPersons"),
    ),
    "products": (catalog.save_product, lambda w, r, b, c: catalog.save_product(w, b, c, r), catalog.delete_product),
    "productPrices": (
        catalog.save_price,
        lambda w, r, b, c: catalog.save_price(w, b, c, r),
        _plain_delete("productPrices"),
    ),
    "invoices": (invoices.create, invoices.update, invoices.delete),
    "invoiceLines": (_create_line, invoices.update_line, invoices.delete_line),
    "bankPayments": (payments.create, payments.update, payments.delete),
    "bills": (bills.create, bills.update, bills.delete),
    "attachments": (bills.create_attachment, bills.update_attachment, _plain_delete("attachments")),
}


class BillyApi:
    def __init__(self, sandbox: BillySandbox) -> None:
        self.sandbox = sandbox

    def handle(self, request: Request) -> Response:
        try:
            org = self.sandbox.store.by_token(request.headers.get("X-Access-Token"))
            if org is None:
                raise unauthorized()
            parts = [p for p in request.path.split("/") if p]
            if not parts or parts[0] != "v2" or len(parts) < 2:
                raise BillyError(404, f"No route for {request.path}.", "ROUTE_NOT_FOUND")
            with self.sandbox.lock:
                return self._route(request, org, parts[1:])
        except BillyError as error:
            return error_response(error)

    def _route(self, request: Request, org: Organization, parts: list[str]) -> Response:
        name, ident = parts[0], (parts[1] if len(parts) > 1 else None)
        special = self._special(request, org, parts)
        if special is not None:
            return special
        resource = RESOURCES.get(name)
        if resource is None or len(parts) > 2:
            raise BillyError(404, f"No route for {request.path}.", "ROUTE_NOT_FOUND")
        wrong_shape = (request.method == "POST") == (ident is not None)
        if request.method != "GET" and (request.method not in resource.methods or wrong_shape):
            raise method_not_allowed()
        if request.method == "GET":
            return self._get(request, org, name, ident)
        create, update, delete = WRITES[name]
        if request.method == "DELETE" and ident is not None:
            return self._write(org, None, lambda work, _body, _cid: delete(work, ident), resource.singular)
        if request.method == "PUT" and ident is not None:
            existing = org.get(name, ident)
            if existing is None:
                raise not_found(resource.singular, ident)
            return self._write(
                org, request, lambda work, body, cid: update(work, existing, body, cid), resource.singular
            )
        return self._write(org, request, create, resource.singular)

    def _special(self, request: Request, org: Organization, parts: list[str]) -> Response | None:
        """The routes outside the resource convention: the user, the company, an invoice's e-mail, a file upload."""
        name, ident = parts[0], (parts[1] if len(parts) > 1 else None)
        if request.method == "GET" and name in ("user", "organization") and ident is None:
            record = org.table("users")[org.record["ownerUserId"]] if name == "user" else org.record
            return answer({name: self._renderer(org, request).render(name + "s", record)})
        if name == "invoices" and len(parts) == 3 and parts[2] == "emails" and request.method == "POST":
            return self._write(org, request, lambda work, body, cid: self._email(work, ident, body, cid), "email")
        if name == "files" and ident is None and request.method == "POST":
            return self._upload(org, request)
        return None

    # -- reading --------------------------------------------------------------------------------------------------
    def _renderer(self, org: Organization, request: Request) -> Renderer:
        return Renderer(org, request.args.get("include"), self.sandbox.options.updated_time)

    def _get(self, request: Request, org: Organization, plural: str, ident: str | None) -> Response:
        renderer = self._renderer(org, request)
        resource = RESOURCES[plural]
        if ident is not None:
            record = org.get(plural, ident)
            if record is None:
                raise not_found(resource.singular, ident)
            return answer(renderer.merge_into({resource.singular: renderer.render(plural, record)}))
        args = dict(request.args.items())
        chosen = [r for r in org.table(plural).values() if matches(org, r, args)]
        page, paging = page_of(ordered(org, chosen, args), args, f"{self.sandbox.base_url}/v2/{plural}")
        body = {"meta": {"paging": paging}, plural: [renderer.render(plural, r) for r in page]}
        return answer(renderer.merge_into(body))

    # -- writing --------------------------------------------------------------------------------------------------
    def _write(self, org: Organization, request: Request | None, action: Create, singular: str) -> Response:
        body: dict[str, Any] = {}
        if request is not None:
            body = self._body(request, singular, org)
        cid = str(body.get("_clientId") or singular)
        work = Changes(self.sandbox.store, org, self.sandbox.options)
        snapshot = copy.deepcopy(org.tables)  # Billy saves a request atomically: all records or none
        try:
            record = action(work, body, cid)
            payments.settle_new_credit_notes(work)
        except BillyError:
            org.tables = snapshot
            raise
        client_ids = (
            {record["id"]: str(body["_clientId"])} if isinstance(record, dict) and body.get("_clientId") else {}
        )
        return answer(work.body(client_ids))

    def _upload(self, org: Organization, request: Request) -> Response:
        """``POST /v2/files``: the raw body is the file, named by ``X-Filename`` [V DOCS use case]."""
        name = request.headers.get("X-Filename")
        attach = request.headers.get("X-Create-Attachment", "").lower() == "true"
        content_type = request.headers.get("Content-Type", "")
        data = request.get_data()
        return self._write(org, None, lambda work, _b, _c: bills.upload(work, name, content_type, data, attach), "file")

    def _body(self, request: Request, singular: str, org: Organization) -> dict[str, Any]:
        try:
            payload = loads(request.get_data() or b"{}")
        except ValueError as error:
            raise bad_request("The request body is not valid JSON.") from error
        body = payload.get(singular) if isinstance(payload, dict) else None
        if not isinstance(body, dict):
            raise bad_request(f"The request body must have a root key named {singular}.")
        if body.get("organizationId") not in (None, org.id):
            raise invalid("organizationId is not this company.", {"organizationId": "Unknown organization."})
        return body

    def _email(self, work: Changes, ident: str | None, body: dict[str, Any], cid: str) -> Record:
        invoice = work.org.get("invoices", ident)
        if invoice is None:
            raise not_found("invoice", str(ident))
        missing = {k: "Required." for k in ("contactPersonId", "emailSubject", "emailBody") if not body.get(k)}
        if missing:
            raise invalid(f"{next(iter(missing))} is required.", missing, cid)
        person = work.org.get("contactPersons", body["contactPersonId"])
        if person is None or person["contactId"] != invoice["contactId"] or not person["email"]:
            raise invalid("The contact person has no e-mail.", {"contactPersonId": "Invalid."}, cid)
        if invoice["state"] != "approved":
            raise invalid("Only approved invoices can be sent.", {"state": "Draft."}, cid)
        invoice["sentState"] = "sent"
        self.sandbox.sent_emails.append({"invoiceId": invoice["id"], "to": person["email"], **public(body)})
        return work.put("invoices", invoice)
