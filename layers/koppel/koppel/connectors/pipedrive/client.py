"""How Koppel talks to Pipedrive: the v2 API (deals, their products, persons, organizations) and v1 where v2 has
nothing yet (deal fields, webhooks, the current user). README.md in this folder has the API facts.

Auth: a personal API token in the ``x-api-token`` header, or an OAuth access token (``Authorization: Bearer``) on
the ``api_domain`` its grant named; a refused access token is renewed once (``kit.oauth.OAuthTokens``).
Limits: Pipedrive counts a daily token budget per company and a burst limit per token. A 429 waits what Pipedrive
says (``Retry-After``, else ``x-ratelimit-reset``); a burst answered with 403 (JSON with no requests left, or
Cloudflare's HTML page) is a throttle too, not a credentials problem; an exhausted daily budget waits until it
refills at midnight UTC, and this client calls nothing before then.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from koppel import wire
from koppel.connectors.kit.replies import StatusNote
from koppel.connectors.pipedrive.fields import VENDOR
from koppel.errors import AuthError, KoppelError, PermanentError, RetryableError
from koppel.http import json_body, retry_after_seconds, send

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import requests

    from koppel.connectors.kit.oauth import OAuthTokens

BURST_WAIT = 2.0
"""Pipedrive's burst window is 2 seconds: the wait when it names none."""
BLOCK_WAIT = 60.0
"""Cloudflare's HTML block after calls went on through 429s: wait a minute before the next try."""
REFILL_MARGIN = timedelta(minutes=1)


class Note(StatusNote):
    """Remembers the refusal itself (status, headers, whether it was an HTML page) while ``send`` maps it."""

    def __init__(self) -> None:
        super().__init__(describe_error)
        self.response: requests.Response | None = None

    def describe(self, response: requests.Response) -> str:
        self.response = response
        return super().describe(response)

    @property
    def is_html(self) -> bool:
        if self.response is None:
            return False
        kind = self.response.headers.get("Content-Type", "").lower()
        return "html" in kind or self.response.text.lstrip()[:15].lower().startswith(("<!doctype", "<html"))


