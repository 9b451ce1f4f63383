"""How Koppel talks to Billy's API v2: the organization's access token in ``X-Access-Token`` (tokens do not expire,
so a 401 is never renewed: the token was deleted or mistyped), bodies wrapped in the resource's singular name,
lists paged by ``page``/``pageSize`` (at most 1,000), and Billy's error bodies in its own words. README.md in this
folder has the API facts."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from koppel.connectors.billy.settings import VENDOR, BillySettings
from koppel.connectors.kit import StatusNote, parse_reply, send_json
from koppel.errors import AuthError, PermanentError
from koppel.http import json_body, send

if TYPE_CHECKING:
    import requests

    from koppel.connectors.contract import ConnectorContext

W = TypeVar("W", bound=BaseModel)
_MAX_PAGES = 500
TOKEN_HINT = "check the access token (Billy: Settings > Access tokens) and reconnect Billy with it"


def parse(model: type[W], data: Any, what: str) -> W:
    return parse_reply(model, data, what, VENDOR)


class BillyClient:
    """Calls to one Billy organization (one access token)."""

    def __init__(self, ctx: ConnectorContext, settings: BillySettings) -> None:
        self.settings = settings
        self._ctx = ctx

    def _token(self) -> str:
        token = self._ctx.secrets.get("access_token", "")
        if not token:
            raise AuthError(f"no {VENDOR} access token is stored for this connection: {TOKEN_HINT}")
        return token

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: object = None) -> Any:
        url = self.settings.base_url.rstrip("/") + path
        headers = {"X-Access-Token": self._token()}
        note = StatusNote(describe_error)
        answer = send_json(
            self._ctx.session, method, url, vendor=VENDOR, note=note, headers=headers, params=params, body=body
        )
        return answer if isinstance(answer, dict) else {}

    def approve(self, plural: str, record: dict[str, Any]) -> dict[str, Any]:
        """Draft → approved, the only state change Billy allows [V]: the record as Billy now holds it."""
        return _approved(self.write("PUT", plural, {"state": "approved"}, str(record["id"])), plural, record)

    def upload(self, filename: str, content_type: str, data: bytes) -> dict[str, Any]:
        """``POST /v2/files`` with the file as the raw body, named by ``X-Filename`` [V]: answers ``files``."""
        headers = {
            "X-Access-Token": self._token(), "X-Filename": filename, "Content-Type": content_type,
            "Accept": "application/json",
        }  # fmt: skip
        url = self.settings.base_url.rstrip("/") + "/files"
        response = send(
            self._ctx.session, "POST", url, vendor=VENDOR, describe_error=describe_error,
            data=data, headers=headers,
        )  # fmt: skip
        answer = json_body(response) if response.content.strip() else None
        return answer if isinstance(answer, dict) else {}

    def get_one(self, plural: str, ident: str, include: str = "") -> dict[str, Any] | None:
        """One record by id (with its embedded relations), or None when Billy has no such record."""
        params = {"include": include} if include else None
        try:
            answer = self.call("GET", f"/{plural}/{ident}", params=params)
        except PermanentError as error:
            if error.status == 404:
                return None
            raise
        record = answer.get(_singular(plural))
        return record if isinstance(record, dict) else None

    def list_all(self, plural: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every record of a list, page by page (``meta.paging.pageCount`` says when it ends)."""
        rows: list[dict[str, Any]] = []
        for page in range(1, _MAX_PAGES + 1):
            answer = self.call("GET", f"/{plural}", params={**(params or {}), "page": page, "pageSize": self.page_size})
            found = answer.get(plural)
            if isinstance(found, list):
                rows.extend(row for row in found if isinstance(row, dict))
            paging = (answer.get("meta") or {}).get("paging") or {}
            count = paging.get("pageCount")
            if not isinstance(found, list) or not found or not isinstance(count, int) or page >= count:
                break
        return rows

    @property
    def page_size(self) -> int:
        return self.settings.page_size

    def write(self, method: str, plural: str, body: dict[str, Any], ident: str = "") -> dict[str, Any]:
        """A create (POST) or partial update (PUT) of one record: Billy answers every record the request changed."""
        path = f"/{plural}/{ident}" if ident else f"/{plural}"
        return dict(self.call(method, path, body={_singular(plural): body}))


def _approved(answer: dict[str, Any], plural: str, record: dict[str, Any]) -> dict[str, Any]:
    return {**record, **next((r for r in answer.get(plural) or [] if r.get("id") == record["id"]), {})}


def first_saved(answer: dict[str, Any], plural: str, what: str) -> dict[str, Any]:
    """The record a write saved: the first of its plural in Billy's answer, which lists every changed record."""
    rows = answer.get(plural)
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict) or "id" not in rows[0]:
        raise PermanentError(f"{VENDOR} answered {what} without the {plural} it saved: {str(answer)[:200]}")
    return rows[0]


def _singular(plural: str) -> str:
    return plural[:-1] if plural.endswith("s") else plural


def describe_error(response: requests.Response) -> str:
    """Billy's own words for a failed call: ``errorMessage`` and the fields ``validationErrors`` names, as one
    sentence; a 401 adds what to do about it."""
    try:
        data = json.loads(response.text)
    except ValueError:
        data = None
    words = ""
    if isinstance(data, dict) and (data.get("errorMessage") or data.get("validationErrors")):
        words = str(data.get("errorMessage") or "").strip()
        details = []
        for entry in (data.get("validationErrors") or {}).values():
            if isinstance(entry, dict):
                for field, text in (entry.get("attributes") or {}).items():
                    details.append(f"{field}: {text}")
        if details:
            words = f"{words} ({'; '.join(details)})" if words else "; ".join(details)
    if not words:
        text = " ".join(response.text.split())
        words = text[:500] if text else response.reason or "no message"
    if response.status_code == 401:
        return f"{words} ({TOKEN_HINT})"
    return words
