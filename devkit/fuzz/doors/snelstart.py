"""SnelStart's doors: the activation a connection's owner starts and SnelStart calls back.

- ``GET /connect/snelstart/start?token=…``: opens an owner's start link (single use, from ``koppel connections
  activate``) and sends the user to SnelStart with a fresh activation reference;
- ``POST /connect/snelstart/callback``: SnelStart's koppelsleutel webhook ``{"koppelSleutel", "actionType",
  "referenceKey"}``, unsigned: the reference is the only proof;
- ``GET /connect/snelstart/done``: the page the user lands on; it reads no input.

Each tenant is activated for real before the fuzz (its reference is then the connection's live link), and holds
one start link never opened and one activation started but never called back. The fuzz sends near misses of both,
and they must stay usable: the state check sees a grant row consumed. The exact pending reference is only sent
with Delete or Regenerate (a Create with a junk key on it would use it up, by design: it is single use).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs, urlsplit

import requests
from hypothesis import strategies as st

from devkit.fuzz import mutations as m
from devkit.fuzz.doors import Door
from devkit.fuzz.probe import Probe, path_of, query_of
from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn, SearchStrategy

    from devkit.fuzz.world import FuzzConnection, World

SUBSCRIPTION_KEY = "fuzz-partner-subscription-key-7f3a9c"
APP = "koppel"
MAX_CALLBACK = 16 * 1024
"""The activation callback body limit Koppel promises (413 above it)."""
TOKEN = r"[A-Za-z0-9_-]{43}"
"""The shape of Koppel's start tokens and references (secrets.token_urlsafe(32)): a random one was never issued."""
PAGE = "a static page that reads no input"
OTHER_TARGETS = ("eboekhouden", "bizzcloud", "ccvshop", "SNELSTART", "snelstart ", "snel", "x" * 64)


@dataclass
class Activation:
    """One connection's activation, as the fuzz keeps it."""

    connection_id: str
    used_link: str
    """The start token that activated it: used up."""
    unused_link: str
    """A start token issued and never opened: must stay usable."""
    live_reference: str
    pending_reference: str
    """A reference handed to SnelStart by a start that was never called back: must stay usable."""
    genuine_callback: dict[str, Any]
    """The Create SnelStart posted."""

    @property
    def koppelsleutel(self) -> str:
        return str(self.genuine_callback["koppelSleutel"])


