"""Attachments: ``POST /v3/company/{realm}/upload``, a multipart body of numbered part pairs [V: Intuit's Attachable
reference, "Upload attachments"]: ``file_metadata_<n>`` (``application/json``, an ``Attachable`` with
``AttachableRef[{EntityRef{type, value}}]``, ``FileName``, ``ContentType``) and ``file_content_<n>`` (the bytes, with
the file's name and type). The answer is ``{"AttachableResponse": [{"Attachable": {...}} | {"Fault": {...}}, ...]}``,
one entry per file, a refused file as a ``Fault`` inside it [V: the recorded answer of the Java SDK's tests].

- [V] Files of at most 100 MB; [I] the list of content types taken (PDF, images, XML, text, office documents).
- [I] The HTTP status: 200 when every file was taken, else 400 with the same body.
- [I] QuickBooks does not refuse a second file of the same name on the same transaction: it holds both. Read them
  with ``SELECT * FROM Attachable WHERE AttachableRef.EntityRef.Type = 'Bill' AND AttachableRef.EntityRef.value =
  '<id>'`` before uploading again.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.quickbooks.store import TRANSACTIONS
from devkit.sandboxes.quickbooks.wire import Fault, answer, invalid_reference, qbo_time, required, validation

if TYPE_CHECKING:
    from datetime import datetime

    from werkzeug.wrappers import Request, Response

    from devkit.sandboxes.quickbooks.store import Company

MAX_BYTES = 100 * 1024 * 1024
CONTENT_TYPES = re.compile(
    r"^(application/(pdf|xml|msword|vnd\.ms-excel|vnd\.openxmlformats-officedocument\.[\w.]+|rtf)"
    r"|image/(jpeg|jpg|png|gif|tiff|bmp)|text/(plain|csv|xml))$"
)


def upload(request: Request, company: Company, now: datetime) -> Response:
    numbers = sorted({re.sub(r"^file_(metadata|content)_", "", key) for key in (*request.files, *request.form)})
    if not numbers:
        raise required("file_content_01")
    entries: list[dict[str, Any]] = []
    for number in numbers:
        try:
            entries.append({"Attachable": _attach(company, request, number, now)})
        except Fault as fault:
            entries.append({"Fault": fault.body(now)["Fault"]})
    status = 400 if any("Fault" in entry for entry in entries) else 200
    return answer({"AttachableResponse": entries, "time": qbo_time(now, millis=True)}, status)


def _metadata(request: Request, number: str) -> dict[str, Any]:
    part = request.files.get(f"file_metadata_{number}")
    raw = part.read() if part is not None else request.form.get(f"file_metadata_{number}", "").encode()
    try:
        data = json.loads(raw or b"{}", parse_float=Decimal)
    except ValueError:
        detail = "The metadata part is not valid JSON"
        raise validation("2010", "Request has invalid or unsupported property", detail) from None
    if not isinstance(data, dict):
        raise validation("2010", "Request has invalid or unsupported property", "The metadata is not an Attachable")
    return data


def _attach(company: Company, request: Request, number: str, now: datetime) -> dict[str, Any]:
    meta = _metadata(request, number)
    content = request.files.get(f"file_content_{number}")
    if content is None:
        raise required(f"file_content_{number}")
    data = content.read()
    name = str(meta.get("FileName") or content.filename or "").strip()
    kind = str(meta.get("ContentType") or content.mimetype or "").lower()
    if not name:
        raise required("FileName")
    if not CONTENT_TYPES.match(kind):
        raise validation("2170", "Invalid Enumeration", f"Unsupported content type: {kind}", "ContentType")
    if len(data) > MAX_BYTES:
        raise validation("2050", "Length exceeds limit", "The file is larger than 100 MB", "Size")
    refs = meta.get("AttachableRef") or []
    for ref in refs:
        entity = (ref.get("EntityRef") or {}) if isinstance(ref, dict) else {}
        kind_name = next((t for t in TRANSACTIONS if t.lower() == str(entity.get("type", "")).lower()), "")
        if not kind_name or str(entity.get("value", "")) not in company.table(kind_name):
            raise invalid_reference(str(entity.get("type") or "Entity"), entity.get("value"), "AttachableRef")
        entity["type"] = kind_name
    row = {
        **{k: v for k, v in meta.items() if k not in ("Id", "SyncToken")},
        "FileName": name,
        "ContentType": kind,
        "Size": len(data),
        "AttachableRef": refs,
    }
    stored = company.insert("Attachable", row, now)
    stored["FileAccessUri"] = f"/v3/company/{company.realm}/download/{stored['Id']}"
    company.files[stored["Id"]] = data
    return stored
