"""OAuth 2.0 consent (services/connect.py starts it, services/authorize.py receives it): only the owner's start link
opens the vendor's page, the state comes back once, and the grant is stored encrypted with where it opens."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest

from koppel.adapters.memory import MemoryConnectionStore, MemoryGrantStore
from koppel.connectors.contract import Authorized
from koppel.errors import AuthError, InputError, NotFoundError, SignatureError
from koppel.services.authorize import receive_authorization
from koppel.services.connect import ConnectDeps, begin_activation, issue_start_link
from tests.fakes import T0, a_connection

if TYPE_CHECKING:
    from collections.abc import Mapping

CALLBACK = "https://koppel.example/connect/fakecrm/callback"
DONE = "https://koppel.example/connect/fakecrm/done"


class FakeConsent:
    """The vendor's consent page and token endpoint: a code works once and opens one account."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}
        self.exchanged: list[tuple[str, str]] = []

    def authorize_url(self, *, state: str, redirect_uri: str, partner: Mapping[str, str]) -> str:
        return f"https://vendor.example/oauth/authorize?client_id={partner['client_id']}&state={state}"

    def exchange(
        self, *, code: str, redirect_uri: str, query: Mapping[str, str], partner: Mapping[str, str]
    ) -> Authorized:
        self.exchanged.append((code, redirect_uri))
        account = self.codes.pop(code, None)
        if account is None:
            raise AuthError("the vendor refused the code (invalid_grant)")
        return Authorized(
            access_token="access-1",
            expires_in=3600,
            refresh_token="refresh-1",
            account={"company": account},
            account_id=account,
        )


@pytest.fixture
def vendor() -> FakeConsent:
    return FakeConsent()


@pytest.fixture
def store() -> MemoryConnectionStore:
    return MemoryConnectionStore([a_connection(source="fakecrm", status="disconnected")])


@pytest.fixture
def deps(store, vendor) -> ConnectDeps:
    def no_activation(system: str):  # type: ignore[no-untyped-def]
        raise NotFoundError(f"{system} has no activation callback")

    return ConnectDeps(
        connections=store,
        grants=MemoryGrantStore(),
        target_with=lambda *_: None,
        activation_for=no_activation,
        oauth_for=lambda system: vendor,
        partner_secret=lambda system: {"client_id": "koppel-app"},
        clock=lambda: T0,
    )


def consent_page(store, deps, return_url: str = "") -> str:  # type: ignore[no-untyped-def]
    """The owner opens their start link: the vendor's consent page, with the state it will send back."""
    token = issue_start_link(store.get("demo-shop"), "fakecrm", deps, return_url=return_url)
    url = begin_activation("fakecrm", token, deps, done_url=DONE, callback_url=CALLBACK).vendor_url
    return parse_qs(urlsplit(url).query)["state"][0]


def test_the_owner_s_consent_connects_the_source_with_its_grant_stored(store, deps, vendor) -> None:
    # Given the owner opened their start link and consented on the vendor's page
    state = consent_page(store, deps, return_url="https://crm.example/settings")
    vendor.codes["code-1"] = "company-42"
    # When the vendor sends them back with a code
    returned = receive_authorization(
        "fakecrm", {"state": state, "code": "code-1"}, deps, callback_url=CALLBACK, done_url=DONE
    )
    # Then the code was traded at the same return address, the grant is stored with where it opens, the connection
    # is active, and the owner goes back to their own page
    assert vendor.exchanged == [("code-1", CALLBACK)]
    grant = store.get_token("demo-shop", "fakecrm")
    assert grant is not None and (grant.value, grant.refresh_token, grant.version) == ("access-1", "refresh-1", 1)
    assert grant.expires_at == T0 + timedelta(hours=1)
    assert store.get_secrets("demo-shop", "fakecrm") == {"company": "company-42"}
    # And a webhook or a click that names only the vendor account finds the connection
    assert store.connections_of_account("fakecrm", "company-42") == ["demo-shop"]
    assert returned.connection.status == "active"
    assert returned.return_url == "https://crm.example/settings"