class Snelstart:
    name = "snelstart"
    role: Literal["source", "target"] = "target"

    def __init__(self) -> None:
        self.sandbox = SnelstartSandbox(subscription_key=SUBSCRIPTION_KEY)
        self.activations: list[Activation] = []

    def start(self, world: World) -> None:
        self.sandbox.start()
        secret_name = f"{world.stack._outputs().partner_secret_prefix}snelstart"
        world.stack.client("secretsmanager").put_secret_value(
            SecretId=secret_name, SecretString=json.dumps({"subscription_key": SUBSCRIPTION_KEY, "app_short_name": APP})
        )
        self.sandbox.register_app(APP, f"{world.stack.http_url}/connect/snelstart/callback")

    def stop(self) -> None:
        self.sandbox.stop()

    def connection_options(self, connection: FuzzConnection) -> list[str]:
        base = self.sandbox.base_url
        return [
            "--setting", f"snelstart.api_base={base}/v2",
            "--setting", f"snelstart.auth_url={base}/b2b/token",
            "--setting", f"snelstart.activation_base={base}",
        ]  # fmt: skip

    def connected(self, world: World, connection: FuzzConnection) -> None:
        """Activate as the owner would (start link → SnelStart → callback); then one start link left unopened and
        one activation left pending."""
        used = self._start_link(world, connection)
        live, vendor_page = self._open(used)
        if requests.get(vendor_page, allow_redirects=False, timeout=30).status_code != 302:
            raise RuntimeError(f"the SnelStart sandbox did not activate {connection.connection_id}")
        callback = next(d["payload"] for d in self.sandbox.webhook_deliveries if d["payload"]["referenceKey"] == live)
        unused = self._start_link(world, connection)
        pending, _ = self._open(self._start_link(world, connection))
        activation = Activation(connection.connection_id, _token(used), _token(unused), live, pending, callback)
        connection.held[self.name] = activation
        self.activations.append(activation)

    def _start_link(self, world: World, connection: FuzzConnection) -> str:
        return world.cli_output("connections", "activate", connection.connection_id, "snelstart")

    @staticmethod
    def _open(start_link: str) -> tuple[str, str]:
        """Open a start link: the activation reference it handed out, and SnelStart's page it sends the user to."""
        answer = requests.get(start_link, allow_redirects=False, timeout=30)
        if answer.status_code != 302:
            raise RuntimeError(f"a genuine start link was refused: {answer.status_code} {answer.text}")
        location = answer.headers["Location"]
        return parse_qs(urlsplit(location).query)["referenceKey"][0], location

    def genuine_traffic(self, world: World) -> None:
        """Nothing more: the activation callbacks of ``connected`` are the genuine traffic."""

    def secrets(self) -> set[str]:
        held = {SUBSCRIPTION_KEY}
        for a in self.activations:
            held |= {a.used_link, a.unused_link, a.live_reference, a.pending_reference, a.koppelsleutel}
        return held

    def requests_served(self) -> int:
        return self.sandbox.requests_seen

    def doors(self, world: World) -> list[Door]:
        a, b = self.activations[:2]
        return [
            Door("snelstart start", "GET /connect/{target}/start", _either(bad_starts(a, b), bad_starts(b, a))),
            Door(
                "snelstart callback",
                "POST /connect/{target}/callback",
                _either(bad_callbacks(a, b), bad_callbacks(b, a)),
            ),
            Door("snelstart done", "GET /connect/{target}/done", bad_done_pages(), one_refusal=None),
        ]


def vendor() -> Snelstart:
    return Snelstart()


def _either(
    a: dict[str, SearchStrategy[Probe]], b: dict[str, SearchStrategy[Probe]]
) -> dict[str, SearchStrategy[Probe]]:
    """One family at a time from either tenant's side."""
    return {family: a[family] | b[family] for family in a}


def _token(start_link: str) -> str:
    return parse_qs(urlsplit(start_link).query)["token"][0]


