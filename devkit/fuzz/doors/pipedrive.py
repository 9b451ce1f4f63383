"""Pipedrive's doors: the owner's OAuth return, its webhooks and the app extension's signed requests.

- ``GET /connect/pipedrive/callback?code=…&state=…``: the OAuth return (devkit/fuzz/consent.py has the families);
- ``POST /hooks/pipedrive/{connection_id}``: v2 webhooks ``{meta, data, previous}`` with the HTTP Basic credentials
  Koppel set on the subscription (``koppel connections webhooks``);
- ``GET /apps/pipedrive/panel``, ``POST /apps/pipedrive/invoice``, ``POST /apps/pipedrive/invoices/{action}``: the
  deal panel, the "Create invoice" button and the invoice actions, their query signed with a JWT ``token`` (HS256,
  Koppel's app ``jwt_secret``).

Each tenant has its own Pipedrive company, consents for real (the connection is then linked to the company) and
subscribes its won-deal webhook. Genuine traffic: one deal per company won, its webhook delivered, the invoice
booked in QuickBooks. The fuzz holds the app's JWT secret, so it signs tokens the way Pipedrive does (fresh, valid
five minutes); a request signed for a tenant's own company is still bad input only where its query is: probes never
press the button on a deal that has no invoice yet, nor act on a booked one (void, delete, send and the PDF are the
owner's to do), and a genuine panel request shows only the company's own invoices.

The app doors make no one-refusal promise (``one_refusal=None``): no connection is named in their address, and
their 401s say which part of the request's own token is wrong (none, not HS256, signature, expired, ids that differ
from it), in a fixed order in which nothing past the signature is reachable without Koppel's secret; a company with
no connection (a 404) is only told to a request Pipedrive signed.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import requests
from hypothesis import strategies as st

from devkit.fuzz import consent as oauth
from devkit.fuzz import mutations as m
from devkit.fuzz.doors import Door
from devkit.fuzz.probe import Probe, path_of, query_of
from devkit.sandboxes.pipedrive.extensions import sign_hs256
from devkit.sandboxes.pipedrive.products import ProductLine
from devkit.sandboxes.pipedrive.sandbox import PipedriveSandbox
from koppel.connectors.pipedrive.fields import record_id

if TYPE_CHECKING:
    from collections.abc import Callable

    from hypothesis.strategies import DrawFn, SearchStrategy

    from devkit.fuzz.world import FuzzConnection, World
    from devkit.sandboxes.pipedrive.delivery import Delivery

CLIENT = ("fuzz-pipedrive-app", "fuzz-pipedrive-client-secret-0c4d1f")
JWT_SECRET = "fuzz-pipedrive-extension-jwt-secret-a83e"
MAX_BODY = 256 * 1024
HOOK_ROUTE = "POST /hooks/{source}/{connection_id}"
REPLAY = "replay of an accepted webhook: answered as already received"
IGNORED = "a credentialed body that books nothing is acknowledged (2xx), so Pipedrive does not ban the webhook"
ALREADY_BOOKED = "the button on a deal whose invoice is booked: answered 202 already booked, nothing queued"
PANEL = "a panel read signed for the company shows its own invoices only"
ACTIONS = ("void", "delete", "send", "pdf")
UNKNOWN_COMPANY = 990_000_001


@dataclass
class Company:
    """One tenant's Pipedrive side: its company and user, its webhook credentials and genuine traffic."""

    connection_id: str
    company_id: int
    user_id: int
    webhook_user: str = ""
    webhook_password: str = ""
    booked_deal: int = 0
    """Won, its webhook accepted and its invoice booked."""
    open_deal: int = 0
    """Never won, never pressed: the button on it would be genuine, so no probe presses it."""
    genuine: list[Delivery] | None = None
    invoice_numbers: tuple[str, ...] = ()

    @property
    def hook(self) -> str:
        return path_of("hooks", "pipedrive", self.connection_id)

    def basic(self, user: str | None = None, password: str | None = None) -> str:
        pair = (
            f"{self.webhook_user if user is None else user}:{self.webhook_password if password is None else password}"
        )
        return "Basic " + base64.b64encode(pair.encode()).decode()

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        return {"userId": self.user_id, "companyId": self.company_id, "iat": now, "exp": now + 300} | changes

    def token(self, secret: str = JWT_SECRET, **changes: Any) -> str:
        return sign_hs256(self.claims(**changes), secret)

    def query(self, selected: str, token: str | None = None, **changes: str) -> list[tuple[str, str]]:
        """The query Pipedrive sends (resource, view, ids, token), with ``changes`` (a value None: left out)."""
        params = {
            "resource": "deal",
            "view": "details",
            "userId": str(self.user_id),
            "companyId": str(self.company_id),
            "selectedIds": selected,
            "isShared": "false",
            "token": self.token() if token is None else token,
        } | changes
        return [(k, v) for k, v in params.items() if v is not None]