def test_a_state_comes_back_once_and_a_forged_one_never(store, deps, vendor) -> None:
    state = consent_page(store, deps)
    vendor.codes["code-1"] = "company-42"
    receive_authorization("fakecrm", {"state": state, "code": "code-1"}, deps, callback_url=CALLBACK, done_url=DONE)
    # When the same return is replayed, or a state Koppel never issued arrives, then both are refused alike
    for forged in (state, "x" * 43, "", "../../etc"):
        with pytest.raises(SignatureError, match="new start link"):
            receive_authorization("fakecrm", {"state": forged, "code": "c"}, deps, callback_url=CALLBACK, done_url=DONE)
    # And the vendor was never asked to trade a code for them
    assert len(vendor.exchanged) == 1


def test_a_refused_consent_says_so_and_uses_the_state_up(store, deps, vendor) -> None:
    state = consent_page(store, deps)
    # When the owner pressed "deny" on the vendor's page
    with pytest.raises(InputError, match=r"not granted \(access_denied") as refused:
        query = {"state": state, "error": "access_denied"}
        receive_authorization("fakecrm", query, deps, callback_url=CALLBACK, done_url=DONE)
    assert refused.value.status == 403
    # Then nothing was stored, and the same state cannot be used for a code afterwards
    assert store.get_token("demo-shop", "fakecrm") is None
    with pytest.raises(SignatureError):
        receive_authorization("fakecrm", {"state": state, "code": "c"}, deps, callback_url=CALLBACK, done_url=DONE)


def test_a_code_the_vendor_refuses_stores_nothing(store, deps, vendor) -> None:
    state = consent_page(store, deps)
    # When the code has expired at the vendor, then the refusal stands and the connection is as it was
    with pytest.raises(AuthError, match="invalid_grant"):
        query = {"state": state, "code": "stale"}
        receive_authorization("fakecrm", query, deps, callback_url=CALLBACK, done_url=DONE)
    assert store.get_token("demo-shop", "fakecrm") is None
    assert store.get("demo-shop").status == "disconnected"


def test_a_vendor_connected_with_api_credentials_has_no_consent_page(store, deps) -> None:
    # Given a vendor without OAuth or activation
    def no_consent(system: str):  # type: ignore[no-untyped-def]
        raise NotFoundError(f"{system}: use koppel connections connect")

    deps.oauth_for = no_consent
    # Then the owner gets no start link for it
    with pytest.raises(NotFoundError, match="koppel connections connect"):
        issue_start_link(store.get("demo-shop"), "fakecrm", deps)


def test_a_target_s_consent_reads_its_chart_with_the_grant_just_stored(store, deps, vendor) -> None:
    # Given a connection whose target connects by OAuth, and a target that reads its tax codes with the stored grant
    store.put(a_connection(source="fakeshop", targets=("fakecrm",), status="disconnected"))
    seen: list[str] = []

    class Books:
        def after_connect(self) -> dict:
            grant = store.get_token("demo-shop", "fakecrm")
            seen.append(grant.value if grant else "no grant")
            return {"tax_codes": {"21": "9"}}

    deps.stored_target = lambda connection, system: Books()
    state = consent_page(store, deps)
    vendor.codes["code-1"] = "company-42"
    # When the owner comes back from the consent page
    returned = receive_authorization(
        "fakecrm", {"state": state, "code": "code-1"}, deps, callback_url=CALLBACK, done_url=DONE
    )
    # Then the chart was read with the new grant and is in the connection's settings before the first booking
    assert seen == ["access-1"]
    assert returned.connection.target_settings["fakecrm"]["tax_codes"] == {"21": "9"}
    assert store.get("demo-shop").target_settings["fakecrm"]["tax_codes"] == {"21": "9"}
