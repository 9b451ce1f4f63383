"""`koppel preview`: the exact requests deliver would send, without sending anything.

The real source normalizer and the real deliver service run against the real target connector; only the HTTP
transport is swapped for one that answers like a brand-new, empty account (no relations, no bookings; every
created record gets a placeholder id). What the connector sends through it is what deliver would send to an
empty administration with the default mapping. Credential exchanges are left out of the listing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, unquote_plus

import requests
from requests.adapters import BaseAdapter

from koppel import connectors
from koppel.adapters.memory import MemoryFileStore, MemoryLedger
from koppel.connectors import ConnectorContext
from koppel.errors import InputError, PermanentError
from koppel.model import Connection, DocumentEvent
from koppel.services.deliver import DeliverDeps, deliver

if TYPE_CHECKING:
    from collections.abc import Iterator

    from requests import PreparedRequest

    from koppel.connectors.contract import Capability, PreviewAnswer
    from koppel.model import HubEvent


class PlaceholderSecrets(Mapping[str, str]):
    """Stands in for credentials in a preview: every name the connector asks for has a placeholder value."""

    def __getitem__(self, key: str) -> str:
        return f"preview-{key}"

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __contains__(self, key: object) -> bool:
        return True


@dataclass
class EmptyAccountAdapter(BaseAdapter):
    """A requests transport that plays an empty account: lists are empty, creates get placeholder ids."""

    recorded: list[dict[str, Any]] = field(default_factory=list)
    credential_paths: tuple[str, ...] = ()
    """Paths of JSON credential exchanges (a session opened with an API token): answered, not listed."""
    answer: PreviewAnswer | None = None
    form_api: bool = False
    """See ``PreviewAccount.form_api``."""
    _next_id: int = 1

    def __post_init__(self) -> None:
        super().__init__()

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        if self.form_api:
            return self._form_request(request)
        content_type = str(request.headers.get("Content-Type", ""))
        path, _, query = request.path_url.partition("?")
        is_credential_exchange = "x-www-form-urlencoded" in content_type or path in self.credential_paths
        body: Any = None
        if request.body and "x-www-form-urlencoded" not in content_type:
            body = _readable_body(request.body, content_type)
        if is_credential_exchange:
            answer: Any = {"access_token": "preview", "token_type": "bearer", "expires_in": 3600}
            status = 200
        else:
            readable = unquote(path) + (f"?{unquote_plus(query)}" if query else "")
            self.recorded.append({"method": request.method, "path": readable, "body": body})
            answer, status = self._answer(request.method or "GET", path, body)
        if self.answer and is_credential_exchange:
            answer, status = self.answer(request.method or "POST", path, body, 0) or (answer, status)
        return self._response(request, status, answer)

    def _form_request(self, request: PreparedRequest) -> requests.Response:
        """A vendor whose API is form bodies and query strings: each request recorded with its form as the body."""
        path, _, query = request.path_url.partition("?")
        raw = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
        body = dict(parse_qsl(raw)) if raw else None
        readable = unquote(path) + (f"?{unquote_plus(query)}" if query else "")
        self.recorded.append({"method": request.method, "path": readable, "body": body})
        answer, status = self._answer(request.method or "GET", request.path_url, body)
        return self._response(request, status, answer)

    def _answer(self, method: str, path: str, body: Any) -> tuple[Any, int]:
        answer, status = (self.answer and self.answer(method, path, body, self._next_id)) or self._default(method, body)
        if status == 201:  # something was created: the next creation gets the next placeholder id
            self._next_id += 1
        return answer, status

    def _default(self, method: str, body: Any) -> tuple[Any, int]:
        if method == "GET":
            return [], 200
        if isinstance(body, dict):
            return {**body, "id": f"00000000-0000-0000-0001-{self._next_id:012d}"}, 201
        return body, 200

    @staticmethod
    def _response(request: PreparedRequest, status: int, answer: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(answer, default=str).encode()
        response.headers["Content-Type"] = "application/json"
        response.request = request
        response.url = request.url or ""
        response.reason = "OK"
        return response

    def close(self) -> None:
        """Nothing to release: no sockets are ever opened."""


def _readable_body(raw: bytes | str, content_type: str) -> Any:
    """A JSON body as its document; a file (an attachment upload: raw bytes or multipart) as what it is and its size,
    never its bytes on the terminal."""
    data = raw if isinstance(raw, bytes) else raw.encode()
    if "json" in content_type or (not content_type and data.lstrip()[:1] in (b"{", b"[")):
        return json.loads(data, parse_float=Decimal)
    return {"file": content_type or "application/octet-stream", "bytes": len(data)}


def preview(source: str, target: str, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The requests deliver would send to ``target`` for one ``source`` record; PermanentError if unbookable."""
    read_events = connectors.load(source).preview_events
    if read_events is None:
        raise InputError(f"{source} is no source to preview a record of; sources: {', '.join(_able('preview_source'))}")
    connection = Connection(
        connection_id="preview", tenant_id="preview", source=source, targets=(target,), created_at=datetime.now(UTC)
    )
    files = MemoryFileStore()
    events = [_with_original(event, record, files) for event in read_events(record, connection)]
    if not events:
        raise PermanentError(f"this {source} record is not something to book (yet): nothing would be sent")
    account = connectors.load(target).preview_account
    if account is None:
        raise InputError(
            f"{target} books nothing, so it is no target to preview; targets: {', '.join(_able('preview_target'))}"
        )
    adapter = EmptyAccountAdapter(
        credential_paths=account.credential_paths, answer=account.answer, form_api=account.form_api
    )
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    settings = account.settings()
    ctx = ConnectorContext(
        connection=connection,
        settings=settings,
        secrets=PlaceholderSecrets(),
        session=session,
        partner_secret=PlaceholderSecrets,
    )
    deps = DeliverDeps(
        target=connectors.build_target(target, ctx), target_name=target, ledger=MemoryLedger(), files=files
    )
    for event in events:
        result = deliver(event, deps)
        if result.outcome == "parked":
            raise PermanentError(result.reason)
    return adapter.recorded


def _with_original(event: HubEvent, record: Mapping[str, Any], files: MemoryFileStore) -> HubEvent:
    """A document file handed to the preview (a UBL invoice) is the document's original: attached where the target
    takes files, as the source's own copy would be."""
    content, filename = record.get("content"), str(record.get("filename") or "document")
    if not isinstance(event, DocumentEvent) or not isinstance(content, bytes) or event.payload.attachments:
        return event
    kind = "application/xml" if content.lstrip().startswith(b"<") else "application/octet-stream"
    original = files.put(event.connection_id, filename, kind, content)
    return event.model_copy(update={"payload": event.payload.model_copy(update={"attachments": (original,)})})


def _able(capability: Capability) -> list[str]:
    return [name for name in connectors.available() if connectors.load(name).can(capability)]
