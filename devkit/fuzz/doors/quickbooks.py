"""QuickBooks Online's doors: the owner's return from Intuit's consent page, and Intuit's own webhooks.

- ``GET /connect/quickbooks/callback?code=…&state=…&realmId=…``: the OAuth return (devkit/fuzz/consent.py has the
  families; each tenant consents for real against the sandbox, to its own company);
- ``POST /notices/quickbooks``: Intuit's change notices for every account, ``intuit-signature`` =
  base64(HMAC-SHA256(Koppel's verifier token, raw body)). A genuine notice about a connected company queues a
  read-back, so signed probes name only companies nobody connected (answered 200, nothing queued) or are bad bodies,
  except the replay family: the genuine notice the build sent once, sent again (answered 200 as already received,
  nothing queued: Koppel remembers each accepted notice's digest for the replay window).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

import requests
from hypothesis import strategies as st

from devkit.fuzz import consent as oauth
from devkit.fuzz import mutations as m
from devkit.fuzz.doors import Door
from devkit.fuzz.probe import Probe, path_of
from devkit.sandboxes.quickbooks.sandbox import QuickbooksSandbox
from devkit.sandboxes.quickbooks.seed import DUTCH_VAT_CODES

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn, SearchStrategy

    from devkit.fuzz.world import FuzzConnection, World

CLIENT = ("fuzz-quickbooks-app", "fuzz-quickbooks-client-secret-5b1e0c")
VERIFIER = "fuzz-intuit-verifier-token-93d2a7"
REALMS = {"A": "9130000000007001", "B": "9130000000007002"}
MAX_BODY = 256 * 1024
EMPTY = "a signed, empty list of CloudEvents names no company: nothing to read back (200, 0)"
NOTICES = path_of("notices", "quickbooks")
UNKNOWN_REALM = "may_succeed: a signed notice about a company no connection reaches reads nothing back (200, 0)"
REPLAY = "a replay of the accepted genuine notice: answered 200 as already received, nothing read back again"


def sign(body: bytes, key: str = VERIFIER, digest: object = hashlib.sha256) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, digest).digest()).decode()  # type: ignore[arg-type]


def classic(realm: str, invoice: str = "130") -> bytes:
    """A classic eventNotifications body as Intuit sends it."""
    entity = {"name": "Invoice", "id": invoice, "operation": "Update", "lastUpdated": "2026-12-03T10:00:00.000Z"}
    return json.dumps({"eventNotifications": [{"realmId": realm, "dataChangeEvent": {"entities": [entity]}}]}).encode()


def cloud_events(realm: str) -> bytes:
    event = {
        "specversion": "1.0",
        "id": "b1",
        "source": "intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=",
        "type": "qbo.invoice.updated.v1",
        "datacontenttype": "application/json",
        "time": "2026-12-03T10:00:00Z",
        "intuitentityid": "130",
        "intuitaccountid": realm,
        "data": {},
    }
    return json.dumps([event]).encode()


class Quickbooks:
    name = "quickbooks"
    role: Literal["source", "target"] = "target"

    def __init__(self) -> None:
        self.sandbox = QuickbooksSandbox()
        self.consents: dict[str, oauth.Consent] = {}
        """Tenant → its consent."""
        self.genuine_notice = b""
        """The signed notice about tenant A's company that the build sent once (its read-back was queued)."""

    def start(self, world: World) -> None:
        base = self.sandbox.start()
        self.sandbox.add_client(*CLIENT, (f"{world.stack.http_url}/connect/quickbooks/callback",))
        for tenant, realm in REALMS.items():
            self.sandbox.add_company(
                f"Fuzz {tenant} B.V.", realm=realm, country="NL", currency="EUR", vat_codes=DUTCH_VAT_CODES
            )
        oauth.partner_secret(
            world,
            self.name,
            {
                "client_id": CLIENT[0],
                "client_secret": CLIENT[1],
                "authorize_url": f"{base}/connect/oauth2",
                "token_url": f"{base}/oauth2/v1/tokens/bearer",
                "webhook_verifier_token": VERIFIER,
            },
        )

    def stop(self) -> None:
        self.sandbox.stop()

    def connection_options(self, connection: FuzzConnection) -> list[str]:
        base = self.sandbox.base_url
        values = {
            "base_url": base,
            "token_url": f"{base}/oauth2/v1/tokens/bearer",
            "authorize_url": f"{base}/connect/oauth2",
            "app_url": base,
            "tax_codes": json.dumps(TAX_CODES),
            "item_id": "1",
        }  # the seeded company's "Services"
        return oauth.settings(self.name, values)

    def connected(self, world: World, connection: FuzzConnection) -> None:
        """The owner consents on Intuit's page, to the tenant's own company."""
        held = oauth.consent(world, connection, self.name, page_query={"realmId": REALMS[connection.tenant]})
        connection.held[self.name] = held
        self.consents[connection.tenant] = held

    def genuine_traffic(self, world: World) -> None:
        """The consents are the genuine returns; and one genuine notice about tenant A's company, read back once."""
        body = classic(REALMS["A"])
        answer = requests.post(
            f"{world.stack.http_url}{NOTICES}",
            data=body,
            headers={"Content-Type": "application/json", "intuit-signature": sign(body)},
            timeout=oauth.TIMEOUT,
        )
        if answer.status_code != 200 or not answer.json().get("reading_back"):
            raise RuntimeError(f"the genuine QuickBooks notice read nothing back: {answer.status_code} {answer.text}")
        self.genuine_notice = body

    def secrets(self) -> set[str]:
        return {CLIENT[1], VERIFIER}.union(*(c.secrets() for c in self.consents.values()))

    def requests_served(self) -> int:
        return self.sandbox.requests_seen

    def doors(self, world: World) -> list[Door]:
        a, b = self.consents["A"], self.consents["B"]
        others = {c.tenant: c.held.get("pipedrive") for c in world.of(self.name)}
        families_a = oauth.bad_returns(a, b, others["A"] or b)
        families_b = oauth.bad_returns(b, a, others["B"] or a)
        return [
            Door(
                "quickbooks consent return",
                "GET /connect/{target}/callback",
                {family: families_a[family] | families_b[family] for family in families_a},
            ),
            Door("quickbooks notices", "POST /notices/{target}", bad_notices(self.genuine_notice)),
        ]


