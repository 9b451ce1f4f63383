"""Banqup sandbox: a real HTTP Banqup BTX API on loopback, for a koppeling Banqup → accounting packages.

Talk to ``base_url`` as to ``https://api.uat.btx.eu.banqup.com``: get a token with the firm's client id and
secret, list the spaces (the firm's clients that whitelisted the app), list and read their documents, download
their bytes through the signed ``downloadUrl``, mark purchase invoices paid and set sales invoices' payment
status. Facts and assumptions are in README.md and the module docstrings (api.py, store.py, wire.py).

Control over HTTP besides the kit's ``/_sandbox/faults|reset|state`` (see ``control_routes``):
``POST /_sandbox/firms``, ``POST /_sandbox/spaces``, ``POST /_sandbox/whitelist``, ``POST /_sandbox/documents``,
``POST /_sandbox/token-lifetime``, ``GET /_sandbox/changes``. ``reset`` keeps firms and spaces and drops
documents, tokens, changes, faults and the token lifetime.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.banqup.api import BanqupApi
from devkit.sandboxes.banqup.store import BanqupError, Document, Firm, Signer, Space, api_error, iso, validate
from devkit.sandboxes.banqup.wire import answer, error_response, gateway_error
from devkit.sandboxes.kit.control import ControlRoutes, refused
from devkit.sandboxes.kit.server import Sandbox

if TYPE_CHECKING:
    from collections.abc import Callable

    from werkzeug.wrappers import Request, Response

    from devkit.sandboxes.kit.server import FaultPlan

TOKEN_LIFETIME = 300  # "Access tokens expire after 5 minutes" [V]


class BanqupSandbox(Sandbox):
    name = "banqup"
    fault_paths = ("/oauth2/", "/entitystore/", "/datastore/")

    def __init__(self, faults: FaultPlan | None = None, *, clock: Callable[[], float] | None = None) -> None:
        super().__init__(faults)
        self.clock = clock or time.time
        self.lock = threading.RLock()
        self.api = BanqupApi(self)
        self.signer = Signer()
        self.token_lifetime = TOKEN_LIFETIME
        self.firms: dict[str, Firm] = {}
        self.spaces: dict[str, Space] = {}
        self.documents: dict[str, Document] = {}
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (firm id, expires at)
        self.changes: list[dict[str, Any]] = []

    # -- HTTP -------------------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        try:
            with self.lock:
                status, body = self.api.route(request)
        except BanqupError as error:
            return error_response(error)
        document = self.documents.get(request.path.rsplit("/", 1)[-1]) if isinstance(body, bytes) else None
        return answer(status, body, document.content_type if document else "application/octet-stream")

    def fault_response(self, kind: str) -> Response:
        """Apigee's spike arrest (429) and unavailable target (503) [I]; Banqup publishes no limits [V]."""
        if kind == "throttle":
            headers = {"Retry-After": str(self.faults.retry_after)}
            error = gateway_error(429, "Spike arrest violation", "policies.ratelimit.SpikeArrestViolation", headers)
        else:
            error = gateway_error(
                503, "The Service is temporarily unavailable", "messaging.adaptors.http.flow.ServiceUnavailable"
            )
        return error_response(error)

    # -- used by the API --------------------------------------------------------------------------------------------
    def firm_by_client(self, client_id: str) -> Firm | None:
        return next((f for f in self.firms.values() if f.client_id == client_id), None)

    @staticmethod
    def secret_matches(firm: Firm, secret: str) -> bool:
        return hmac.compare_digest(firm.client_secret.encode(), secret.encode())

    def issue_token(self, firm: Firm) -> tuple[str, int]:
        token = secrets.token_urlsafe(32)
        self.tokens[token] = (firm.id, self.clock() + self.token_lifetime)
        return token, self.token_lifetime

    def firm_for_token(self, token: str) -> str:
        held = self.tokens.get(token)
        if held is None:
            raise gateway_error(401, "Invalid access token", "oauth.v2.InvalidAccessToken")
        if self.clock() >= held[1]:
            raise gateway_error(401, "Access Token expired", "keymanagement.service.access_token_expired")
        return held[0]

    def spaces_of(self, firm_id: str) -> list[Space]:
        return [s for s in self.spaces.values() if s.firm_id == firm_id]

    def visible_space(self, firm_id: str, space_id: str) -> Space:
        """404 for a space the app does not know, 403 for one that did not whitelist the app [I]."""
        space = self.spaces.get(space_id)
        if space is None or space.firm_id != firm_id:
            raise api_error(404, "NOT_FOUND", f"Space {space_id} not found")
        if not space.whitelisted:
            raise api_error(403, "FORBIDDEN", "The application is not whitelisted for this space")
        return space

    def documents_of(self, space_id: str) -> list[Document]:
        return sorted((d for d in self.documents.values() if d.space_id == space_id), key=lambda d: d.created_at)

    def document(self, space_id: str, file_id: str) -> Document:
        document = self.documents.get(file_id)
        if document is None or document.space_id != space_id:
            raise api_error(404, "NOT_FOUND", f"File {file_id} not found")
        return document

    def document_by_id(self, file_id: str) -> Document:
        if file_id not in self.documents:
            raise api_error(404, "NoSuchKey", "The specified key does not exist.")
        return self.documents[file_id]

    def new_document(self, space_id: str, *, created_at: datetime | None = None, **fields: Any) -> Document:
        moment = created_at or datetime.fromtimestamp(self.clock(), UTC)
        document = Document(space_id=space_id, created_at=moment, **fields)
        self.documents[document.id] = document
        return document

    def storage_url(self, method: str, document: Document) -> str:
        query = self.signer.query(method, document.id, self.clock())
        return f"{self.base_url}/storage/banqup-sandbox/{document.id}?{query}"

    def public(self, document: Document) -> dict[str, Any]:
        if document.status == "AWAITING_UPLOAD":
            return {**document.fields(), "uploadUrl": self.storage_url("PUT", document)}
        return {**document.fields(), "downloadUrl": self.storage_url("GET", document)}

    def record_change(self, document: Document, action: str, body: dict[str, Any]) -> None:
        at = iso(datetime.fromtimestamp(self.clock(), UTC))
        self.changes.append(
            {"spaceId": document.space_id, "fileId": document.id, "action": action, "body": body, "at": at}
        )

    # -- test helpers -----------------------------------------------------------------------------------------------
    def add_firm(
        self, name: str = "Koppel Demo Accountants", client_id: str | None = None, client_secret: str | None = None
    ) -> Firm:
        with self.lock:
            if client_id is not None and self.firm_by_client(client_id) is not None:
                raise ValueError(f"client id {client_id!r} is taken")
            firm = Firm(name, client_id or secrets.token_hex(8), client_secret or secrets.token_urlsafe(24))
            self.firms[firm.id] = firm
            return firm

    def add_space(self, firm: Firm | str, name: str, *, whitelisted: bool = True) -> Space:
        with self.lock:
            owner = firm if isinstance(firm, Firm) else self.firm_by_client(firm)
            if owner is None:
                raise ValueError(f"no firm with client id {firm!r}")
            space = Space(owner.id, name, whitelisted)
            self.spaces[space.id] = space
            return space

    def whitelist(self, space_id: str, allowed: bool = True) -> None:
        with self.lock:
            self.spaces[space_id].whitelisted = allowed

    def add_document(
        self,
        space_id: str,
        content: bytes,
        *,
        folder: str = "PURCHASES",
        category: str = "INVOICE",
        filename: str | None = None,
        content_type: str | None = None,
        created_at: datetime | None = None,
        payable: str | Decimal | None = None,
        extraction: dict[str, Any] | None = None,
        processing: str = "DONE",
    ) -> dict[str, Any]:
        """A document as if received or scanned in Banqup: uploaded, with its bytes (UBL XML or PDF) and what the
        Document Processor read from a PDF (``extraction``, see store.py) [I]."""
        validate(folder, category)
        if space_id not in self.spaces:
            raise ValueError(f"no space {space_id!r}")
        is_pdf = content.startswith(b"%PDF")
        with self.lock:
            document = self.new_document(
                space_id,
                created_at=created_at,
                filename=filename or ("document.pdf" if is_pdf else "document.xml"),
                folder=folder,
                category=category,
                content_type=content_type or ("application/pdf" if is_pdf else "application/xml"),
                creator="banqup",
            )
            document.payable = None if payable is None else Decimal(str(payable))
            document.hold(content)
            document.extract(extraction, processing)
            return self.public(document)

    def set_extraction(self, file_id: str, extraction: dict[str, Any] | None, processing: str = "DONE") -> None:
        """The Document Processor finished, or a person corrected the extracted fields in Banqup [I]."""
        with self.lock:
            self.document_by_id(file_id).extract(extraction, processing)

    def set_token_lifetime(self, seconds: int) -> None:
        self.token_lifetime = int(seconds)

    def paid_marks(self) -> list[dict[str, Any]]:
        """What Koppel changed: the mark-as-paid tasks and payment-status updates, in order."""
        return [c for c in self.changes if c["action"] in ("mark-as-paid", "mark-as-unpaid", "payment-status")]

    # -- control and state ------------------------------------------------------------------------------------------
    def control_routes(self) -> ControlRoutes:
        def firm(body: dict[str, Any]) -> dict[str, Any]:
            made = self.add_firm(
                body.get("name", "Koppel Demo Accountants"), body.get("clientId"), body.get("clientSecret")
            )
            return {"id": made.id, "name": made.name, "clientId": made.client_id, "clientSecret": made.client_secret}

        def space(body: dict[str, Any]) -> dict[str, Any]:
            made = self.add_space(body["clientId"], body["name"], whitelisted=body.get("whitelisted", True))
            return {**made.public(), "whitelisted": made.whitelisted}

        def whitelist(body: dict[str, Any]) -> dict[str, Any]:
            self.whitelist(body["spaceId"], body.get("whitelisted", True))
            return {"spaceId": body["spaceId"], "whitelisted": self.spaces[body["spaceId"]].whitelisted}

        def document(body: dict[str, Any]) -> dict[str, Any]:
            created = datetime.fromisoformat(body["createdAt"].replace("Z", "+00:00")) if "createdAt" in body else None
            keys = {"folder": "folder", "category": "category", "filename": "filename", "contentType": "content_type"}
            keys |= {"extraction": "extraction", "processingStatus": "processing"}
            extra = {name: body[key] for key, name in keys.items() if key in body}
            content = base64.b64decode(body["contentBase64"])
            return self.add_document(
                body["spaceId"], content, created_at=created, payable=body.get("payableAmount"), **extra
            )

        def extraction(body: dict[str, Any]) -> dict[str, Any]:
            self.set_extraction(body["fileId"], body.get("extraction"), body.get("processingStatus", "DONE"))
            return self.public(self.document_by_id(body["fileId"]))

        def lifetime(body: dict[str, Any]) -> dict[str, Any]:
            self.set_token_lifetime(body["seconds"])
            return {"tokenLifetime": self.token_lifetime}

        return ControlRoutes(
            with_body={
                "firms": firm,
                "spaces": space,
                "whitelist": whitelist,
                "documents": document,
                "extraction": extraction,
                "token-lifetime": lifetime,
            },
            without_body={("GET", "changes"): lambda: {"changes": list(self.changes)}},
            refusals=(ValueError, KeyError, TypeError, BanqupError),
            refuse=lambda e: error_response(e) if isinstance(e, BanqupError) else refused(e),
        )

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "firms": len(self.firms),
                "spaces": {s.id: {"name": s.name, "whitelisted": s.whitelisted} for s in self.spaces.values()},
                "documents": len(self.documents),
                "changes": len(self.changes),
                "tokenLifetime": self.token_lifetime,
            }

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self.documents.clear()
            self.tokens.clear()
            self.changes.clear()
            self.token_lifetime = TOKEN_LIFETIME
