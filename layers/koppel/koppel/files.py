"""Claim checks: a large file (a supplier's PDF, a UBL invoice) is kept in the file store and only its reference
travels on the queue, because an SQS message holds 256 KiB and a scanned invoice is often more."""

from __future__ import annotations

import hashlib
import re

from koppel.model import DocumentRef

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def claim_check(bucket: str, connection_id: str, filename: str, content_type: str, data: bytes) -> DocumentRef:
    """The reference of ``data`` under a key its content decides: storing the same file twice is one object, and a
    key never says more about the file than its connection and a safe form of its name."""
    digest = hashlib.sha256(data).hexdigest()
    safe_name = _UNSAFE.sub("-", filename).strip("-.")[:80] or "document"
    return DocumentRef(
        bucket=bucket,
        key=f"files/{connection_id}/{digest}/{safe_name}",
        filename=filename,
        content_type=content_type,
        sha256=digest,
        size=len(data),
    )