def vendor() -> Quickbooks:
    return Quickbooks()


TAX_CODES = {"21": "2", "9": "3", "0": "4"}
"""VAT rate → TaxCode id, as the owner maps them (the chart is read at the first target sync, after the build)."""


# -- notices --------------------------------------------------------------------------------------------------------
def notice(
    body: bytes,
    signature: str | None,
    category: str,
    what: str,
    *,
    expect: tuple[int, ...] = (),
    target: str = "quickbooks",
    may_succeed: str = "",
) -> Probe:
    headers: list[tuple[str, str | bytes]] = [("Content-Type", "application/json")]
    if signature is not None:
        headers.append(("intuit-signature", signature))
    path = NOTICES if target == "quickbooks" else path_of("notices", target)
    return Probe(category, what, "POST", path, body, tuple(headers), may_succeed, frozenset(expect))


def _empty_or_refused(body: bytes) -> dict[str, Any]:
    return {"expect": (200,), "may_succeed": EMPTY} if body == b"[]" else {"expect": (400,)}


def bad_notices(accepted: bytes) -> dict[str, SearchStrategy[Probe]]:
    genuine = classic(REALMS["A"])
    return {
        "replay": st.just(accepted).map(
            lambda body: notice(
                body, sign(body), "replay", "the genuine notice, again", may_succeed=REPLAY, expect=(200,)
            )
        ),
        "wrong signature": wrong_signatures(),
        "unknown company": unknown_companies(),
        "malformed": m.broken_json(genuine).map(
            lambda d: notice(d[1], sign(d[1]), "malformed", d[0], **_empty_or_refused(d[1]))
        ),
        "wrong types": wrong_types(),
        "non-ASCII": non_ascii(),
        "deep nesting": st.one_of(m.deep_json(), m.deep_json(wrap={"eventNotifications": 0})).map(
            lambda d: notice(d[1], sign(d[1]), "deep nesting", d[0], expect=(400, 413))
        ),
        "oversized": st.tuples(m.oversized(MAX_BODY, json.loads(genuine)), st.booleans()).map(
            lambda d: notice(d[0][1], sign(d[0][1]) if d[1] else "x", "oversized", d[0][0], expect=(413,))
        ),
        "wrong target": st.one_of(st.sampled_from((*oauth.NOT_OAUTH, "pipedrive")), m.tricky_text()).map(
            lambda t: notice(genuine, sign(genuine), "wrong target", f"target {t!r}", expect=(400, 404), target=t)
        ),
        "method/case": m.other_methods("POST").map(
            lambda d: replace(notice(genuine, sign(genuine), "method/case", d[0], expect=(404, 405)), method=d[1])
        ),
    }


