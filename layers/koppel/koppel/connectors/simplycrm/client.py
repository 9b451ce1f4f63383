"""How Koppel talks to Simply CRM: vtiger's ``webservice.php`` (README.md in this folder).

One URL; the operation is a parameter. GET operations (getchallenge, query, retrieve, describe, sync) read the
query string, POST operations (login, create, revise) the form body. Login is two steps: ``getchallenge`` gives a
token, ``login`` sends md5(token + the user's access key) and gives a session, which every worker of the connection
shares through the connection store (``kit.SharedTokens``) and which is opened again once when vtiger answers that
it no longer knows it. vtiger answers errors with HTTP 200 and ``{"success": false, "error": {"code", "message"}}``;
the web server in front of it answers outages and throttling (5xx, 429, an HTML page), which are retried.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from koppel import wire
from koppel.connectors.kit import SharedTokens, StatusNote
from koppel.connectors.simplycrm.fields import VENDOR
from koppel.errors import AuthError, PermanentError, RetryableError
from koppel.http import json_body, send

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from datetime import datetime

    import requests

    from koppel.connectors.contract import ConnectorContext

SYSTEM = "simplycrm"
PAGE = 100
"""vtiger's query answers at most 100 rows, whatever LIMIT asks [V, VTQL_Parser.php]."""
MAX_PAGES = 10_000
SESSION_SECONDS = 20 * 60
"""How long Koppel reuses a session [I]: PHP drops idle sessions after 24 minutes by default; an older one that
vtiger no longer knows is opened again on its INVALID_SESSIONID."""
SESSION_CODES = frozenset({"INVALID_SESSIONID", "AUTHENTICATION_REQUIRED", "SESSION_EXPIRED", "SESSION_LEFT_IDLE"})
RETRY_CODES = frozenset({"DATABASE_QUERY_ERROR"})
RECONNECT = (
    "check the user name and access key (Simply CRM: My Preferences > User Advanced Options > Access Key) and "
    "reconnect Simply CRM"
)


class VtigerRefusal(PermanentError):
    """vtiger refused an operation; ``code`` is its error code (MANDATORY_FIELDS_MISSING, RECORD_NOT_FOUND, …)."""

    def __init__(self, message: str, *, code: str, vendor_message: str) -> None:
        super().__init__(message, vendor_message=vendor_message)
        self.code = code