class PipedriveClient:
    """One Pipedrive company, as the connected user (API token) or the app's grant (OAuth) sees it."""

    def __init__(
        self,
        base_url: str,
        session: requests.Session,
        clock: Callable[[], datetime],
        *,
        api_token: str = "",
        tokens: OAuthTokens | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._clock = clock
        self._api_token = api_token
        self._tokens = tokens
        self._closed_until: datetime | None = None

    def keep_alive(self) -> bool:
        """Renew an idle OAuth grant (at most once a day): its refresh token lapses after weeks unused, and a
        connection whose won deals do not make invoices may call nothing else for that long. True when renewed."""
        return self._tokens.keep_alive() if self._tokens is not None else False

    # -- calls --------------------------------------------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.call("GET", path, params=params)

    def data(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """The ``data`` of a GET (Pipedrive's envelope ``{"success", "data", "additional_data"}``)."""
        answer = self.get(path, params)
        return answer.get("data") if isinstance(answer, Mapping) else None

    def pages_v2(self, path: str, params: Mapping[str, Any], limit: int) -> Iterator[Mapping[str, Any]]:
        """Every item of a v2 list, following ``additional_data.next_cursor``."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
            answer = self.get(path, query)
            items = answer.get("data") if isinstance(answer, Mapping) else None
            if not isinstance(items, list):
                raise PermanentError(f"{VENDOR} answered GET {path} without a data list")
            yield from (item for item in items if isinstance(item, Mapping))
            extra = answer.get("additional_data")
            cursor = extra.get("next_cursor") if isinstance(extra, Mapping) else None
            if not isinstance(cursor, str) or not cursor or cursor in seen:
                return
            seen.add(cursor)

    def pages_v1(self, path: str, limit: int = 500) -> Iterator[Mapping[str, Any]]:
        """Every item of a v1 list, following ``additional_data.pagination.next_start``."""
        start = 0
        while True:
            answer = self.get(path, {"start": start, "limit": limit})
            items = answer.get("data") if isinstance(answer, Mapping) else None
            yield from (item for item in items or [] if isinstance(item, Mapping))
            extra = answer.get("additional_data") if isinstance(answer, Mapping) else None
            paging = extra.get("pagination") if isinstance(extra, Mapping) else None
            following = paging.get("next_start") if isinstance(paging, Mapping) else None
            if not items or not isinstance(paging, Mapping) or not paging.get("more_items_in_collection"):
                return
            if not isinstance(following, int) or following <= start:
                return
            start = following

    def call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: object = None) -> Any:
        """One call; a refused OAuth access token is renewed once and the call made again."""
        if self._tokens is None:
            return self._once(method, path, params, body, Note())
        return self._tokens.call_renewing(lambda note: self._once(method, path, params, body, note), Note)

    def _once(self, method: str, path: str, params: Mapping[str, Any] | None, body: object, note: Note) -> Any:
        self._check_budget()
        headers = {"Accept": "application/json"}
        if self._tokens is not None:
            headers["Authorization"] = f"Bearer {self._tokens.current()}"
        else:
            headers["x-api-token"] = self._api_token
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = wire.dumps(body).encode()
        try:
            response = send(
                self._session, method, self.base_url + path, vendor=VENDOR, describe_error=note.describe,
                params=dict(params or {}), data=data, headers=headers,
            )  # fmt: skip
        except KoppelError as error:
            raise self._mapped(error, note, f"{method} {path}") from error
        if "html" in response.headers.get("Content-Type", "").lower():
            raise RetryableError(f"{VENDOR} answered {method} {path} with a web page instead of JSON", retry_after=60)
        return json_body(response) if response.content.strip() else None

    # -- refusals -----------------------------------------------------------------------------------------------
    def _mapped(self, error: KoppelError, note: Note, where: str) -> KoppelError:
        response, status = note.response, note.status
        if response is None or status is None:
            return error  # no answer at all (timeout, refused connection): as koppel.http said
        throttled = self._throttle(response, status, note.is_html, where)
        if throttled is not None:
            return throttled
        detail = describe_error(response)
        if status == 401:
            how = (
                "the OAuth access, even after renewing it"
                if self._tokens is not None
                else "the personal API token (revoked, or replaced by a new one)"
            )
            return AuthError(f"{VENDOR} refused {how} for {where} ({detail}): reconnect Pipedrive for this connection")
        if status == 403:
            return PermanentError(
                f"{VENDOR} does not allow {where} (403: {detail}); the connected user may lack the permission",
                status=403, vendor_message=detail,
            )  # fmt: skip
        return error

    def _throttle(self, response: requests.Response, status: int, is_html: bool, where: str) -> RetryableError | None:
        """A 429, or a 403 that is a throttle (Cloudflare's HTML page, or no requests left in the burst window)."""
        if status == 429 and _budget_spent(response):
            return self._budget_spent(response)
        wait = retry_after_seconds(response)
        if status == 429:
            wait = wait or BURST_WAIT
            why = f"{VENDOR} asks to slow down (429 to {where}, its burst limit)"
        elif status == 403 and is_html:
            wait = max(BLOCK_WAIT, wait or 0.0)
            why = f"{VENDOR} answered {where} with a blocking web page (403) after too many calls"
        elif status == 403 and response.headers.get("x-ratelimit-remaining", "").strip() == "0":
            wait = wait or BURST_WAIT
            why = f"{VENDOR} refused {where} with 403 and no requests left in its burst window"
        else:
            return None
        extra = "" if status == 429 else "; this is a throttle, not a credentials problem"
        return RetryableError(f"{why}{extra}: Koppel tries again in {wait:.0f} s", retry_after=wait, status=status)

    def _budget_spent(self, response: requests.Response) -> RetryableError:
        now = self._clock().astimezone(UTC)
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        refill = max(midnight + REFILL_MARGIN, now + timedelta(seconds=retry_after_seconds(response) or 0))
        self._closed_until = refill
        return self._budget_error(now)

    def _budget_error(self, now: datetime) -> RetryableError:
        assert self._closed_until is not None
        wait = (self._closed_until - now).total_seconds()
        return RetryableError(
            f"{VENDOR}'s daily API budget of this company is used up (every user and app of the account draws on "
            f"it); it refills at midnight UTC, in {wait / 3600:.1f} h: Koppel waits until then and calls nothing "
            "before. Other integrations of this Pipedrive account may be using the budget",
            retry_after=wait, status=429,
        )  # fmt: skip

    def _check_budget(self) -> None:
        if self._closed_until is not None:
            now = self._clock()
            if now < self._closed_until:
                raise self._budget_error(now)
            self._closed_until = None


def _budget_spent(response: requests.Response) -> bool:
    left = response.headers.get("x-daily-ratelimit-token-remaining", "").strip()
    if left == "0":
        return True
    message = describe_error(response).lower()
    return "daily" in message and ("budget" in message or "limit" in message)


def describe_error(response: requests.Response) -> str:
    """Pipedrive's error body (``{"success": false, "error", "error_info"}``, or OAuth's ``{"error",
    "message"}``) as one sentence in its own words."""
    try:
        data = json_body(response)
    except RetryableError:
        data = None
    if isinstance(data, Mapping):
        message = data.get("error") if isinstance(data.get("error"), str) else None
        message = data.get("message") if isinstance(data.get("message"), str) and not message else message
        if message:
            return str(message)[:300]
    text = response.text.strip()
    if text.lower().startswith(("<!doctype", "<html")):
        return "a web page instead of JSON"
    return text[:300] if text else response.reason or "no message"
