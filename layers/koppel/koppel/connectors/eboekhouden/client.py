"""How Koppel talks to e-Boekhouden.nl's REST API: a session opened with the administration's API token and shared
by every worker, offset paging, a client-side rate limit, and e-Boekhouden's error bodies in its own words.
README.md in this folder has the API facts (auth, paging, error codes, what is verified)."""

from __future__ import annotations

import json
import re
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, Field

from koppel.connectors.eboekhouden.settings import VENDOR, EboekhoudenSettings
from koppel.connectors.kit import SharedTokens, StatusNote, VendorReply, parse_reply, send_json
from koppel.errors import AuthError, PermanentError
from koppel.http import RateLimiter, json_body, send, shared_limits

if TYPE_CHECKING:
    import requests

    from koppel.connectors.contract import ConnectorContext

SYSTEM = "eboekhouden"
W = TypeVar("W", bound=BaseModel)
_PAGE = 500
_MAX_PAGES = 200


class _Session(VendorReply):
    token: str = Field(min_length=1)
    expiresIn: int = 3600


def parse(model: type[W], data: Any, what: str) -> W:
    return parse_reply(model, data, what, VENDOR)


class EboekhoudenClient:
    """Calls to one administration (one API token), with the session shared by every worker."""

    def __init__(self, ctx: ConnectorContext, settings: EboekhoudenSettings) -> None:
        self.settings = settings
        self._ctx = ctx
        self._sessions = SharedTokens(ctx, SYSTEM, self._open_session)
        limits = [(settings.rate_limit_per_second, 1.0), (settings.rate_limit_per_minute, 60.0)]
        self._limiter = RateLimiter(shared_limits(limits, ctx.workers))

    def fetch_all(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        rows: list[Any] = []
        for _ in range(_MAX_PAGES):
            page = self.call("GET", path, params={**(params or {}), "limit": _PAGE, "offset": len(rows)})
            found = items(page)
            rows.extend(found)
            total = page.get("count") if isinstance(page, dict) else None
            if not found or len(found) < _PAGE or (isinstance(total, int) and len(rows) >= total):
                break
        return rows

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: object = None) -> Any:
        """One API call with the session token; a 401 opens a new session and tries once more."""
        attempt = partial(self._send, method, path, params, body)
        return self._sessions.call_renewing(attempt, lambda: StatusNote(describe_error))

    def _send(self, method: str, path: str, params: dict[str, Any] | None, body: object, note: StatusNote) -> Any:
        headers = {"Authorization": self._sessions.current()}
        self._limiter.acquire()
        url = self.settings.api_base.rstrip("/") + path
        return send_json(
            self._ctx.session, method, url, vendor=VENDOR, note=note, headers=headers, params=params, body=body
        )

    def _open_session(self) -> tuple[str, int]:
        api_token = self._ctx.secrets.get("api_token", "")
        if not api_token:
            raise AuthError(
                f"no API token is stored for this connection: connect {VENDOR} with the token from "
                "Beheer > Inrichting > Instellingen > Koppelingen > API"
            )
        url = self.settings.api_base.rstrip("/") + "/v1/session"
        try:
            response = send(
                self._ctx.session,
                "POST",
                url,
                vendor=VENDOR,
                describe_error=describe_error,
                data=json.dumps({"accessToken": api_token, "source": self.settings.source}).encode(),
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )
        except (PermanentError, AuthError) as error:
            if "API_SESSION_004" in str(error) or "API_SESSION_003" in str(error):
                raise AuthError(f"{VENDOR} no longer accepts the API token: reconnect {VENDOR}") from error
            raise
        session = parse(_Session, json_body(response), "POST /v1/session")
        return session.token, session.expiresIn


def items(page: Any) -> list[Any]:
    if isinstance(page, dict) and isinstance(page.get("items"), list):
        return list(page["items"])
    raise PermanentError(f"{VENDOR} answered a list call without its items: {str(page)[:200]}")


def describe_error(response: requests.Response) -> str:
    """e-Boekhouden's own words for a failed call: ``{"code", "message", "title", "status"}`` as one sentence."""
    try:
        data = json.loads(response.text)
    except ValueError:
        data = None
    if isinstance(data, dict) and (data.get("message") or data.get("code")):
        code = str(data.get("code") or "")
        message = str(data.get("message") or data.get("title") or "")
        return f"{code}: {message}" if code else message
    text = " ".join(response.text.split())
    return text[:500] if text else response.reason or "no message"


def error_code(message: str) -> str:
    """The vendor code at the start of a described error (``MUT_019: ...`` → ``MUT_019``)."""
    found = re.match(r"^([A-Z_]+_\d{3})\b", message)
    return found.group(1) if found else ""
