"""How Koppel talks to QuickBooks Online: the company's OAuth grant (rotating refresh token, renewed by one worker at
a time through ``kit.OAuthTokens``), ``minorversion`` on every call, ``requestid`` on every create, Intuit's limits
kept on our side, and QuickBooks' faults in its own words. The only module of the package that speaks HTTP.
README.md in this folder has the API facts (auth, limits, faults, what is verified)."""

from __future__ import annotations

import json
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from koppel import wire
from koppel.connectors.kit import StatusNote, VendorReply, parse_reply
from koppel.connectors.kit.oauth import OAuthTokens, Renewal
from koppel.connectors.quickbooks.settings import SYSTEM, VENDOR, QuickbooksSettings
from koppel.errors import AuthError, InputError, PermanentError, RetryableError
from koppel.http import RateLimiter, json_body, send, shared_limits

if TYPE_CHECKING:
    from collections.abc import Mapping

    import requests

    from koppel.connectors.contract import ConnectorContext

THROTTLE_WAIT = 60.0
"""Intuit's advice after a throttle, which names no wait of its own."""
THROTTLE_CODE = "3001"


class _Token(VendorReply):
    access_token: str
    expires_in: int = 3600
    refresh_token: str = ""
    x_refresh_token_expires_in: int | None = None


