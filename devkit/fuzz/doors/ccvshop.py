"""CCV Shop's door: ``POST /hooks/ccvshop/{connection_id}``, webhooks signed with ``x-hash`` (hex HMAC-SHA512 of
the raw body with the webhook's key).

Genuine webhooks come from the CCV Shop sandbox: a few orders per tenant, completed and paid, delivered and booked
before the fuzz. The fuzz holds the webhook keys, so it can also sign what it likes; a signed probe is still bad
input only when its body is: a new, well-formed body about one of the shop's own orders is a genuine webhook, so
signed probes never carry a valid id of the shop's own order.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from hypothesis import strategies as st

from devkit.fuzz import mutations as m
from devkit.fuzz.doors import Door
from devkit.fuzz.probe import Probe, path_of
from devkit.koppelingen.ccvshop_snelstart.scenarios import FATIMA, JAN
from devkit.sandboxes.ccvshop.auth import RateLimits
from devkit.sandboxes.ccvshop.sandbox import CcvShopSandbox, RowSpec

if TYPE_CHECKING:
    from collections.abc import Callable

    from hypothesis.strategies import DrawFn, SearchStrategy

    from devkit.fuzz.world import FuzzConnection, World
    from devkit.sandboxes.ccvshop.sandbox import Delivery, Shop

MAX_BODY = 256 * 1024
"""The webhook body limit Koppel promises (413 above it)."""
ROUTE = "POST /hooks/{source}/{connection_id}"
REPLAY = "replay of an accepted webhook: answered as already received"
UNLIMITED = 10**9
"""Requests a minute: a signed probe about an unknown order makes Koppel read the shop (by design), and the fuzz
is not the place to exhaust CCV's budget (the chaos run plays 429s)."""


@dataclass
class Webhooks:
    """One connection's side of the door: its address, its keys and the genuine webhooks it accepted."""

    connection_id: str
    keys: list[str]
    genuine: list[Delivery]
    own_orders: list[int]

    @property
    def path(self) -> str:
        return path_of("hooks", "ccvshop", self.connection_id)

    def signed(self, body: bytes) -> str:
        return sign(self.keys[0], body)


def sign(key: str, body: bytes, digest: Any = hashlib.sha512) -> str:
    return hmac.new(key.encode(), body, digest).hexdigest()


def webhook(
    path: str, body: bytes, signature: str | None, *, category: str, what: str, expect: tuple[int, ...] = ()
) -> Probe:
    headers: list[tuple[str, str | bytes]] = [("Content-Type", "application/json")]
    if signature is not None:
        headers.append(("x-hash", signature))
    return Probe(category, what, "POST", path, body, tuple(headers), expect=frozenset(expect))


