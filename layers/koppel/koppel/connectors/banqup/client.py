"""How Koppel talks to Banqup's BTX API: the firm's app credentials exchanged for a five-minute bearer token that
every worker of the connection shares (renewed before it lapses and once after a 401), the space's files read page
by page, their bytes downloaded through the signed ``downloadUrl`` (a storage host: no bearer token goes there),
and the write-back calls. Refusals are read in Banqup's three shapes (README.md, Errors)."""

from __future__ import annotations

import json
import re
from datetime import UTC, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import Field

from koppel.connectors.banqup.fields import VENDOR, BanqupFile
from koppel.connectors.kit import SharedTokens, StatusNote, VendorReply, parse_reply, send_json
from koppel.errors import AuthError, PermanentError, RetryableError
from koppel.http import json_body, send

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

    import requests

    from koppel.connectors.banqup.settings import BanqupSettings
    from koppel.connectors.contract import ConnectorContext

SYSTEM = "banqup"
TOKEN_PATH = "/oauth2/client_credential/gettoken"
MAX_PAGES = 1000
"""A guard against a listing that never ends: 100,000 files in one poll window."""
CREATED_AFTER_SLACK = timedelta(seconds=1)
"""Whether ``createdAfter`` includes its own instant is not documented: ask from a second earlier and keep only
files created in the window."""
_XML_ERROR = re.compile(r"<Code>([^<]*)</Code>(?:\s*<Message>([^<]*)</Message>)?")


class _Token(VendorReply):
    access_token: str = Field(min_length=1)
    expires_in: int = 300


class _Page(VendorReply):
    number: int = 0
    totalPages: int = 0


class _Listing(VendorReply):
    content: list[BanqupFile]
    page: _Page = _Page()