class Pipedrive:
    name = "pipedrive"
    role: Literal["source", "target"] = "source"
    pairs_with = "quickbooks"

    def __init__(self) -> None:
        self.sandbox = PipedriveSandbox()
        self.world: World | None = None
        self.consents: dict[str, oauth.Consent] = {}
        self.companies: dict[str, Company] = {}

    def start(self, world: World) -> None:
        self.world = world
        base = self.sandbox.start()
        self.sandbox.add_oauth_client(
            *CLIENT, f"{world.stack.http_url}/connect/pipedrive/callback", jwt_secret=JWT_SECRET
        )
        oauth.partner_secret(
            world,
            self.name,
            {"client_id": CLIENT[0], "client_secret": CLIENT[1], "jwt_secret": JWT_SECRET, "oauth_url": base},
        )

    def stop(self) -> None:
        self.sandbox.stop()

    def connection_options(self, connection: FuzzConnection) -> list[str]:
        base = self.sandbox.base_url
        return oauth.settings(
            self.name, {"api_url": base, "oauth_url": base, "won_deals_create_invoices": "true", "due_days": "14"}
        )

    def connected(self, world: World, connection: FuzzConnection) -> None:
        """The owner consents as the company's user; the connection is linked to the company; the won-deal webhook
        is subscribed with fresh Basic credentials."""
        company = self.sandbox.add_company(f"Fuzz {connection.tenant} B.V.", domain=f"fuzz{connection.tenant.lower()}")
        user = next(iter(company.users.values()))
        self.sandbox.consent_as(user)
        self.consents[connection.tenant] = held = oauth.consent(world, connection, self.name)
        _link_company(connection.connection_id, str(company.id))
        world.cli("connections", "webhooks", connection.connection_id, "--webhook-base", world.stack.http_url)
        hook = next(
            h
            for h in self.sandbox.webhooks.values()
            if h.get("subscription_url", "").endswith(connection.connection_id)
        )
        own = Company(connection.connection_id, company.id, user.id, hook["http_auth_user"], hook["http_auth_password"])
        self.companies[connection.tenant] = own
        connection.held[self.name] = held

    def genuine_traffic(self, world: World) -> None:
        """One deal per company won: its webhook is delivered once (accepted, booked at the end of the build)."""
        for tenant, own in self.companies.items():
            org = self.sandbox.add_organization(f"Klant {tenant} B.V.", company=own.company_id)
            lines = [ProductLine("Warmtepomp", "6495.00", 1, tax=21), ProductLine("Handboek", "42.50", 2, tax=9)]
            deal = self.sandbox.add_deal(f"Fuzz {tenant}", lines, org_id=org["id"], company=own.company_id)
            opened = self.sandbox.add_deal(f"Fuzz {tenant} open", lines[:1], org_id=org["id"], company=own.company_id)
            own.booked_deal, own.open_deal = int(deal["id"]), int(opened["id"])
            self.sandbox.set_deal_status(own.booked_deal, "won")
            own.genuine = [delivery for delivery, _ in self.sandbox.deliver_webhooks(post=_post)]
            if not own.genuine:
                raise RuntimeError(f"the won deal of tenant {tenant} sent no webhook")

    def secrets(self) -> set[str]:
        held = {CLIENT[1], JWT_SECRET}
        for own in self.companies.values():
            held |= {own.webhook_password, own.basic().split(" ", 1)[1]}
        return held.union(*(c.secrets() for c in self.consents.values()))

    def requests_served(self) -> int:
        return self.sandbox.requests_seen

    def doors(self, world: World) -> list[Door]:
        a, b = self.companies["A"], self.companies["B"]
        for own in (a, b):
            own.invoice_numbers = _booked_invoices(world, own)
        ca, cb = self.consents["A"], self.consents["B"]
        others = {c.tenant: c.held.get("quickbooks") for c in world.of(self.name)}
        returns_a, returns_b = (
            oauth.bad_returns(ca, cb, others["A"] or cb),
            oauth.bad_returns(cb, ca, others["B"] or ca),
        )
        return [
            Door(
                "pipedrive consent return",
                "GET /connect/{target}/callback",
                {family: returns_a[family] | returns_b[family] for family in returns_a},
            ),
            Door("pipedrive webhook", HOOK_ROUTE, _both(bad_webhooks, a, b)),
            Door("pipedrive panel", "GET /apps/{source}/panel", _both(bad_panels, a, b), one_refusal=None),
            Door("pipedrive button", "POST /apps/{source}/invoice", _both(bad_buttons, a, b), one_refusal=None),
            Door(
                "pipedrive actions", "POST /apps/{source}/invoices/{action}", _both(bad_actions, a, b), one_refusal=None
            ),
        ]


