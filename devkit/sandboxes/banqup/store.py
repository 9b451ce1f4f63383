"""What the Banqup sandbox holds: firms (API clients), their spaces, the documents of each space, and tokens.

A firm is one app registration in Banqup's Developer Portal: a client id and secret [V]. The firm's clients are
spaces (``type: "BUSINESS"`` [V]); a space is visible to the app only once its legal representative has
whitelisted the app [V]. A document is a "file" in Banqup's datastore: created with ``status: "AWAITING_UPLOAD"``
and an ``uploadUrl`` [V], its bytes PUT to that URL, then read back [V]. Signed URLs are HMAC-SHA256 over
method, file id and expiry with a key made at start [I] (Banqup signs Google Cloud Storage URLs with RSA).

Banqup's Document Processor reads a PDF into structured data [V] (its shape is not published): the sandbox gives
a file ``processingStatus`` IN_PROGRESS / DONE / FAILED and, for a PDF, an ``extraction`` object [I]:
``{"supplier": {"name", "vatNumber", "registrationNumber", "iban", "countryCode"}, "buyer": {…the same},
"invoiceNumber", "issueDate", "dueDate", "currency", "totalAmount", "totalVatAmount",
"vatBreakdown": [{"rate", "taxableAmount", "vatAmount"}]}``, amounts as decimal strings, any field may be missing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

FOLDERS = ("SALES", "PURCHASES")  # [V]
CATEGORIES = ("INVOICE", "CREDIT_NOTE", "RECEIPT", "BANK_STATEMENT", "OTHER")  # INVOICE [V], the rest [I]
PAYMENT_STATUSES = ("UNPAID", "PARTIALLY_PAID", "FULLY_PAID")  # "Fully paid" / "Partially paid" [V] wording
PROCESSING = ("IN_PROGRESS", "DONE", "FAILED")  # the Document Processor's progress on a file [I]
TASKS = {"approve": "APPROVED", "refuse": "REFUSED", "suspend": "SUSPENDED", "dispute": "DISPUTED"}  # [V] names
URL_LIFETIME = 3600  # X-Goog-Expires=3600 in the documented uploadUrl [V]
_PAYABLE = re.compile(rb"<cbc:PayableAmount[^>]*>([0-9.\-]+)</cbc:PayableAmount>")


class BanqupError(Exception):
    """A refusal: HTTP status and body (the gateway's or the datastore's shape, see wire.py)."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(str(body))
        self.status, self.body, self.headers = status, body, headers or {}


def api_error(status: int, code: str, message: str) -> BanqupError:
    """A datastore/entitystore refusal: ``{"code", "message"}`` [I]."""
    return BanqupError(status, {"code": code, "message": message})


@dataclass
class Firm:
    name: str
    client_id: str
    client_secret: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class Space:
    firm_id: str
    name: str
    whitelisted: bool
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "type": "BUSINESS"}


@dataclass
class Document:
    space_id: str
    filename: str
    folder: str
    category: str
    content_type: str
    created_at: datetime
    creator: str
    file_size: int = 0
    description: str = ""
    retention_time: str | None = None
    status: str = "AWAITING_UPLOAD"
    content: bytes | None = None
    document_status: str = "AWAITING_VALIDATION"
    payable: Decimal | None = None
    paid: Decimal = Decimal(0)
    payments: list[dict[str, Any]] = field(default_factory=list)
    processing: str = "DONE"
    extraction: dict[str, Any] | None = None
    """What the Document Processor read from a PDF (see ``extraction`` below) [I]; None for UBL and unread files."""
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def payment_status(self) -> str:
        if self.paid <= 0:
            return "UNPAID"
        if self.payable is None or self.paid >= self.payable:
            return "FULLY_PAID"
        return "PARTIALLY_PAID"

    def fields(self) -> dict[str, Any]:
        """The file as the datastore answers it, without its signed URL."""
        return {
            "id": self.id,
            "filename": self.filename,
            "description": self.description,
            "creatorSubject": self.creator,
            "creatorType": "application",
            "retentionTime": self.retention_time,
            "status": self.status,
            "fileSize": self.file_size,
            "fileType": self.content_type,
            "contentType": self.content_type,
            "metadata": {"folder": self.folder, "documentCategory": self.category},
            "createdAt": iso(self.created_at),
            "documentStatus": self.document_status,
            "paymentStatus": self.payment_status,
            "payableAmount": None if self.payable is None else str(self.payable),
            "paidAmount": str(self.paid),
            "processingStatus": self.processing,
            "extraction": self.extraction,
        }

    def extract(self, extraction: dict[str, Any] | None, processing: str = "DONE") -> None:
        """The Document Processor's outcome (or a person's correction in Banqup's validation screen) [I]: its
        total becomes the amount due of a PDF that has none."""
        if processing not in PROCESSING:
            raise ValueError(f"processing must be one of {', '.join(PROCESSING)}")
        self.extraction, self.processing = extraction, processing
        total = (extraction or {}).get("totalAmount")
        if total is not None and self.content is not None and not self.content.lstrip().startswith(b"<"):
            self.payable = Decimal(str(total))

    def hold(self, content: bytes) -> None:
        """The bytes arrived: the file is uploaded; a UBL invoice's PayableAmount becomes the amount due [I]."""
        self.content, self.file_size, self.status = content, len(content), "UPLOADED"
        found = _PAYABLE.search(content)
        if found and self.payable is None:
            self.payable = Decimal(found.group(1).decode())


def validate(folder: str, category: str) -> None:
    if folder not in FOLDERS:
        raise api_error(400, "VALIDATION_ERROR", f"metadata.folder must be one of {', '.join(FOLDERS)}")
    if category not in CATEGORIES:
        raise api_error(400, "VALIDATION_ERROR", f"metadata.documentCategory must be one of {', '.join(CATEGORIES)}")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Signer:
    """Signs and checks the storage URLs (upload: PUT, download: GET) with an expiry, like a GCS V4 URL [I]."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def signature(self, method: str, file_id: str, expires: int) -> str:
        message = f"{method}\n{file_id}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def query(self, method: str, file_id: str, now: float, lifetime: int = URL_LIFETIME) -> str:
        expires = int(now) + lifetime
        return f"X-Goog-Expires={expires}&X-Goog-Signature={self.signature(method, file_id, expires)}"

    def check(self, method: str, file_id: str, args: Any, now: float) -> None:
        """Refuse a missing, tampered or expired signature as GCS does: 403 with an XML body [I]."""
        try:
            expires = int(args.get("X-Goog-Expires", ""))
        except ValueError:
            raise storage_error("MissingSecurityHeader", "The signed URL lacks its expiry.") from None
        given = args.get("X-Goog-Signature", "")
        if not hmac.compare_digest(given, self.signature(method, file_id, expires)):
            raise storage_error("SignatureDoesNotMatch", "The request signature we calculated does not match.")
        if now > expires:
            raise storage_error("ExpiredToken", "Invalid argument: the signed URL has expired.")


def storage_error(code: str, message: str) -> BanqupError:
    return BanqupError(
        403,
        {
            "xml": f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
            f"<Message>{message}</Message></Error>"
        },
    )