class BanqupClient:
    """Calls to one client space with the firm's app credentials (``client_id``, ``client_secret``)."""

    def __init__(self, ctx: ConnectorContext, settings: BanqupSettings) -> None:
        self._ctx = ctx
        self.settings = settings
        self._tokens = SharedTokens(ctx, SYSTEM, self._fetch_token)
        self._files = f"/datastore/documents/transaction/v1/spaces/{quote(settings.space_id, safe='')}/files"

    # -- reading ----------------------------------------------------------------------------------------------------
    def files(self, created_after: datetime) -> Iterator[BanqupFile]:
        """Every file created after ``created_after`` (with a second's slack), page by page."""
        after = (created_after - CREATED_AFTER_SLACK).astimezone(UTC).isoformat().replace("+00:00", "Z")
        for number in range(MAX_PAGES):
            params = {"page": number, "size": self.settings.page_size, "createdAfter": after}
            listing = parse_reply(_Listing, self.call("GET", self._files, params=params), "the file list", VENDOR)
            yield from listing.content
            if not listing.content or number + 1 >= listing.page.totalPages:
                return
        raise PermanentError(f"{VENDOR} listed more than {MAX_PAGES} pages of files: poll a shorter window")

    def file(self, file_id: str) -> BanqupFile:
        answer = self.call("GET", f"{self._files}/{quote(file_id, safe='')}")
        return parse_reply(BanqupFile, answer, f"file {file_id}", VENDOR)

    def download(self, file: BanqupFile) -> bytes:
        """The file's bytes from its signed URL, which carries its own authorization (a bearer token is not sent)."""
        name = file.filename or file.id
        if not file.downloadUrl:
            raise PermanentError(f"{VENDOR} gives no download address for {name}: it has no content")
        try:
            response = send(self._ctx.session, "GET", file.downloadUrl, vendor=VENDOR, describe_error=describe_error)
        except AuthError as error:  # an expired or refused signature: the next read of the file signs a new URL
            raise RetryableError(f"{VENDOR}'s download address for {name} was refused: {error}") from error
        return response.content

    # -- writing ----------------------------------------------------------------------------------------------------
    def task(self, file_id: str, task: str, body: dict[str, Any]) -> BanqupFile:
        answer = self.call("POST", f"{self._files}/{quote(file_id, safe='')}/tasks/{task}", body=body)
        return parse_reply(BanqupFile, answer, f"the {task} task", VENDOR)

    def payment_status(self, file_id: str, body: dict[str, Any]) -> BanqupFile:
        answer = self.call("PUT", f"{self._files}/{quote(file_id, safe='')}/payment-status", body=body)
        return parse_reply(BanqupFile, answer, "the payment status", VENDOR)

    # -- one call ---------------------------------------------------------------------------------------------------
    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: object = None) -> Any:
        """One call with the shared token; a 401 renews it and tries once more. A 403 or 404 on the space says
        what the firm must do about it."""
        notes: list[StatusNote] = []

        def new_note() -> StatusNote:
            notes.append(StatusNote(describe_error))
            return notes[-1]

        try:
            return self._tokens.call_renewing(partial(self._send, method, path, params, body), new_note)
        except (AuthError, PermanentError) as error:
            status = notes[-1].status if notes else None
            if status == 403:
                raise AuthError(self._not_whitelisted(error)) from error
            if status == 404 and path == self._files:
                raise AuthError(
                    f"{VENDOR} knows no space {self.settings.space_id} for this app ({error}): check the space id in "
                    "the connection's settings against the spaces the app lists, then reconnect"
                ) from error
            raise

    def _send(self, method: str, path: str, params: dict[str, Any] | None, body: object, note: StatusNote) -> Any:
        headers = {"Authorization": f"Bearer {self._tokens.current()}"}
        url = self.settings.host + path
        return send_json(
            self._ctx.session, method, url, vendor=VENDOR, note=note, headers=headers, params=params, body=body
        )

    def _not_whitelisted(self, error: Exception) -> str:
        who = self.settings.client_name or self._ctx.connection.name or f"the client of space {self.settings.space_id}"
        return (
            f"{VENDOR} refuses the firm's app access to the space of {who} ({error}): ask {who} to whitelist "
            "Koppel's app in Banqup (their legal representative allows apps per space), then poll again"
        )

    def _fetch_token(self) -> tuple[str, int]:
        client_id = self._ctx.secrets.get("client_id", "").strip()
        client_secret = self._ctx.secrets.get("client_secret", "").strip()
        if not client_id or not client_secret:
            raise AuthError(
                f"no {VENDOR} app credentials are stored for connection {self._ctx.connection.connection_id}: "
                "connect Banqup with the client id and secret of the firm's app (Banqup's Developer Portal)"
            )
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        url = self.settings.host + TOKEN_PATH
        try:
            response = send(
                self._ctx.session, "POST", url, vendor=VENDOR, describe_error=describe_error, data=form,
                headers={"Accept": "application/json"},
            )  # fmt: skip
        except AuthError as error:
            raise AuthError(
                f"{VENDOR} refused the firm's app credentials ({error}): reconnect Banqup with the app's current "
                "client id and secret"
            ) from error
        token = parse_reply(_Token, json_body(response), "the token request", VENDOR)
        return token.access_token, token.expires_in


def describe_error(response: requests.Response) -> str:
    """Banqup's own words in any of its shapes: the token route's ``{"ErrorCode", "Error"}``, the gateway's
    ``{"fault": …}``, the datastore's ``{"code", "message"}``, or the storage host's XML ``<Error>``."""
    text = response.text.strip()
    try:
        data = json.loads(text) if text.startswith("{") else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        fault = data.get("fault")
        if isinstance(fault, dict):
            detail = fault.get("detail")
            detail = detail if isinstance(detail, dict) else {}
            return _words(str(detail.get("errorcode") or ""), str(fault.get("faultstring") or ""))
        if data.get("ErrorCode") or data.get("Error"):
            return _words(str(data.get("ErrorCode") or ""), str(data.get("Error") or ""))
        if data.get("code") or data.get("message"):
            return _words(str(data.get("code") or ""), str(data.get("message") or ""))
    if found := _XML_ERROR.search(text):
        return _words(found.group(1), found.group(2) or "")
    flat = " ".join(text.split())
    return flat[:500] if flat else response.reason or "no message"


def _words(code: str, message: str) -> str:
    return f"{code}: {message}" if code and message else code or message