def vendor() -> Pipedrive:
    return Pipedrive()


def _post(delivery: Delivery) -> int:
    answer = requests.post(delivery.url, data=delivery.body, headers=delivery.headers, timeout=oauth.TIMEOUT)
    if answer.status_code != 202:
        raise RuntimeError(f"a genuine Pipedrive webhook was refused: {answer.status_code} {answer.text[:300]}")
    return answer.status_code


def _link_company(connection_id: str, company_id: str) -> None:
    """Link the connection to its Pipedrive company as services/authorize.py would if the consent named it: the
    consent stores the company but links nothing (PipedriveOAuth.exchange returns no ``account_id``), and without the
    link no app-extension request finds its connection. A no-op once the product links it."""
    from koppel import bootstrap
    from koppel.settings import StoreSettings

    store = bootstrap.connection_store(StoreSettings.load())
    if connection_id not in store.connections_of_account("pipedrive", company_id):
        store.link_account("pipedrive", company_id, connection_id)


def _booked_invoices(world: World, own: Company) -> tuple[str, ...]:
    """The invoice numbers the genuine panel shows for the booked deal; the build must have booked it."""
    query = query_of(*own.query(str(own.booked_deal)))
    answer = requests.get(f"{world.stack.http_url}/apps/pipedrive/panel?{query}", timeout=oauth.TIMEOUT)
    shown = answer.json().get("data", []) if answer.status_code == 200 else []
    numbers = tuple(str(item["header"]) for item in shown if item.get("status", {}).get("label") != "Needs attention")
    if not numbers:
        raise RuntimeError(
            f"the genuine won deal of {own.connection_id} was not booked: {answer.status_code} {answer.text[:300]}"
        )
    return numbers


def _both(family: Any, a: Company, b: Company) -> dict[str, SearchStrategy[Probe]]:
    fa, fb = family(a, b), family(b, a)
    return {name: fa[name] | fb[name] for name in fa}


# -- webhook ------------------------------------------------------------------------------------------------------
def webhook(
    path: str,
    body: bytes,
    authorization: str | None,
    category: str,
    what: str,
    *,
    expect: tuple[int, ...] = (),
    may_succeed: str = "",
) -> Probe:
    headers: list[tuple[str, str | bytes]] = [("Content-Type", "application/json")]
    if authorization is not None:
        headers.append(("Authorization", authorization))
    return Probe(category, what, "POST", path, body, tuple(headers), may_succeed, frozenset(expect))


def _genuine(own: Company) -> dict[str, Any]:
    assert own.genuine
    return dict(json.loads(own.genuine[0].body))


