"""What every connector needs alike: its settings validated with a sentence on error, vendor answers read into
wire models with a sentence on error, and short-lived access tokens (SnelStart's bearer, e-Boekhouden's session)
cached in the connection store so every worker shares one, renewed before they expire and after a 401.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from koppel.errors import AuthError, InputError, PermanentError
from koppel.ports import CachedToken

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests

    from koppel.connectors import ConnectorContext
    from koppel.model import SalesDocument

REFRESH_MARGIN = timedelta(seconds=60)
M = TypeVar("M", bound=BaseModel)
N = TypeVar("N", bound="StatusNote")
T = TypeVar("T")
_TEMPLATE_EXAMPLE = {"number": "1001", "reference": "REF", "name": "Jan Jansen", "date": "2026-05-01"}


def _fillable(template: str) -> str:
    try:
        template.format_map(_TEMPLATE_EXAMPLE)
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(
            f"{template!r} cannot be filled in: use only {{number}}, {{reference}}, {{name}}, {{date}}"
        ) from error
    return template


DescriptionTemplate = Annotated[str, Field(min_length=1), AfterValidator(_fillable)]
"""A booking description setting; may use {number}, {reference}, {name} and {date} of the document."""


def describe(template: str, doc: SalesDocument) -> str:
    fields = {"number": doc.number, "reference": doc.reference, "name": doc.party.name, "date": str(doc.issue_date)}
    return template.format_map(fields)


class VendorReply(BaseModel):
    """Base of a connector's wire models of a vendor's answers: fields Koppel does not use are ignored."""

    model_config = ConfigDict(extra="ignore")


def load_settings(model: type[M], raw: Any, vendor: str) -> M:
    """A connection's settings for one connector; wrong ones are refused with every problem named."""
    try:
        return model.model_validate(dict(raw))
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        raise InputError(f"the {vendor} settings of this connection are wrong: {problems}") from error


def parse_reply(model: type[M], data: Any, what: str, vendor: str) -> M:
    """A vendor answer as a wire model; an answer of another shape parks the record with what was wrong."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise PermanentError(
            f"{vendor} answered {what} with an unexpected shape: {error.errors()[0]['msg']}"
        ) from error


class StatusNote:
    """Remembers the status of a vendor's refusal while koppel.http.send maps it: a 401 means the access token was
    refused (renew it once), which only the connector that holds the token can act on."""

    def __init__(self, describe: Callable[[requests.Response], str]) -> None:
        self.status: int | None = None
        self._describe = describe

    def describe(self, response: requests.Response) -> str:
        self.status = response.status_code
        return self._describe(response)


class SharedTokens:
    """``fetch()`` returns (token, seconds it lives); it is called only when no fresh token is cached.

    Tokens go in the connection store (in memory in a preview): concurrent workers that renew at once each store
    with the next version, one wins, and the loser takes the winner's token while it is fresh (both stay valid).
    """

    def __init__(self, ctx: ConnectorContext, system: str, fetch: Callable[[], tuple[str, int]]) -> None:
        self._ctx = ctx
        self._system = system
        self._fetch = fetch
        self._token: CachedToken | None = None

    def current(self) -> str:
        token = self._token or self._stored()
        if token is None or self._is_expiring(token):
            token = self._renew(token)
        self._token = token
        return token.value

    def call_renewing(self, attempt: Callable[[N], T], new_note: Callable[[], N]) -> T:
        """One call with the current token; a 401 renews the token and tries once more (a second 401 stands)."""
        note = new_note()
        try:
            return attempt(note)
        except AuthError:
            if note.status != 401:
                raise
        self.renew()
        return attempt(new_note())

    def renew(self) -> None:
        """After the vendor refused the token it gave (a 401): a new one, whatever the clock says."""
        self._token = self._renew(self._token or self._stored())

    def _stored(self) -> CachedToken | None:
        store = self._ctx.store
        return store.get_token(self._ctx.connection.connection_id, self._system) if store else None

    def _is_expiring(self, token: CachedToken) -> bool:
        return self._ctx.clock() >= token.expires_at - REFRESH_MARGIN

    def _renew(self, previous: CachedToken | None) -> CachedToken:
        value, lifetime = self._fetch()
        token = CachedToken(
            value=value,
            expires_at=self._ctx.clock() + timedelta(seconds=lifetime),
            version=previous.version + 1 if previous else 1,
        )
        store = self._ctx.store
        if store and not store.put_token(self._ctx.connection.connection_id, self._system, token):
            theirs = self._stored()
            if theirs and not self._is_expiring(theirs):
                return theirs
        return token