@st.composite
def wrong_signatures(draw: DrawFn) -> Probe:
    body = draw(st.sampled_from([classic(REALMS["A"]), classic(REALMS["B"]), cloud_events(REALMS["A"])]))
    genuine = sign(body)
    what, signature = draw(
        st.one_of(
            st.just(("no intuit-signature", None)),
            st.just(("empty", "")),
            st.just(("signed with the client secret", sign(body, CLIENT[1]))),
            st.just(("HMAC-SHA1", sign(body, VERIFIER, hashlib.sha1))),
            st.just(("the digest in hex", hmac.new(VERIFIER.encode(), body, hashlib.sha256).hexdigest())),
            st.just(("signature of another body", sign(classic(REALMS["A"], "131")))),
            st.integers(0, len(genuine) - 2).map(
                lambda i: (
                    "one character changed",
                    genuine[:i] + ("A" if genuine[i] != "A" else "B") + genuine[i + 1 :],
                )
            ),
            st.integers(1, len(genuine) - 1).map(lambda n: (f"cut to {n}", genuine[:n])),
            m.tricky_text().map(lambda t: (f"not base64: {t[:20]!r}", t)),
            m.long_text().map(lambda d: (f"{d[0]}", d[1])),
        ).filter(lambda d: d[1] is None or ("\r" not in d[1] and "\n" not in d[1]))
    )
    return notice(body, signature, "wrong signature", what, expect=(401,))


@st.composite
def unknown_companies(draw: DrawFn) -> Probe:
    realm = draw(st.one_of(st.integers(1, 10**16).map(str), st.sampled_from([REALMS["A"] + "0", REALMS["A"][:-1]])))
    body = draw(st.sampled_from([classic(realm), cloud_events(realm)]))
    return notice(
        body, sign(body), "unknown company", f"signed, company {realm}", may_succeed=UNKNOWN_REALM, expect=(200,)
    )


@st.composite
def wrong_types(draw: DrawFn) -> Probe:
    what, value = draw(m.wrong_types())
    field = draw(st.sampled_from(["realmId", "entities", "eventNotifications", "item", "type", "intuitaccountid"]))
    if field in ("type", "intuitaccountid"):
        event = json.loads(cloud_events(REALMS["A"]))[0]
        body = json.dumps([{**event, field: value}]).encode()
    else:
        item = json.loads(classic(REALMS["A"]))["eventNotifications"][0]
        shapes = {
            "realmId": {"eventNotifications": [{**item, "realmId": value}]},
            "entities": {"eventNotifications": [{**item, "dataChangeEvent": {"entities": value}}]},
            "eventNotifications": {"eventNotifications": value},
            "item": {"eventNotifications": [value]},
        }
        body = json.dumps(shapes[field]).encode()
    # A value that is still a company id (7, "1e3") names a company no connection reaches: 200, nothing queued.
    return notice(body, sign(body), "wrong types", f"{field}: {what}", may_succeed=UNKNOWN_REALM)


@st.composite
def non_ascii(draw: DrawFn) -> Probe:
    # Not only white space: Koppel trims a realm id, so ours + " " would be a genuine notice about our company.
    text = draw(st.one_of(m.non_ascii_digits(), m.tricky_text()).filter(str.strip))
    where = draw(st.sampled_from(["realmId", "realmId after ours", "lone surrogate"]))
    if where == "lone surrogate":
        what, body = draw(m.lone_surrogate_in({"eventNotifications": []}, "eventNotifications"))
        return notice(body, sign(body), "non-ASCII", what, expect=(400,))
    realm = text if where == "realmId" else REALMS["A"] + text
    body = (
        classic(realm) if draw(st.booleans()) else json.dumps(json.loads(classic(realm)), ensure_ascii=False).encode()
    )
    return notice(body, sign(body), "non-ASCII", f"{where} {text[:20]!r}", may_succeed=UNKNOWN_REALM)