class CcvShop:
    name = "ccvshop"
    role: Literal["source", "target"] = "source"

    def __init__(self) -> None:
        limits = RateLimits(get_per_minute=UNLIMITED, write_per_minute=UNLIMITED, total_per_minute=UNLIMITED)
        self.sandbox = CcvShopSandbox(rate_limits=limits)
        self.world: World | None = None
        self._keys: set[str] = set()

    def start(self, world: World) -> None:
        self.world = world
        self.sandbox.start()

    def stop(self) -> None:
        self.sandbox.stop()

    def connection_options(self, connection: FuzzConnection) -> list[str]:
        if self.world is None:
            raise RuntimeError("start the vendor in a world first")
        public, secret = f"pk-{secrets.token_hex(12)}", f"sk-{secrets.token_hex(24)}"
        self._keys |= {public, secret}
        connection.held[self.name] = self.sandbox.add_shop(public, secret)
        return [
            "--setting", f"ccvshop.base_url={self.sandbox.base_url}",
            "--secret", f"ccvshop.public_key={public}", "--secret", f"ccvshop.secret_key={secret}",
            "--webhook-base", self.world.stack.http_url,  # registers the shop's webhooks, stores their keys
        ]  # fmt: skip

    def connected(self, world: World, connection: FuzzConnection) -> None:
        """Nothing more: ``--webhook-base`` registered the webhooks in the shop."""

    def genuine_traffic(self, world: World) -> None:
        """Two orders per shop, completed and paid: their webhooks are delivered (and accepted) once."""
        import requests

        for connection in world.of(self.name):
            shop: Shop = connection.held[self.name]
            orders = [
                self.sandbox.add_order(JAN, [RowSpec("Roman", 1, Decimal("22.50"), tax=9)], shop=shop),
                self.sandbox.add_order(FATIMA, [RowSpec("Mok", 2, Decimal("12.95"))], shop=shop),
            ]
            for order in orders:
                self.sandbox.complete_and_pay(order["id"])
            genuine = self.sandbox.pending_webhooks()
            self.sandbox.outbox.clear()
            for delivery in genuine:
                answer = requests.post(delivery.address, data=delivery.body, headers=delivery.headers, timeout=30)
                if answer.status_code != 202:
                    raise RuntimeError(f"a genuine CCV Shop webhook was refused: {answer.status_code} {answer.text}")
            keys = [hook["key"] for hook in shop.webhooks.values()]
            self._keys |= set(keys)
            connection.held[self.name] = Webhooks(
                connection.connection_id, keys, genuine, [int(order["id"]) for order in orders]
            )

    def secrets(self) -> set[str]:
        return set(self._keys)

    def requests_served(self) -> int:
        return self.sandbox.requests_seen

    def doors(self, world: World) -> list[Door]:
        a, b = (connection.held[self.name] for connection in world.of(self.name)[:2])
        return [Door("ccvshop webhook", ROUTE, bad_webhooks(a, b))]


def vendor() -> CcvShop:
    return CcvShop()


# -- the bad requests -------------------------------------------------------------------------------------------------
def bad_webhooks(a: Webhooks, b: Webhooks) -> dict[str, SearchStrategy[Probe]]:
    """Probes at either tenant's door, by family; the other tenant lends its keys, bodies and orders."""

    def both(family: Callable[..., SearchStrategy[Probe]], *, other: bool = False) -> SearchStrategy[Probe]:
        return family(a, b) | family(b, a) if other else family(a) | family(b)

    return {
        "replay": both(replays),
        "wrong signature": both(wrong_signatures, other=True),
        "unknown connection": both(unknown_connections),
        "cross-tenant": both(cross_tenant, other=True),
        "malformed": both(malformed),
        "wrong or unknown id": both(wrong_ids),
        "non-ASCII": both(non_ascii),
        "deep nesting": both(deep_nesting),
        "oversized": both(oversized),
        "method/case": both(other_methods),
    }


def _genuine_shape(own: Webhooks) -> dict[str, Any]:
    return dict(json.loads(own.genuine[0].body))


@st.composite
def replays(draw: DrawFn, own: Webhooks) -> Probe:
    delivery = draw(st.sampled_from(own.genuine))
    header_name = draw(st.sampled_from(["x-hash", "X-Hash", "X-HASH"]))
    probe = webhook(own.path, delivery.body, delivery.headers["x-hash"], category="replay", what="genuine, again")
    headers = tuple((header_name, v) if n == "x-hash" else (n, v) for n, v in probe.headers)
    return replace(probe, headers=headers, may_succeed=REPLAY, expect=frozenset({200, 202}))