class SimplyCrmClient:
    """webservice.php of one CRM, as one user (its user name and access key)."""

    def __init__(self, ctx: ConnectorContext, url: str, *, sync_type: str = "application") -> None:
        self._ctx = ctx
        self._endpoint = url.rstrip("/") + "/webservice.php"
        self._sync_type = sync_type
        self._sessions = SharedTokens(ctx, SYSTEM, self._login)
        self._describes: dict[str, Mapping[str, Any]] = {}

    # -- operations ---------------------------------------------------------------------------------------------------
    def query(self, select: str) -> Iterator[dict[str, Any]]:
        """Every row of ``select`` (VTQL without LIMIT and ``;``), 100 a page, until a page is short."""
        for page in range(MAX_PAGES):
            rows = self.call("GET", "query", {"query": f"{select} LIMIT {page * PAGE}, {PAGE};"})
            if not isinstance(rows, list):
                raise PermanentError(f"{VENDOR} answered a query with something that is not a list of rows")
            yield from (row for row in rows if isinstance(row, dict))
            if len(rows) < PAGE:
                return
        raise PermanentError(f"{VENDOR} kept answering full pages of {select!r}: stopped after {MAX_PAGES} pages")

    def sync(self, module: str, since: datetime | None) -> Iterator[dict[str, Any]]:
        """vtiger's ``sync`` answers from ``since`` on (None: from the start), page by page until ``more`` is false:
        each ``{updated, deleted, lastModifiedTime, more}``. ``since`` is read from its whole second on."""
        modified = max(int(since.timestamp()) - 1, 0) if since is not None else 0
        for _ in range(MAX_PAGES):
            params = {"modifiedTime": str(modified), "elementType": module, "syncType": self._sync_type}
            answer = self.call("GET", "sync", params)
            if not isinstance(answer, dict):
                raise PermanentError(f"{VENDOR} answered sync of {module} with something that is not an object")
            yield answer
            last = int(str(answer.get("lastModifiedTime") or modified))
            if not answer.get("more"):
                return
            if last <= modified:
                raise PermanentError(f"{VENDOR}'s sync of {module} says there is more but does not move past {last}")
            modified = last
        raise PermanentError(f"{VENDOR}'s sync of {module} did not end after {MAX_PAGES} pages")

    def retrieve(self, ident: str) -> dict[str, Any] | None:
        """One record as vtiger answers it (an invoice with its ``LineItems``); None when it is gone."""
        try:
            record = self.call("GET", "retrieve", {"id": ident})
        except VtigerRefusal as error:
            if error.code == "RECORD_NOT_FOUND":
                return None
            raise
        return record if isinstance(record, dict) else None

    def create(self, module: str, element: Mapping[str, Any]) -> dict[str, Any]:
        answer = self.call("POST", "create", {"elementType": module, "element": wire.dumps(dict(element))})
        return _record(answer, f"create {module}")

    def revise(self, element: Mapping[str, Any]) -> dict[str, Any]:
        """Change only the fields given (vtiger's ``revise``; ``update`` would empty the rest)."""
        return _record(self.call("POST", "revise", {"element": wire.dumps(dict(element))}), "revise")

    def describe(self, module: str) -> Mapping[str, Any]:
        """A module's fields, asked once per client."""
        if module not in self._describes:
            self._describes[module] = _record(self.call("GET", "describe", {"elementType": module}), "describe")
        return self._describes[module]

    def user_id(self) -> str:
        """The connected user's id (``19x<n>``): vtiger needs an owner on every record Koppel creates."""
        return self._sessions.current().split(" ", 1)[0]

    # -- the call -----------------------------------------------------------------------------------------------------
    def call(self, method: str, operation: str, params: Mapping[str, str]) -> Any:
        """One operation in the shared session; a session vtiger no longer knows is opened again, once."""

        def attempt(note: StatusNote) -> Any:
            session = self._sessions.current().split(" ", 1)[1]
            return self._send(method, {"operation": operation, "sessionName": session, **params}, note)

        return self._sessions.call_renewing(attempt, lambda: StatusNote(_page_words))

    def _send(self, method: str, params: Mapping[str, str], note: StatusNote | None = None) -> Any:
        where = {"params": dict(params)} if method == "GET" else {"data": dict(params)}
        describe = note.describe if note is not None else _page_words
        response = send(self._ctx.session, method, self._endpoint, vendor=VENDOR, describe_error=describe, **where)
        body = json_body(response)
        if not isinstance(body, dict) or "success" not in body:
            raise RetryableError(f"{VENDOR} answered {params['operation']} without its success envelope")
        if body["success"] is True:
            return body.get("result")
        found = body.get("error")
        error: dict[str, Any] = found if isinstance(found, dict) else {}
        code = str(error.get("code") or error.get("errorCode") or "UNKNOWN")
        message = str(error.get("message") or error.get("errorMessage") or "no message")
        raise _refusal(params["operation"], code, message, note)

    def _login(self) -> tuple[str, int]:
        user = self._ctx.secrets.get("user_name", "").strip()
        key = self._ctx.secrets.get("access_key", "").strip()
        if not user or not key:
            raise AuthError(f"no {VENDOR} user name and access key are stored for this connection: {RECONNECT}")
        try:
            challenge = self._send("GET", {"operation": "getchallenge", "username": user})
            token = str(challenge.get("token") or "") if isinstance(challenge, dict) else ""
            digest = hashlib.md5((token + key).encode(), usedforsecurity=False).hexdigest()
            answer = self._send("POST", {"operation": "login", "username": user, "accessKey": digest})
        except VtigerRefusal as error:
            raise AuthError(
                f"{VENDOR} refused the login of user {user!r} ({error.vendor_message}): {RECONNECT}"
            ) from error
        if not isinstance(answer, dict) or not answer.get("sessionName") or not answer.get("userId"):
            raise AuthError(f"{VENDOR} answered the login of {user!r} without a session: {RECONNECT}")
        return f"{answer['userId']} {answer['sessionName']}", SESSION_SECONDS


def _refusal(operation: str, code: str, message: str, note: StatusNote | None) -> Exception:
    words = f"{code}: {message}"
    if code in SESSION_CODES and note is not None:
        note.status = 401  # the session is gone: SharedTokens opens a new one and tries once more
        return AuthError(f"{VENDOR} refused Koppel's session for {operation} ({words}): {RECONNECT}")
    if code in RETRY_CODES:
        return RetryableError(f"{VENDOR} could not {operation} now ({words})")
    return VtigerRefusal(f"{VENDOR} refused {operation}: {words}", code=code, vendor_message=words)


def _record(answer: Any, what: str) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise PermanentError(f"{VENDOR} answered {what} with something that is not a record")
    return answer


def _page_words(response: requests.Response) -> str:
    """What the web server in front of vtiger said (an HTML page's title, else its first words)."""
    text = response.text
    start, end = text.find("<title>"), text.find("</title>")
    if 0 <= start < end:
        return text[start + 7 : end].strip()[:200]
    return " ".join(text.split())[:200] or response.reason or "no message"
