"""Pipedrive's OAuth 2.0 (authorization code, rotating refresh tokens): the consent page, the code traded for a
grant, and the grant renewed. README.md in this folder has the API facts.

The token endpoint takes the app's client id and secret as HTTP Basic and a form body; it answers the access token
(an hour), a refresh token that may be used once (each refresh gives a new one) and ``api_domain``, the company's
own API address, which every call of the grant goes to. ``kit.oauth.OAuthTokens`` renews the grant one worker at a
time and stores the rotated refresh token before anything uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from koppel.connectors.contract import Authorized
from koppel.connectors.kit.oauth import Renewal
from koppel.connectors.pipedrive.fields import VENDOR, record_id
from koppel.connectors.pipedrive.settings import PipedriveSettings, base_url_ok
from koppel.errors import AuthError, InputError, KoppelError, PermanentError
from koppel.http import json_body, send, session_for

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests

OAUTH_URL = "https://oauth.pipedrive.com"
AUTHORIZE_PATH = "/oauth/authorize"
TOKEN_PATH = "/oauth/token"
RECONNECT = "reconnect Pipedrive for this connection (the owner grants Koppel access again)"


class PipedriveOAuth:
    """``OAuthFlow`` for Pipedrive. ``oauth_url`` (or the partner secret's ``oauth_url``) points a local stack at
    the sandbox; Koppel's app credentials are the partner secret's ``client_id`` and ``client_secret``."""

    def __init__(self, oauth_url: str = OAUTH_URL, session: Callable[[], requests.Session] = session_for) -> None:
        self.oauth_url = oauth_url.rstrip("/")
        self._session = session

    def authorize_url(self, *, state: str, redirect_uri: str, partner: Mapping[str, str]) -> str:
        query = {"client_id": _partner(partner, "client_id"), "redirect_uri": redirect_uri, "state": state}
        return f"{self._base(partner)}{AUTHORIZE_PATH}?{urlencode(query)}"

    def exchange(
        self, *, code: str, redirect_uri: str, query: Mapping[str, str], partner: Mapping[str, str]
    ) -> Authorized:
        """The code for a grant; then ``GET /v1/users/me`` on the grant's ``api_domain`` names the company."""
        session = self._session()
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        answer = token_call(session, self._base(partner), partner, form)
        api_domain = str(answer.get("api_domain") or "").rstrip("/")
        if not base_url_ok(api_domain):
            raise PermanentError(f"{VENDOR}'s token answer named no usable api_domain ({api_domain[:80]!r})")
        me = send(
            session, "GET", f"{api_domain}/v1/users/me", vendor=VENDOR,
            headers={"Authorization": f"Bearer {answer['access_token']}", "Accept": "application/json"},
        )  # fmt: skip
        user = json_body(me).get("data") if me.content else None
        company = record_id(user.get("company_id")) if isinstance(user, Mapping) else None
        if company is None:
            raise PermanentError(f"{VENDOR}'s GET /v1/users/me named no company_id for the new grant")
        return Authorized(
            access_token=str(answer["access_token"]),
            expires_in=int(answer.get("expires_in") or 3600),
            refresh_token=str(answer["refresh_token"]),
            account={"api_domain": api_domain, "company_id": str(company)},
            account_id=str(company),
        )

    def _base(self, partner: Mapping[str, str]) -> str:
        return (partner.get("oauth_url") or self.oauth_url).rstrip("/")


def renewer(
    session: requests.Session, settings: PipedriveSettings, partner: Callable[[], Mapping[str, str]]
) -> Callable[[str], Renewal]:
    """What ``OAuthTokens`` calls to renew a grant: one refresh, its answer as a Renewal."""

    def renew(refresh_token: str) -> Renewal:
        secrets = partner()
        base = (secrets.get("oauth_url") or settings.oauth_url).rstrip("/")
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        answer = token_call(session, base, secrets, form)
        return Renewal(
            access_token=str(answer["access_token"]),
            expires_in=int(answer.get("expires_in") or 3600),
            refresh_token=str(answer.get("refresh_token") or refresh_token),
        )

    return renew


def token_call(
    session: requests.Session, base: str, partner: Mapping[str, str], form: Mapping[str, str]
) -> Mapping[str, Any]:
    """One POST to the token endpoint; a refused grant (``invalid_grant``) is an AuthError that says reconnect."""
    auth = (_partner(partner, "client_id"), _partner(partner, "client_secret"))
    try:
        response = send(
            session, "POST", base + TOKEN_PATH, vendor=VENDOR, auth=auth, data=dict(form),
            headers={"Accept": "application/json"}, describe_error=_oauth_error,
        )  # fmt: skip
    except KoppelError as error:
        message = str(error)
        if "invalid_grant" in message:
            raise AuthError(f"{VENDOR} no longer accepts this connection's grant ({message}): {RECONNECT}") from error
        if "invalid_client" in message:
            raise AuthError(
                f"{VENDOR} refused Koppel's app credentials ({message}): check the client id and secret in Koppel's "
                f"Pipedrive partner secret, then {RECONNECT}"
            ) from error
        raise
    answer = json_body(response)
    if not isinstance(answer, Mapping) or not answer.get("access_token") or not answer.get("refresh_token"):
        raise PermanentError(f"{VENDOR}'s token endpoint answered without an access and a refresh token")
    return answer


def _oauth_error(response: requests.Response) -> str:
    try:
        data = json_body(response)
    except KoppelError:
        data = None
    if isinstance(data, Mapping) and data.get("error"):
        return f"{data['error']}: {data.get('message') or data.get('error_description') or 'no message'}"
    return response.text.strip()[:300] or response.reason or "no message"


def _partner(partner: Mapping[str, str], name: str) -> str:
    value = partner.get(name, "").strip()
    if not value:
        raise InputError(f"Koppel's Pipedrive partner secret has no {name}: set the app's {name} from Developer Hub")
    return value
