"""How Koppel talks to SnelStart's B2B API v2: a bearer token from the administratie's koppelsleutel, Koppel's partner
subscription key on every call, OData paging, a shared rate limit, and SnelStart's error bodies in its own words.
README.md in this folder has the API facts (auth, paging, errors, what is verified)."""

from __future__ import annotations

import json
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, Field

from koppel.connectors.kit import SharedTokens, StatusNote, VendorReply, parse_reply, send_json
from koppel.connectors.snelstart.settings import VENDOR, SnelstartSettings
from koppel.errors import AuthError, InputError, PermanentError
from koppel.http import RateLimiter, json_body, send, shared_limits

if TYPE_CHECKING:
    import requests

    from koppel.connectors.contract import ConnectorContext

SYSTEM = "snelstart"
_PAGE = 500
_MAX_PAGES = 200


class _SnelstartToken(VendorReply):
    access_token: str = Field(min_length=1)
    expires_in: int = 3599


W = TypeVar("W", bound=BaseModel)


def parse(model: type[W], data: Any, what: str) -> W:
    return parse_reply(model, data, what, VENDOR)


def parse_list(model: type[W], data: Any, what: str) -> list[W]:
    if not isinstance(data, list):
        raise PermanentError(f"{VENDOR} answered {what} with {type(data).__name__} where a list was expected")
    return [parse(model, row, what) for row in data]


def odata_string(value: str) -> str:
    """An OData string literal: quotes doubled, per the OData URL conventions."""
    return "'" + value.replace("'", "''") + "'"


def describe_error(response: requests.Response) -> str:
    """SnelStart's own words for a failed call, as one readable sentence."""
    try:
        data = json.loads(response.text)
    except ValueError:
        data = None
    messages = _messages(data)
    if messages:
        return "; ".join(messages)
    text = " ".join(response.text.split())
    return text[:500] if text else response.reason or "no message"


def _messages(data: Any) -> list[str]:
    items = data if isinstance(data, list) else [data]
    return [message for item in items if (message := _message(item))]


def _message(item: Any) -> str:
    if isinstance(item, str):
        return item.strip()
    if not isinstance(item, dict):
        return ""
    text = str(item.get("message") or item.get("error_description") or item.get("error") or "").strip()
    code = str(item.get("errorCode") or "").strip()
    parts = [f"{code}: {text}" if code and text else code or text]
    details = item.get("details")
    if isinstance(details, str) and details.strip():
        parts.append(details.strip())
    elif isinstance(details, list):
        parts.extend(str(d) for d in details if d)
    model_state = item.get("modelState")
    if isinstance(model_state, dict):
        for field, problems in model_state.items():
            listed = problems if isinstance(problems, list) else [problems]
            parts.append(f"{field}: {' '.join(str(p) for p in listed)}")
    return " | ".join(p for p in parts if p)


class _ErrorNote(StatusNote):
    """Also remembers the OAuth error code: ``invalid_grant`` (reconnect) is a decision only this connector makes."""

    def __init__(self) -> None:
        super().__init__(describe_error)
        self.code = ""

    def describe(self, response: requests.Response) -> str:
        try:
            data = json.loads(response.text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            self.code = str(data.get("error") or "")
        return super().describe(response)


class _Koppelsleutel:
    """Swaps the administratie's koppelsleutel for a bearer token (OAuth ``grant_type=clientkey``)."""

    def __init__(self, ctx: ConnectorContext, settings: SnelstartSettings) -> None:
        self._ctx = ctx
        self._settings = settings

    def exchange(self) -> tuple[str, int]:
        token = self._fetch()
        return token.access_token, token.expires_in

    def _fetch(self) -> _SnelstartToken:
        key = self._ctx.secrets.get("koppelsleutel", "")
        if not key:
            raise AuthError(
                f"no koppelsleutel is stored for this connection: connect {VENDOR} (activate the koppeling)"
            )
        note = _ErrorNote()
        try:
            response = send(
                self._ctx.session,
                "POST",
                self._settings.auth_url,
                vendor=VENDOR,
                describe_error=note.describe,
                data={"grant_type": "clientkey", "clientkey": key},
                headers={"Accept": "application/json"},
            )
        except (PermanentError, AuthError) as error:
            if note.code in ("invalid_grant", "invalid_client"):
                raise AuthError(f"the koppelsleutel was revoked or regenerated: reconnect {VENDOR}") from error
            raise
        return parse(_SnelstartToken, json_body(response), f"POST {self._settings.auth_url}")


class SnelstartClient:
    """Calls to one administratie (one koppelsleutel), with the bearer shared by every worker."""

    def __init__(self, ctx: ConnectorContext, settings: SnelstartSettings) -> None:
        self.settings = settings
        self._ctx = ctx
        self._tokens = SharedTokens(ctx, SYSTEM, _Koppelsleutel(ctx, settings).exchange)
        self._subscription_key: str | None = None
        limits = [(settings.rate_limit_per_second, 1.0), (settings.rate_limit_per_minute, 60.0)]
        self._limiter = RateLimiter(shared_limits(limits, ctx.workers))

    def fetch_all(self, path: str) -> list[Any]:
        """Every row of an OData list endpoint, paged with $top/$skip until an empty page."""
        rows: list[Any] = []
        seen: set[str] = set()
        for _ in range(_MAX_PAGES):
            page = self.call("GET", path, params={"$top": _PAGE, "$skip": len(rows)})
            if not isinstance(page, list) or not page:
                break
            fresh = [r for r in page if not (isinstance(r, dict) and r.get("id") in seen)]
            if not fresh:
                break  # the server ignored $skip: stop instead of looping forever
            seen.update(str(r.get("id")) for r in fresh if isinstance(r, dict))
            rows.extend(fresh)
        return rows

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: object = None) -> Any:
        """One API call with bearer + subscription key; a 401 renews the token and tries once more."""
        url = self.settings.api_base.rstrip("/") + path
        return self._tokens.call_renewing(partial(self._send, method, url, params, body), _ErrorNote)

    def _send(self, method: str, url: str, params: dict[str, Any] | None, body: object, note: _ErrorNote) -> Any:
        headers = {
            "Authorization": f"Bearer {self._tokens.current()}",
            "Ocp-Apim-Subscription-Key": self._partner_key(),
        }
        self._limiter.acquire()
        return send_json(
            self._ctx.session, method, url, vendor=VENDOR, note=note, headers=headers, params=params, body=body
        )

    def _partner_key(self) -> str:
        if self._subscription_key is None:
            key = self._ctx.partner_secret().get("subscription_key", "")
            if not key:
                raise InputError(
                    f"Koppel's {VENDOR} partner secret has no subscription_key (the Ocp-Apim-Subscription-Key from "
                    "the B2B API developer portal): add it to the partner secret"
                )
            self._subscription_key = key
        return self._subscription_key
