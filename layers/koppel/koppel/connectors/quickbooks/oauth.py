"""Intuit's OAuth 2.0 consent for a QuickBooks Online company: the consent page and the trade of its code.

Written with requests rather than Intuit's ``intuit-oauth``: that client takes its endpoints from Intuit's discovery
documents for "sandbox" or "production" and cannot be pointed at a loopback sandbox, and the part that is hard (one
worker renewing a rotating refresh token, the new one stored before it is used) is Koppel's own either way
(``kit/oauth.py``). The endpoints default to Intuit's; Koppel's partner secret may name others (``authorize_url``,
``token_url``) for a sandbox, next to the app's ``client_id`` and ``client_secret``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from koppel.connectors.contract import Authorized
from koppel.connectors.quickbooks.client import token_request
from koppel.connectors.quickbooks.settings import VENDOR, QuickbooksSettings
from koppel.errors import InputError
from koppel.http import session_for
from koppel.inbound import ascii_digits

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import requests

SCOPE = "com.intuit.quickbooks.accounting"
_DEFAULTS = QuickbooksSettings()


class QuickbooksOAuth:
    """The ``OAuthFlow`` of QuickBooks Online: the grant opens one company, whose realm id comes back beside it."""

    def __init__(self, session: Callable[[], requests.Session] = session_for) -> None:
        self._session = session

    def authorize_url(self, *, state: str, redirect_uri: str, partner: Mapping[str, str]) -> str:
        client_id = partner.get("client_id", "")
        if not client_id:
            raise InputError(f"Koppel's {VENDOR} partner secret has no client_id: add the app's keys to it")
        query = {
            "client_id": client_id,
            "response_type": "code",
            "scope": SCOPE,
            "redirect_uri": redirect_uri,
            "state": state,
        }
        return f"{partner.get('authorize_url') or _DEFAULTS.authorize_url}?{urlencode(query)}"

    def exchange(
        self, *, code: str, redirect_uri: str, query: Mapping[str, str], partner: Mapping[str, str]
    ) -> Authorized:
        """The code traded at the token endpoint; ``realmId`` on the return address names the company."""
        realm = ascii_digits(query.get("realmId", ""), f"the {VENDOR} return's realmId")
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        token_url = partner.get("token_url") or _DEFAULTS.token_url
        grant = token_request(self._session(), token_url, partner, form)
        return Authorized(
            access_token=grant.access_token,
            expires_in=grant.expires_in,
            refresh_token=grant.refresh_token,
            refresh_expires_in=grant.refresh_expires_in,
            account={"realm_id": realm},
            account_id=realm,
        )