def _v1(own: Company) -> bytes:
    """A v1 body (an old subscription's): acknowledged, never refused, books nothing."""
    deal = {"id": own.booked_deal, "status": "won"}
    return json.dumps(
        {
            "v": 1,
            "matches_filters": {"current": []},
            "meta": {
                "v": 1,
                "action": "updated",
                "object": "deal",
                "id": own.booked_deal,
                "company_id": own.company_id,
            },
            "current": deal,
            "previous": {**deal, "status": "open"},
            "event": "updated.deal",
        }
    ).encode()


def bad_webhooks(own: Company, other: Company) -> dict[str, SearchStrategy[Probe]]:
    genuine = own.genuine[0].body if own.genuine else b"{}"
    shape = _genuine(own)
    return {
        "replay": st.sampled_from(["Authorization", "authorization", "AUTHORIZATION"]).map(
            lambda name: replace(
                webhook(
                    own.hook, genuine, None, "replay", f"genuine, again ({name})", may_succeed=REPLAY, expect=(200, 202)
                ),
                headers=(("Content-Type", "application/json"), (name, own.basic())),
            )
        ),
        "wrong credentials": wrong_credentials(own, other),
        "cross-tenant": cross_tenant_hooks(own, other),
        "unknown connection": m.unknown_ids([own.connection_id]).map(
            lambda d: webhook(
                path_of("hooks", "pipedrive", d[1]), genuine, own.basic(), "unknown connection", d[0], expect=(401, 404)
            )
        ),
        "malformed": st.tuples(m.broken_json(genuine), st.booleans()).map(
            lambda d: webhook(
                own.hook,
                d[0][1],
                own.basic() if d[1] else None,
                "malformed",
                d[0][0] + ("" if d[1] else ", no credentials"),
                expect=(400,) if d[1] else (401,),
            )
        ),
        "v1 body": st.booleans().map(
            lambda ok: webhook(
                own.hook,
                _v1(own),
                own.basic() if ok else own.basic(password="x"),
                "v1 body",
                "a v1 body" + ("" if ok else ", wrong password"),
                may_succeed=IGNORED if ok else "",
                expect=(200, 202) if ok else (401,),
            )
        ),
        "wrong ids": wrong_ids(own, other, shape),
        "deep nesting": st.one_of(m.deep_json(), m.deep_json(wrap={"meta": 0})).map(
            lambda d: webhook(own.hook, d[1], own.basic(), "deep nesting", d[0], expect=(400, 413))
        ),
        "oversized": st.tuples(m.oversized(MAX_BODY, shape), st.booleans()).map(
            lambda d: webhook(own.hook, d[0][1], own.basic() if d[1] else None, "oversized", d[0][0], expect=(413,))
        ),
        "method/case": m.other_methods("POST").map(
            lambda d: replace(
                webhook(own.hook, genuine, own.basic(), "method/case", d[0], expect=(404, 405)), method=d[1]
            )
        ),
    }


@st.composite
def wrong_credentials(draw: DrawFn, own: Company, other: Company) -> Probe:
    body = own.genuine[0].body if own.genuine else b"{}"
    user, password = own.webhook_user, own.webhook_password
    what, value = draw(
        st.one_of(
            st.just(("no Authorization", None)),
            st.sampled_from(["", "Basic", "Basic ", "Bearer " + password, "Digest x", "basic"]).map(
                lambda v: (f"Authorization {v[:12]!r}", v)
            ),
            st.just(("the other tenant's credentials", other.basic())),
            st.just(("our user, their password", own.basic(password=other.webhook_password))),
            st.just(("their user, our password", own.basic(user=other.webhook_user))),
            st.just(("no colon", "Basic " + base64.b64encode(f"{user}{password}".encode()).decode())),
            st.just(("password only", own.basic(user=""))),
            st.just(("user only", own.basic(password=""))),
            st.just(("user and password swapped", own.basic(user=password, password=user))),
            st.integers(0, len(password) - 1).map(
                lambda i: (
                    "password, one character changed",
                    own.basic(password=password[:i] + ("A" if password[i] != "A" else "B") + password[i + 1 :]),
                )
            ),
            st.just(("password with a character more", own.basic(password=password + "x"))),
            st.just(("password cut by one", own.basic(password=password[:-1]))),
            st.just(("password in capitals", own.basic(password=password.upper()))),
            st.just(("not base64", f"Basic {user}:{password}")),
            st.just(("base64 of non-UTF-8", "Basic " + base64.b64encode(b"\xff\xfe:" + password.encode()).decode())),
            st.just(("urlsafe base64 with no padding", "Basic " + own.basic().split(" ")[1].rstrip("="))),
            m.tricky_text().map(lambda t: (f"password {t[:12]!r}", own.basic(password=t))),
            m.long_text().map(lambda d: (f"Authorization of {d[0]}", "Basic " + d[1])),
            st.sampled_from(["é", "ÿ==", "\u00a0" + "QQ==", "a2/DqQ=="]).map(
                lambda v: (f"Basic, then {v!r}", "Basic " + v)
            ),
        ).filter(lambda d: d[1] is None or ("\r" not in d[1] and "\n" not in d[1]))
    )
    return webhook(own.hook, body, value, "wrong credentials", what, expect=(401,))