def near_misses(token: str) -> SearchStrategy[tuple[str, str]]:
    """Tokens one edit away from ``token``: a guess that is close must be as wrong as any other."""
    index = st.integers(0, len(token) - 1)
    return st.one_of(
        index.map(lambda i: ("one character changed", token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :])),
        index.map(lambda i: ("one character dropped", token[:i] + token[i + 1 :])),
        st.sampled_from("a_-").map(lambda c: ("one character added", token + c)),
        st.just(("letter case swapped", token.swapcase())),
        st.just(("cut in half", token[: len(token) // 2])),
    )


# -- start ----------------------------------------------------------------------------------------------------------
def start(
    query: str, category: str, what: str, *, target: str = "snelstart", expect: tuple[int, ...] = (401,)
) -> Probe:
    return Probe(category, what, "GET", path_of("connect", target, "start", query=query), expect=frozenset(expect))


def with_token(value: str) -> str:
    return query_of(("token", value))


def bad_starts(own: Activation, other: Activation) -> dict[str, SearchStrategy[Probe]]:
    """Start links that are missing, used, near misses of a live one, another tenant's secrets, or at the wrong
    target; the unused start link must survive all of them."""
    unused = with_token(own.unused_link)
    no_token = [
        ("no query", ""),
        ("empty token", "token="),
        ("bare token", "token"),
        ("old connection_id=", query_of(("connection_id", own.connection_id))),
    ]
    cross_tenant = [
        ("our used link naming their connection", f"{with_token(own.used_link)}&connection_id={other.connection_id}"),
        ("their live reference as a start token", with_token(other.live_reference)),
        ("their pending reference as a start token", with_token(other.pending_reference)),
    ]
    targets = st.one_of(st.sampled_from(OTHER_TARGETS), m.tricky_text())
    return {
        "no token": st.sampled_from(no_token).map(lambda d: start(d[1], "no token", d[0])),
        "replay": st.just(start(with_token(own.used_link), "replay", "a start link used before")),
        "wrong token": st.one_of(
            near_misses(own.unused_link).map(lambda d: start(with_token(d[1]), "wrong token", f"unused link, {d[0]}")),
            st.from_regex(TOKEN, fullmatch=True).map(lambda t: start(with_token(t), "wrong token", "a random token")),
        ),
        "wrong target": targets.map(
            lambda t: start(unused, "wrong target", f"unused link at {t!r}", target=t, expect=(400, 404))
        ),
        "cross-tenant": st.sampled_from(cross_tenant).map(lambda d: start(d[1], "cross-tenant", d[0])),
        "non-ASCII": m.tricky_text().map(lambda text: start(with_token(text), "non-ASCII", f"token {text[:20]!r}")),
        "oversized": m.long_text().map(lambda d: start(with_token(d[1]), "oversized", f"token of {d[0]}")),
        "method/case": m.other_methods("GET").map(
            lambda d: replace(start(unused, "method/case", f"unused link, {d[0]}", expect=(404, 405)), method=d[1])
        ),
    }


# -- callback -------------------------------------------------------------------------------------------------------
def callback(
    body: bytes, category: str, what: str, *, target: str = "snelstart", expect: tuple[int, ...] = ()
) -> Probe:
    headers = (("Content-Type", "application/json"),)
    path = path_of("connect", target, "callback")
    return Probe(category, what, "POST", path, body, headers, expect=frozenset(expect))


def _payload(key: str, action: str, reference: Any) -> bytes:
    return json.dumps({"koppelSleutel": key, "actionType": action, "referenceKey": reference}).encode()


def bad_callbacks(own: Activation, other: Activation) -> dict[str, SearchStrategy[Probe]]:
    genuine = json.dumps(own.genuine_callback).encode()
    return {
        "replay": st.just(callback(genuine, "replay", "the genuine Create, again", expect=(409,))),
        "forged action": forged_actions(own),
        "cross-tenant": cross_tenant_callbacks(own, other),
        "unknown reference": unknown_references(own),
        "malformed": m.broken_json(genuine).map(lambda d: callback(d[1], "malformed", d[0], expect=(400,))),
        "wrong types": wrong_types(own),
        "non-ASCII": non_ascii_callbacks(own),
        "deep nesting": st.one_of(m.deep_json(), m.deep_json(wrap={"referenceKey": 0})).map(
            lambda d: callback(d[1], "deep nesting", d[0], expect=(400, 413))
        ),
        "oversized": m.oversized(MAX_CALLBACK, own.genuine_callback).map(
            lambda d: callback(d[1], "oversized", d[0], expect=(413,))
        ),
        "wrong target": st.one_of(st.sampled_from(OTHER_TARGETS), m.tricky_text()).map(
            lambda target: callback(genuine, "wrong target", f"target {target!r}", target=target, expect=(400, 404))
        ),
        "method/case": m.other_methods("POST").map(
            lambda d: replace(callback(genuine, "method/case", d[0], expect=(404, 405)), method=d[1])
        ),
    }


@st.composite
def forged_actions(draw: DrawFn, own: Activation) -> Probe:
    """Regenerate or Delete on the live link while SnelStart still takes the stored key: not believed."""
    action = draw(st.sampled_from(["Regenerate", "Delete"]))
    key = draw(st.sampled_from([own.koppelsleutel, "junk-koppelsleutel", ""]))
    what = f"{action} on the live link, key {key[:6]!r}…"
    expect = (409,) if key else (400, 409)  # no key at all is malformed before it is unbelieved
    return callback(_payload(key, action, own.live_reference), "forged action", what, expect=expect)


@st.composite
def cross_tenant_callbacks(draw: DrawFn, own: Activation, other: Activation) -> Probe:
    action = draw(st.sampled_from(["Create", "Regenerate", "Delete"]))
    if draw(st.booleans()):
        what, body = "their live link with our koppelsleutel", _payload(own.koppelsleutel, action, other.live_reference)
    else:
        what, body = "our live link with their koppelsleutel", _payload(other.koppelsleutel, action, own.live_reference)
    return callback(body, "cross-tenant", f"{action}: {what}", expect=(409,))


@st.composite
def wrong_types(draw: DrawFn, own: Activation) -> Probe:
    field = draw(st.sampled_from(["koppelSleutel", "actionType", "referenceKey"]))
    what, value = draw(m.wrong_types())
    body = json.dumps({**own.genuine_callback, field: value}).encode()
    return callback(body, "wrong types", f"{field}: {what}")  # some are strings, just wrong ones: any 4xx


@st.composite
def unknown_references(draw: DrawFn, own: Activation) -> Probe:
    action = draw(st.sampled_from(["Create", "Regenerate", "Delete"]))
    what, reference = draw(
        st.one_of(
            st.from_regex(TOKEN, fullmatch=True).map(lambda t: ("a random reference of the right shape", t)),
            st.just(("a used start link as the reference", own.used_link)),
            st.just(("an unused start link as the reference", own.unused_link)),
            near_misses(own.pending_reference).map(lambda d: (f"the pending reference, {d[0]}", d[1])),
            near_misses(own.live_reference).map(lambda d: (f"the live link, {d[0]}", d[1])),
            st.sampled_from([("no reference", None), ("empty reference", "")]),
        )
    )
    if action != "Create" and draw(st.booleans()):
        what, reference = "the pending reference itself (not yet a live link)", own.pending_reference
    body = _payload(draw(st.sampled_from([own.koppelsleutel, "junk-koppelsleutel"])), action, reference)
    return callback(body, "unknown reference", f"{action}: {what}", expect=(400, 401))


@st.composite
def non_ascii_callbacks(draw: DrawFn, own: Activation) -> Probe:
    field = draw(st.sampled_from(["referenceKey", "actionType", "koppelSleutel"]))
    text = draw(m.tricky_text())
    if field == "koppelSleutel":  # on the live link: a Create there is "already received", whatever the key
        body = _payload(text, "Create", own.live_reference)
        return callback(body, "non-ASCII", f"koppelSleutel {text[:20]!r} on the live link", expect=(409,))
    if field == "actionType":
        text = draw(st.one_of(st.just(text), st.sampled_from(["create", "CREATE", "Créate", "Delete\x00", "Delete "])))
    if draw(st.integers(0, 4)) == 0:
        what, body = draw(m.lone_surrogate_in(own.genuine_callback, field))
        return callback(body, "non-ASCII", what, expect=(400, 401))
    body = json.dumps({**own.genuine_callback, field: text}, ensure_ascii=draw(st.booleans())).encode()
    return callback(body, "non-ASCII", f"{field} {text[:20]!r}", expect=(400, 401))


# -- done ---------------------------------------------------------------------------------------------------------
def bad_done_pages() -> dict[str, SearchStrategy[Probe]]:
    """The page reads nothing: any query gets it (and must not echo markup); other targets and methods get 4xx."""
    done = path_of("connect", "snelstart", "done")
    page = st.tuples(st.sampled_from(["referenceKey", "successUrl", "error", "<script>"]), m.tricky_text()).map(
        lambda d: Probe("hostile query", f"query {d[0]}={d[1][:20]!r}", "GET", f"{done}?{query_of(d)}",
                        may_succeed=PAGE, expect=frozenset({200}))
    )  # fmt: skip
    wrong_target = st.one_of(st.sampled_from(OTHER_TARGETS), m.tricky_text()).map(
        lambda t: Probe(
            "wrong target", f"target {t!r}", "GET", path_of("connect", t, "done"), expect=frozenset({400, 404})
        )
    )
    methods = m.other_methods("GET").map(lambda d: Probe("method/case", d[0], d[1], done, expect=frozenset({404, 405})))
    return {"hostile query": page, "wrong target": wrong_target, "method/case": methods}
