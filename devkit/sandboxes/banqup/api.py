"""Banqup's BTX API routes as the sandbox answers them.

Verified [V] (https://docs.btx.banqup.com/docs/api-guides/getting-started/make-api-call,
https://docs.btx.banqup.com/docs/recipes/e-invoicing/process-purchase-invoices,
https://docs.btx.banqup.com/docs/recipes/e-invoicing/sales-invoices-automatic):
- ``POST /oauth2/client_credential/gettoken`` form ``grant_type=client_credentials&client_id&client_secret`` →
  ``{"access_token", "token_type": "Bearer", …}``; tokens expire after 5 minutes; refresh on 401.
- ``GET /entitystore/v1/spaces`` → ``{"spaces": [{"id", "name", "type": "BUSINESS"}]}``, only whitelisted ones.
- ``POST …/spaces/{spaceId}/files`` with ``{filename, description, retentionTime, fileSize, fileType,
  contentType, metadata: {folder, documentCategory}}`` → the file with ``creatorSubject``, ``creatorType:
  "application"``, ``status: "AWAITING_UPLOAD"``, ``uploadUrl``; ``GET …/files/{fileId}`` → the same file.
Inferred [I]: the list (``GET …/files`` with ``page``/``size``/``createdAfter``/``folder``/``documentCategory``
and a Spring-style ``page`` block), ``createdAt``, ``downloadUrl``, ``documentStatus``/``paymentStatus``, the
task routes ``POST …/files/{fileId}/tasks/{task}``, ``PUT …/files/{fileId}/payment-status``, 403 for a space that
did not whitelist the app, and every error body (see wire.py).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.banqup.store import (
    PAYMENT_STATUSES,
    TASKS,
    BanqupError,
    Document,
    api_error,
    iso,
    validate,
)
from devkit.sandboxes.banqup.wire import gateway_error, oauth_error

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

    from devkit.sandboxes.banqup.sandbox import BanqupSandbox

FILES = re.compile(r"^/datastore/documents/transaction/v1/spaces/([^/]+)/files(?:/([^/]+)(?:/(.+))?)?$")
STORAGE = re.compile(r"^/storage/banqup-sandbox/([^/]+)$")
MAX_SIZE = 100


class BanqupApi:
    def __init__(self, sandbox: BanqupSandbox) -> None:
        self.sandbox = sandbox

    def route(self, request: Request) -> tuple[int, Any]:
        """(status, JSON body or bytes) for one request; raises BanqupError for a refusal."""
        path, method = request.path, request.method
        if path == "/oauth2/client_credential/gettoken" and method == "POST":
            return 200, self.token(request.form)
        if match := STORAGE.match(path):
            return self.storage(method, match.group(1), request)
        firm_id = self.authenticate(request)
        if path == "/entitystore/v1/spaces" and method == "GET":
            spaces = self.sandbox.spaces_of(firm_id)
            return 200, {"spaces": [s.public() for s in spaces if s.whitelisted]}
        match = FILES.match(path)
        if match is None:
            raise api_error(404, "NOT_FOUND", f"No route {method} {path}")
        space_id, file_id, rest = match.groups()
        self.sandbox.visible_space(firm_id, space_id)
        if file_id is None:
            return self.collection(method, space_id, firm_id, request)
        return self.file(method, self.sandbox.document(space_id, file_id), rest, request)

    def collection(self, method: str, space_id: str, firm_id: str, request: Request) -> tuple[int, Any]:
        if method == "POST":
            return 201, self.sandbox.public(self.create(space_id, firm_id, request.get_json(force=True)))
        if method == "GET":
            return 200, self.listing(space_id, request.args)
        raise api_error(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed here")

    def file(self, method: str, document: Document, rest: str | None, request: Request) -> tuple[int, Any]:
        if rest is None and method == "GET":
            return 200, self.sandbox.public(document)
        body = request.get_json(force=True, silent=True) or {}
        if rest and rest.startswith("tasks/") and method == "POST":
            return 200, self.sandbox.public(self.task(document, rest.removeprefix("tasks/"), body))
        if rest == "payment-status" and method == "PUT":
            return 200, self.sandbox.public(self.payment_status(document, body))
        raise api_error(404, "NOT_FOUND", f"No route {method} {request.path}")

    # -- auth -------------------------------------------------------------------------------------------------------
    def token(self, form: Any) -> dict[str, Any]:
        if form.get("grant_type") != "client_credentials":
            raise oauth_error(400, "invalid_request", f"Unsupported grant type : {form.get('grant_type', '')}")
        firm = self.sandbox.firm_by_client(form.get("client_id", ""))
        if firm is None:
            raise oauth_error(401, "invalid_client", "ClientId is Invalid")
        if not self.sandbox.secret_matches(firm, form.get("client_secret", "")):
            raise oauth_error(401, "invalid_client", "Client credentials are invalid")
        token, lifetime = self.sandbox.issue_token(firm)
        return {"access_token": token, "token_type": "Bearer", "expires_in": lifetime}

    def authenticate(self, request: Request) -> str:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise gateway_error(401, "Invalid access token", "oauth.v2.InvalidAccessToken")
        return self.sandbox.firm_for_token(header.removeprefix("Bearer ").strip())

    # -- files ------------------------------------------------------------------------------------------------------
    def create(self, space_id: str, firm_id: str, body: dict[str, Any]) -> Document:
        if not isinstance(body, dict) or not body.get("filename"):
            raise api_error(400, "VALIDATION_ERROR", "filename is required")
        metadata = body.get("metadata") or {}
        folder, category = metadata.get("folder", ""), metadata.get("documentCategory", "")
        validate(folder, category)
        return self.sandbox.new_document(
            space_id,
            filename=body["filename"],
            folder=folder,
            category=category,
            content_type=body.get("contentType") or body.get("fileType") or "application/octet-stream",
            creator=firm_id,
            file_size=int(body.get("fileSize") or 0),
            description=body.get("description", ""),
            retention_time=body.get("retentionTime"),
        )

    def listing(self, space_id: str, args: Any) -> dict[str, Any]:
        try:
            page, size = int(args.get("page", 0)), int(args.get("size", 20))
            after = (
                datetime.fromisoformat(args["createdAfter"].replace("Z", "+00:00")) if "createdAfter" in args else None
            )
        except ValueError as error:
            raise api_error(400, "VALIDATION_ERROR", f"Invalid query parameter: {error}") from None
        if page < 0 or not 1 <= size <= MAX_SIZE:
            raise api_error(400, "VALIDATION_ERROR", f"page must be >= 0 and size between 1 and {MAX_SIZE}")
        found = [
            d
            for d in self.sandbox.documents_of(space_id)
            if (after is None or d.created_at > after)
            and args.get("folder", d.folder) == d.folder
            and args.get("documentCategory", d.category) == d.category
        ]
        chunk = found[page * size : (page + 1) * size]
        total_pages = (len(found) + size - 1) // size
        return {
            "content": [self.sandbox.public(d) for d in chunk],
            "page": {"number": page, "size": size, "totalElements": len(found), "totalPages": total_pages},
        }

    # -- tasks and payment status -----------------------------------------------------------------------------------
    def task(self, document: Document, task: str, body: dict[str, Any]) -> Document:
        if document.folder != "PURCHASES":
            raise api_error(400, "INVALID_ACTION", "Tasks apply to purchase invoices only")
        if document.status != "UPLOADED":
            raise api_error(409, "INVALID_STATE", "The file has not been uploaded yet")
        if task in TASKS:
            document.document_status = TASKS[task]
        elif task == "mark-as-paid":
            open_balance = None if document.payable is None else document.payable - document.paid
            amount = _amount(body.get("amount")) if "amount" in body else open_balance
            if amount is None:
                amount = Decimal(1)  # a document without amounts: one payment marks it fully paid
            if amount <= 0 or (open_balance is not None and amount > open_balance):
                raise api_error(400, "VALIDATION_ERROR", "The amount cannot be more than the open balance")
            document.paid += amount
            document.payments.append({"amount": str(amount), **{k: body[k] for k in body if k != "amount"}})
        elif task == "mark-as-unpaid":
            if document.payment_status == "UNPAID":
                raise api_error(409, "INVALID_STATE", "Only a partially or fully paid invoice can be marked unpaid")
            document.paid, document.payments = Decimal(0), []
        else:
            raise api_error(404, "NOT_FOUND", f"No task {task}")
        self.sandbox.record_change(document, task, body)
        return document

    def payment_status(self, document: Document, body: dict[str, Any]) -> Document:
        if document.folder != "SALES":
            raise api_error(400, "INVALID_ACTION", "The payment status is updated on sales invoices only")
        status = body.get("paymentStatus")
        if status not in PAYMENT_STATUSES:
            raise api_error(400, "VALIDATION_ERROR", f"paymentStatus must be one of {', '.join(PAYMENT_STATUSES)}")
        if status == "UNPAID":
            document.paid = Decimal(0)
        elif status == "FULLY_PAID":
            document.paid = document.payable if document.payable is not None else Decimal(1)
        else:
            amount = _amount(body.get("amount"))
            if document.payable is not None and not 0 < amount < document.payable:
                raise api_error(400, "VALIDATION_ERROR", "A partial payment is above 0 and below the amount due")
            document.paid = amount
        self.sandbox.record_change(document, "payment-status", body)
        return document

    # -- storage (the signed URLs) ----------------------------------------------------------------------------------
    def storage(self, method: str, file_id: str, request: Request) -> tuple[int, Any]:
        signer, now = self.sandbox.signer, self.sandbox.clock()
        if method not in ("PUT", "GET"):
            raise api_error(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed here")
        signer.check(method, file_id, request.args, now)
        document = self.sandbox.document_by_id(file_id)
        if method == "PUT":
            with self.sandbox.lock:
                document.hold(request.get_data())
                if request.content_type:
                    document.content_type = request.content_type
            return 200, b""
        if document.content is None:
            raise api_error(404, "NOT_FOUND", "The file has no content yet")
        return 200, document.content


def _amount(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise api_error(400, "VALIDATION_ERROR", f"Invalid amount {value!r}") from None


__all__ = ["BanqupApi", "BanqupError", "iso"]