@st.composite
def cross_tenant_hooks(draw: DrawFn, own: Company, other: Company) -> Probe:
    theirs = other.genuine[0].body if other.genuine else b"{}"
    what, path, body, auth, expect = draw(
        st.sampled_from(
            [
                ("their genuine webhook at our address", own.hook, theirs, other.basic(), (401,)),
                ("their won deal with our credentials", own.hook, theirs, own.basic(), (400, 404, 422)),
                (
                    "our won deal, at their address with our credentials",
                    other.hook,
                    own.genuine[0].body if own.genuine else b"{}",
                    own.basic(),
                    (401,),
                ),
            ]
        )
    )
    return webhook(path, body, auth, "cross-tenant", what, expect=expect)


@st.composite
def wrong_ids(draw: DrawFn, own: Company, other: Company, shape: dict[str, Any]) -> Probe:
    """Credentialed v2 bodies about no deal of this company: ids of the wrong type, non-ASCII digits, the other
    company's deal, a deal no one has; a won one reads Pipedrive and is refused, anything else books nothing."""
    what, value = draw(
        st.one_of(
            m.wrong_types(),
            m.non_ascii_digits().map(lambda d: (f"non-ASCII digits {d!r}", d)),
            st.just((f"the other company's deal {other.booked_deal}", other.booked_deal)),
            st.integers(10**6, 10**12).map(lambda n: (f"unknown deal {n}", n)),
        ).filter(lambda d: record_id(d[1]) not in (own.booked_deal, own.open_deal))
    )
    meta = {**shape["meta"], "entity_id": str(value) if isinstance(value, int) else value}
    data = {**shape["data"], "id": value}
    body = json.dumps({**shape, "meta": meta, "data": data}, ensure_ascii=draw(st.booleans())).encode()
    if draw(st.integers(0, 4)) == 0:
        what, body = draw(m.lone_surrogate_in({**shape, "meta": meta}, "data"))
        return webhook(own.hook, body, own.basic(), "wrong ids", what, may_succeed=IGNORED)  # data is not read
    return webhook(own.hook, body, own.basic(), "wrong ids", f"data.id {what}", may_succeed=IGNORED)