@st.composite
def wrong_signatures(draw: DrawFn, own: Webhooks, other: Webhooks) -> Probe:
    delivery = draw(st.sampled_from(own.genuine))
    genuine = delivery.headers["x-hash"]
    another = next((d for d in own.genuine if d.body != delivery.body), delivery)
    what, signature = draw(
        st.one_of(
            m.wrong_hex_signatures(genuine),
            st.just(("no x-hash header", None)),
            st.just(("x-hash made with the other tenant's key", other.signed(delivery.body))),
            st.just(("HMAC-SHA256 instead of SHA-512", sign(own.keys[0], delivery.body, hashlib.sha256))),
            st.just(("HMAC of address|body", sign(own.keys[0], delivery.address.encode() + b"|" + delivery.body))),
            st.just(
                ("the x-hash of another genuine body", another.headers["x-hash"] if another is not delivery else "")
            ),
            st.just(("x-hash twice: wrong, then right", ("0" * 128, genuine))),
            st.just(("x-hash twice: right, then wrong", (genuine, "0" * 128))),
        )
    )
    probe = webhook(own.path, delivery.body, None, category="wrong signature", what=what, expect=(401,))
    values = signature if isinstance(signature, tuple) else () if signature is None else (signature,)
    return replace(probe, headers=probe.headers + tuple(("x-hash", v) for v in values))


@st.composite
def unknown_connections(draw: DrawFn, own: Webhooks) -> Probe:
    delivery = draw(st.sampled_from(own.genuine))
    signature = delivery.headers["x-hash"]
    where = draw(st.sampled_from(["connection", "source"]))
    if where == "connection":
        what, segment = draw(m.unknown_ids([own.connection_id]))
        path = path_of("hooks", "ccvshop", segment)
    else:
        what, segment = draw(st.one_of(st.sampled_from(["bizzcloud", "snelstart", "CCVSHOP", "ccv"]).map(
            lambda s: (f"source {s}", s)), m.tricky_text().map(lambda s: (f"source {s!r}", s))))  # fmt: skip
        path = path_of("hooks", segment, own.connection_id)
    expect: tuple[int, ...] = (401, 404)
    if draw(st.integers(0, 9)) == 0:
        traversal = draw(st.sampled_from(["..", "../../connect/snelstart/callback", "%2e%2e/x"]))
        what, path = f"path traversal {traversal}", path_of("hooks", "ccvshop", raw=(traversal,))
        expect = (400, 401, 404)  # where a traversal lands, a CCV body is no activation either
    return webhook(path, delivery.body, signature, category="unknown connection", what=what, expect=expect)


@st.composite
def cross_tenant(draw: DrawFn, own: Webhooks, other: Webhooks) -> Probe:
    delivery = draw(st.sampled_from(other.genuine))
    their_order = draw(st.sampled_from(other.own_orders))
    body_with_their_order = json.dumps({**_genuine_shape(own), "id": their_order}).encode()
    choices = [
        ("their genuine webhook at our address", delivery.body, delivery.headers["x-hash"], (401,)),
        ("their body signed with our key", delivery.body, own.signed(delivery.body), ()),
        ("our body signed with their key", own.genuine[0].body, other.signed(own.genuine[0].body), (401,)),
        ("their order id, signed with our key", body_with_their_order, own.signed(body_with_their_order), ()),
    ]
    what, body, signature, expect = draw(st.sampled_from(choices))
    return webhook(own.path, body, signature, category="cross-tenant", what=what, expect=expect)


@st.composite
def malformed(draw: DrawFn, own: Webhooks) -> Probe:
    what, body = draw(m.broken_json(own.genuine[0].body))
    signed = draw(st.booleans())
    signature = own.signed(body) if signed else "0" * 128
    expect = (400,) if signed else (401,)
    return webhook(own.path, body, signature, category="malformed", what=what + ("" if signed else ", unsigned"),
                   expect=expect)  # fmt: skip