def _faults(data: Any) -> list[dict[str, Any]]:
    """The errors of a Fault, in either letter case (``Fault.Error`` as documented, ``fault.error`` as probed)."""
    if not isinstance(data, dict):
        return []
    files = data.get("AttachableResponse")
    if isinstance(files, list):  # an upload answers a Fault per refused file, inside its AttachableResponse
        return [error for entry in files for error in _faults(entry)]
    fault = data.get("Fault") or data.get("fault")
    errors = (fault.get("Error") or fault.get("error")) if isinstance(fault, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def _field(error: Mapping[str, Any], name: str) -> str:
    value = error.get(name) or error.get(name.lower()) or error.get(name.capitalize()) or ""
    return str(value).strip()


def describe_error(response: requests.Response) -> str:
    """QuickBooks' own words: ``code Message: Detail`` per fault error, the OAuth error, or what the page was."""
    try:
        data = json.loads(response.text)
    except ValueError:
        data = None
    errors = _faults(data)
    if errors:
        parts = []
        for error in errors:
            message, detail = _field(error, "Message"), _field(error, "Detail")
            text = f"{message}: {detail}" if detail and detail != message else message or detail
            parts.append(f"{_field(error, 'code')} {text}".strip())
        return "; ".join(parts)
    if isinstance(data, dict) and data.get("error"):
        return f"{data['error']}: {data.get('error_description') or ''}".rstrip(": ")
    if "html" in response.headers.get("Content-Type", "") or response.text.lstrip()[:1] == "<":
        return f"an HTML page instead of an answer (HTTP {response.status_code})"
    text = " ".join(response.text.split())
    return text[:500] if text else response.reason or "no message"


def fault_code(message: str) -> str:
    """The QuickBooks code a described error starts with (``6240 Duplicate Name Exists Error: …`` → ``6240``)."""
    head = message.split(" ", 1)[0]
    return head if head.isdigit() else ""


class _Note(StatusNote):
    """Remembers the status, the fault code and the OAuth error of a refusal: the client decides on them."""

    def __init__(self) -> None:
        super().__init__(describe_error)
        self.code = ""
        self.html = False

    def describe(self, response: requests.Response) -> str:
        text = super().describe(response)
        self.code = fault_code(text)
        self.html = text.startswith("an HTML page")
        return text


def _throttled(error: RetryableError, note: _Note) -> RetryableError:
    """A throttle (429, a 403 that says ThrottleExceeded, or an HTML page) waits the vendor's time, else 60 s."""
    if error.status not in (403, 429) and note.code != THROTTLE_CODE:
        return error
    wait = error.retry_after if error.retry_after is not None else THROTTLE_WAIT
    return RetryableError(f"{error} (throttled: waiting {wait:g} s)", retry_after=wait, status=error.status)


def token_request(
    session: requests.Session, token_url: str, partner: Mapping[str, str], form: dict[str, str]
) -> Renewal:
    """One call to Intuit's token endpoint (HTTP Basic with Koppel's app credentials); ``invalid_grant`` means the
    company's grant is gone (disconnected, expired or a refresh token used twice): reconnect."""
    client_id, secret = partner.get("client_id", ""), partner.get("client_secret", "")
    if not client_id or not secret:
        raise InputError(f"Koppel's {VENDOR} partner secret needs client_id and client_secret (the app's keys)")
    note = _Note()
    try:
        response = send(
            session, "POST", token_url, vendor=VENDOR, describe_error=note.describe, data=form,
            auth=(client_id, secret), headers={"Accept": "application/json"},
        )  # fmt: skip
    except (PermanentError, AuthError) as error:
        if "invalid_grant" in str(error):
            raise AuthError(
                f"{VENDOR} no longer accepts this company's grant (invalid_grant): reconnect {VENDOR} "
                "(the owner signs in again from Koppel's start link)"
            ) from error
        raise AuthError(f"{VENDOR} refused Koppel's app credentials: {error}") from error
    token = parse_reply(_Token, json_body(response), f"POST {token_url}", VENDOR)
    return Renewal(token.access_token, token.expires_in, token.refresh_token, token.x_refresh_token_expires_in)


class QuickbooksClient:
    """Calls to one company (realm) with the grant every worker of the connection shares."""

    def __init__(self, ctx: ConnectorContext, settings: QuickbooksSettings) -> None:
        self.settings = settings
        self._ctx = ctx
        self._tokens = OAuthTokens(ctx, SYSTEM, self._renew, vendor=VENDOR)
        limits = [(settings.rate_limit_per_second, 1.0), (settings.rate_limit_per_minute, 60.0)]
        self._limiter = RateLimiter(shared_limits(limits, ctx.workers))

    @property
    def realm_id(self) -> str:
        realm = self._ctx.secrets.get("realm_id", "")
        if not realm:
            raise AuthError(f"no {VENDOR} company is connected (no realm id stored): connect {VENDOR}")
        return realm

    def call(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: object = None
    ) -> dict[str, Any]:
        """One JSON call to ``/v3/company/{realm}{path}``; a 401 renews the grant once and tries again."""
        attempt = partial(self._send, method, path, params or {}, body, "application/json")
        answer = self._tokens.call_renewing(attempt, _Note)
        return answer if isinstance(answer, dict) else {}

    def pdf(self, path: str) -> bytes:
        attempt = partial(self._send, "GET", path, {}, None, "application/pdf")
        data = self._tokens.call_renewing(attempt, _Note)
        return data if isinstance(data, bytes) else b""

    def create(self, entity: str, body: object, request_id: str, operation: str = "") -> dict[str, Any]:
        """A write with ``requestid``: QuickBooks answers a repeat with the first answer and changes nothing."""
        params = {"requestid": request_id[:50], **({"operation": operation} if operation else {})}
        return self.call("POST", f"/{entity.lower()}", params=params, body=body)

    def upload(self, files: dict[str, tuple[str | None, bytes, str]]) -> dict[str, Any]:
        """A multipart ``POST /upload`` (an Attachable's metadata and its file, as numbered parts)."""
        attempt = partial(self._send, "POST", "/upload", {}, None, "application/json", files=files)
        answer = self._tokens.call_renewing(attempt, _Note)
        return answer if isinstance(answer, dict) else {}

    def query(self, statement: str) -> dict[str, Any]:
        answer = self.call("GET", "/query", params={"query": statement})
        found = answer.get("QueryResponse")
        return found if isinstance(found, dict) else {}

    def _send(
        self,
        method: str,
        path: str,
        params: dict[str, Any],
        body: object,
        accept: str,
        note: _Note,
        files: dict[str, tuple[str | None, bytes, str]] | None = None,
    ) -> dict[str, Any] | bytes | None:
        url = f"{self.settings.base_url.rstrip('/')}/v3/company/{quote(self.realm_id, safe='')}{path}"
        headers = {"Authorization": f"Bearer {self._tokens.current()}", "Accept": accept}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = wire.dumps(body).encode()
        self._limiter.acquire()
        try:
            response = send(
                self._ctx.session, method, url, vendor=VENDOR, describe_error=note.describe, data=data,
                headers=headers, params={**params, "minorversion": self.settings.minorversion}, files=files,
            )  # fmt: skip
        except RetryableError as error:
            raise _throttled(error, note) from error
        except AuthError as error:
            if note.status == 403 and (note.code == THROTTLE_CODE or note.html):
                raise _throttled(RetryableError(str(error), status=403), note) from error
            raise
        if accept != "application/json":
            return response.content
        return json_body(response) if response.content.strip() else None

    def _renew(self, refresh_token: str) -> Renewal:
        if not refresh_token:
            raise AuthError(f"{VENDOR} is not connected (no refresh token stored): connect {VENDOR}")
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return token_request(self._ctx.session, self.settings.token_url, self._ctx.partner_secret(), form)