# -- app extensions -----------------------------------------------------------------------------------------------
def app_request(
    source: str,
    what: str,
    query: list[tuple[str, str]],
    category: str,
    description: str,
    *,
    method: str = "POST",
    expect: tuple[int, ...] = (),
    may_succeed: str = "",
    not_shown: tuple[str, ...] = (),
) -> Probe:
    path = path_of("apps", source, *what.split("/"), query=query_of(*query))
    return Probe(
        category, description, method, path, may_succeed=may_succeed, expect=frozenset(expect), not_shown=not_shown
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged_tokens(own: Company, other: Company) -> SearchStrategy[tuple[str, str, str]]:
    """(family, what, token): tokens Pipedrive did not sign for this company now."""
    genuine = own.token()
    header, body, signature = genuine.split(".")

    def unsigned(alg: Any, sig: str = "") -> str:
        head = _b64(json.dumps({"alg": alg, "typ": "JWT"} if alg is not None else {"typ": "JWT"}).encode())
        return f"{head}.{body}.{sig}"

    swapped = _b64(json.dumps(own.claims(companyId=other.company_id)).encode())
    now = int(time.time())
    return st.one_of(
        st.sampled_from(
            [
                ("no token", "empty", ""),
                ("no token", "one part", body),
                ("no token", "two parts", f"{header}.{body}"),
                ("no token", "four parts", genuine + ".x"),
                ("no token", "dots only", ".."),
            ]
        ),
        st.sampled_from(
            [
                (
                    "tampered token",
                    "claims changed to the other company, signature kept",
                    f"{header}.{swapped}.{signature}",
                ),
                ("tampered token", "signature dropped", f"{header}.{body}."),
                ("tampered token", "signature of another token", f"{header}.{body}.{other.token().split('.')[2]}"),
                ("tampered token", "header not JSON", f"{_b64(b'{alg')}.{body}.{signature}"),
                ("tampered token", "claims not an object", f"{header}.{_b64(b'[1]')}.{signature}"),
            ]
        ),
        st.integers(0, len(signature) - 2).map(  # not the last: its two low bits carry no signature bits
            lambda i: (
                "tampered token",
                "one signature character changed",
                f"{header}.{body}.{signature[:i]}{'A' if signature[i] != 'A' else 'B'}{signature[i + 1 :]}",
            )
        ),
        st.sampled_from(
            [
                ("expired", "expired a second ago", own.token(exp=now - 1)),
                ("expired", "expired a day ago", own.token(iat=now - 86_400, exp=now - 86_100)),
                ("expired", "not valid for an hour", own.token(nbf=now + 3600)),
                ("expired", "exp as text", own.token(exp=str(now + 300))),
                ("expired", "exp true", own.token(exp=True)),
            ]
        ),
        st.sampled_from(
            [
                ("other secret", "signed with the client secret", own.token(CLIENT[1])),
                (
                    "other secret",
                    "signed with QuickBooks' client secret",
                    own.token("fuzz-quickbooks-client-secret-5b1e0c"),
                ),
                ("other secret", "signed with an empty secret", own.token("")),
                ("other secret", "signed with the secret in capitals", own.token(JWT_SECRET.upper())),
            ]
        ),
        st.sampled_from(
            [
                ("algorithm", "alg none, no signature", unsigned("none")),
                ("algorithm", "alg None, no signature", unsigned("None")),
                ("algorithm", "alg none with the genuine signature", unsigned("none", signature)),
                ("algorithm", "alg RS256 with the genuine signature", unsigned("RS256", signature)),
                ("algorithm", "alg HS512", unsigned("HS512", signature)),
                ("algorithm", "alg hs256", unsigned("hs256", signature)),
                ("algorithm", "no alg", unsigned(None, signature)),
                ("algorithm", "alg as a list", unsigned(["HS256"], signature)),
            ]
        ),
    )


def _token_families(
    source: str, what: str, method: str, own: Company, other: Company, selected: str
) -> dict[str, SearchStrategy[Probe]]:
    """The families every app door shares: forged tokens, query ids that differ from the token's, another company,
    an unknown company, resource, non-ASCII, oversized, another source, another method."""
    forged = forged_tokens(own, other)

    def probe(
        family: str,
        description: str,
        query: list[tuple[str, str]],
        expect: tuple[int, ...] = (401,),
        where: str = what,
        src: str = source,
        verb: str = method,
    ) -> Probe:
        return app_request(src, where, query, family, description, method=verb, expect=expect)

    families = {
        name: forged.filter(lambda d, name=name: d[0] == name).map(
            lambda d: probe(d[0], d[1], own.query(selected, token=d[2]))
        )
        for name in ("no token", "tampered token", "expired", "other secret", "algorithm")
    }
    families["no token"] = families["no token"] | st.sampled_from(["no query at all", "no token parameter"]).map(
        lambda d: probe(
            "no token", d, [] if d == "no query at all" else [p for p in own.query(selected) if p[0] != "token"]
        )
    )
    cross: list[tuple[str, Callable[[], list[tuple[str, str]]]]] = [  # made when drawn: tokens live five minutes
        ("our token, their companyId", lambda: own.query(selected, companyId=str(other.company_id))),
        ("our token, their userId", lambda: own.query(selected, userId=str(other.user_id))),
        (
            "our token, companyId twice: theirs, then ours",
            lambda: [("companyId", str(other.company_id)), *own.query(selected)],
        ),
        ("their token, our companyId", lambda: own.query(selected, token=other.token())),
        (
            "our companyId, theirs with a leading zero in the token",
            lambda: own.query(selected, token=own.token(companyId=f"0{other.company_id}")),
        ),
    ]
    families["cross-company"] = st.sampled_from(cross).map(lambda d: probe("cross-company", d[0], d[1]()))
    families["unknown company"] = st.sampled_from(
        [
            ("a signed token of a company with no connection", UNKNOWN_COMPANY),
            ("a signed token of company 1", 1),
        ]
    ).map(
        lambda d: probe(
            "unknown company",
            d[0],
            own.query(selected, companyId=str(d[1]), token=own.token(companyId=d[1])),
            expect=(404,),
        )
    )
    families["resource"] = st.one_of(
        st.sampled_from(["person", "organization", "product", "Deal", "deals"]),
        m.tricky_text().filter(lambda t: t.strip() not in ("", "deal")),
    ).map(lambda r: probe("resource", f"resource {r[:20]!r}", own.query(selected, resource=r), expect=(400,)))
    families["non-ASCII"] = st.one_of(
        m.non_ascii_digits().map(lambda d: (f"companyId {d!r}", own.query(selected, companyId=d))),
        m.non_ascii_digits().map(lambda d: (f"selectedIds {d!r}", own.query(d))),
        m.tricky_text().map(lambda t: (f"token {t[:20]!r}", own.query(selected, token=t))),
        m.non_ascii_digits().map(
            lambda d: (
                f"companyId {d!r} in the signed token",
                own.query(selected, companyId=None, token=own.token(companyId=d)),
            )
        ),
    ).map(lambda d: probe("non-ASCII", d[0], d[1]))
    families["oversized"] = st.one_of(
        m.sized(MAX_TOKEN_CHARS + 1, 7000).map(
            lambda n: (f"token of {n} characters", own.query(selected, token=(own.token() + "x" * n)[:n]))
        ),
        m.long_text().map(
            lambda d: (f"view of {d[0]} with a forged token", own.query(selected, view=d[1], token=d[1]))
        ),
        st.integers(200, 900).map(
            lambda n: (
                f"selectedIds of {n} ids with a forged token",
                own.query(",".join(str(10**6 + i) for i in range(n)), token="x.y.z"),
            )
        ),
    ).map(lambda d: probe("oversized", d[0], d[1], expect=(401, 414, 431)))
    families["wrong source"] = st.one_of(
        st.sampled_from(["ccvshop", "quickbooks", "PIPEDRIVE", "pipedrive "]), m.tricky_text()
    ).map(lambda s: probe("wrong source", f"source {s!r}", own.query(selected), expect=(400, 404), src=s))
    families["method/case"] = m.other_methods(method).map(
        lambda d: probe("method/case", d[0], own.query(selected), expect=(404, 405), verb=d[1])
    )
    return families


MAX_TOKEN_CHARS = 4096


def bad_panels(own: Company, other: Company) -> dict[str, SearchStrategy[Probe]]:
    booked = str(own.booked_deal)
    families = _token_families("pipedrive", "panel", "GET", own, other, booked)
    theirs = (
        str(other.booked_deal),
        f"{own.booked_deal},{other.booked_deal}",
        f"{other.booked_deal},{other.booked_deal}",
    )
    for family, choices in (("genuine", (booked, str(own.open_deal), "")), ("their deals", theirs)):
        families[family] = st.sampled_from(choices).map(
            lambda ids, family=family: app_request(
                "pipedrive",
                "panel",
                own.query(ids),
                family,
                f"our token, selectedIds {ids!r}",
                method="GET",
                may_succeed=PANEL,
                expect=(200,),
                not_shown=other.invoice_numbers,
            )
        )
    families["bad ids"] = bad_selected(own, "panel", "GET")
    return families


def bad_buttons(own: Company, other: Company) -> dict[str, SearchStrategy[Probe]]:
    booked = str(own.booked_deal)
    families = _token_families("pipedrive", "invoice", "POST", own, other, booked)
    families["replay"] = st.just(booked).map(  # the token made when drawn: it lives five minutes
        lambda ids: app_request(
            "pipedrive",
            "invoice",
            own.query(ids),
            "replay",
            "the button on the booked deal, again",
            may_succeed=ALREADY_BOOKED,
            expect=(202,),
        )
    )
    families["their deals"] = st.sampled_from([str(other.booked_deal), str(other.open_deal)]).map(
        lambda ids: app_request(
            "pipedrive", "invoice", own.query(ids), "their deals", f"our token, their deal {ids}", expect=(404, 422)
        )
    )
    families["bad ids"] = bad_selected(own, "invoice", "POST")
    return families


def bad_actions(own: Company, other: Company) -> dict[str, SearchStrategy[Probe]]:
    """Actions on the open deal (nothing booked): a forged token Koppel took would show as a 404 where a 401 is due,
    and never void, delete, send or download the booked invoice."""
    booked, opened = str(own.booked_deal), str(own.open_deal)
    families = {
        name: strategy.flatmap(
            lambda p: st.sampled_from(ACTIONS).map(
                lambda a, p=p: replace(p, path=p.path.replace("/invoices/void", f"/invoices/{a}", 1))
            )
        )
        for name, strategy in _token_families("pipedrive", "invoices/void", "POST", own, other, opened).items()
    }
    families["unknown action"] = st.one_of(
        st.sampled_from(["VOID", "Void", "refund", "cancel", "pdf ", "void,delete", "..", "%2e%2e"]),
        m.tricky_text(),
    ).map(
        lambda a: app_request(
            "pipedrive",
            f"invoices/{a}" if a not in ("..", "%2e%2e") else "invoices",
            own.query(booked),
            "unknown action",
            f"action {a!r} on the booked deal",
            expect=(400, 404, 405),
        )
    )
    families["their deals"] = st.tuples(
        st.sampled_from(ACTIONS), st.sampled_from([str(other.booked_deal), str(own.open_deal), "", str(10**9)])
    ).map(
        lambda d: app_request(
            "pipedrive",
            f"invoices/{d[0]}",
            own.query(d[1]),
            "their deals",
            f"{d[0]} on deal {d[1]!r} (not our booked one)",
            expect=(400, 404),
        )
    )
    return families


def _names_ids(text: str) -> bool:
    """Whether ``text`` is a list of ids after all (then a probe would press a real button)."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    return bool(parts) and all(part.isascii() and part.isdigit() for part in parts)


@st.composite
def bad_selected(draw: DrawFn, own: Company, what: str, method: str) -> Probe:
    """selectedIds that are no list of ids: the token is genuine, the ids are not."""
    ids = draw(
        st.one_of(
            st.sampled_from(["abc", "-1", "1.5", "0x1f", " ", ",", "1;2", "[1]", "1e3", str(10**20), "%00", "1,x"]),
            st.tuples(
                st.sampled_from(["", " ", "+"]), st.just(str(own.booked_deal)), st.sampled_from(["x", ".0", "é"])
            ).map("".join),
            m.tricky_text(),
        ).filter(lambda ids: not _names_ids(ids))
    )
    if any(part.strip() for part in ids.split(",")):
        expect: tuple[int, ...] = (401,)  # not a list of ids
    else:
        expect = (200,) if what == "panel" else (400,)  # no id at all: an empty panel, nothing to invoice
    return app_request(
        "pipedrive",
        what,
        own.query(ids),
        "bad ids",
        f"selectedIds {ids[:20]!r}",
        method=method,
        expect=expect,
        may_succeed=PANEL if what == "panel" else "",
    )