@st.composite
def wrong_ids(draw: DrawFn, own: Webhooks) -> Probe:
    """Signed bodies whose id is of the wrong type, names no order of this shop, or names one in a disguise."""
    shape = _genuine_shape(own)
    mine = draw(st.sampled_from(own.own_orders))
    category, (what, value) = draw(
        st.one_of(
            st.tuples(st.just("wrong types"), m.wrong_types()),
            st.tuples(
                st.just("unknown order"),
                st.one_of(
                    st.integers(1, 339_999_999).map(lambda n: (f"unknown order {n}", n)),
                    st.integers(10**12, 10**19 - 1).map(lambda n: (f"unknown order {n} as text", str(n))),
                ),
            ),
            st.tuples(
                st.just("disguised id"),
                st.one_of(
                    st.integers(1, 6).map(lambda z: (f"own order with {z} leading zeros", "0" * z + str(mine))),
                    st.just((f"own order {mine} as 20 digits", f"{mine:020d}")),
                ),
            ),
        )
    )
    body = json.dumps({**shape, "id": value}).encode()
    if draw(st.integers(0, 9)) == 1:
        category, what = "wrong types", "no id at all"
        body = json.dumps({k: v for k, v in shape.items() if k != "id"}).encode()
    elif draw(st.integers(0, 9)) == 1:
        category, what = "disguised id", f"own order {mine} with a second id key"
        body = m.duplicate_key({**shape, "id": mine}, "id", draw(st.integers(1, 339_999_999)))
    return webhook(own.path, body, own.signed(body), category=category, what=what)


@st.composite
def non_ascii(draw: DrawFn, own: Webhooks) -> Probe:
    """Signed bodies whose id (and href, or only a JSON escape) holds non-ASCII digits, hostile text next to one of
    the shop's own order ids, or a lone surrogate."""
    shape = _genuine_shape(own)
    mine = draw(st.sampled_from(own.own_orders))
    what, value = draw(
        st.one_of(
            m.non_ascii_digits().map(lambda d: (f"non-ASCII digits {d!r}", d)),
            _not_digits().map(lambda t: (f"own order + {t[:10]!r}", f"{mine}{t}")),
            _not_digits().map(lambda t: (f"{t[:10]!r} + own order", f"{t}{mine}")),
        )
    )
    where = draw(st.sampled_from(["id", "id and href", "lone surrogate"]))
    if where == "lone surrogate":
        what, raw = draw(m.lone_surrogate_in(shape, "id"))
    else:
        body = {**shape, "id": value} | ({"href": _href(shape, value)} if where == "id and href" else {})
        raw = json.dumps(body, ensure_ascii=draw(st.booleans())).encode()
        what = f"{where}: {what}"
    return webhook(own.path, raw, own.signed(raw), category="non-ASCII", what=what, expect=(400,))


def _not_digits() -> SearchStrategy[str]:
    """Hostile text that is not ASCII digits: next to an order id it makes an id no shop has."""
    return m.tricky_text().filter(lambda t: not (t.isascii() and t.isdigit()))


def _href(shape: dict[str, Any], order: str) -> str:
    return str(shape.get("href", "")).rsplit("/", 1)[0] + f"/{order}"


@st.composite
def deep_nesting(draw: DrawFn, own: Webhooks) -> Probe:
    what, body = draw(st.one_of(m.deep_json(), m.deep_json(wrap={"id": 0})))
    return webhook(own.path, body, own.signed(body), category="deep nesting", what=what, expect=(400, 413))


@st.composite
def oversized(draw: DrawFn, own: Webhooks) -> Probe:
    what, body = draw(m.oversized(MAX_BODY, _genuine_shape(own)))
    signed = draw(st.booleans())
    signature = own.signed(body) if signed else "0" * 128
    return webhook(own.path, body, signature, category="oversized", what=what + ("" if signed else ", unsigned"),
                   expect=(413,))  # fmt: skip


@st.composite
def other_methods(draw: DrawFn, own: Webhooks) -> Probe:
    what, method = draw(m.other_methods("POST"))
    delivery = draw(st.sampled_from(own.genuine))
    probe = webhook(own.path, delivery.body, delivery.headers["x-hash"], category="method/case", what=what,
                    expect=(404, 405))  # fmt: skip
    return replace(probe, method=method)
