"""The bad tokens at the console's API (devkit/fuzz/doors/console.py): every route behind the JWT authorizer, sent as
the firm of tenant A would send it but for the ``Authorization`` header. API Gateway must answer each with its own
401 before the function runs. Forging and tampering is in devkit/fuzz/tokens.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from devkit.fuzz import mutations as m
from devkit.fuzz import tokens as jwt
from devkit.fuzz.console_families import Held, actions, read_paths
from devkit.fuzz.probe import Probe, path_of, query_of

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy


def every_route(held: Held) -> list[tuple[str, str, bytes]]:
    """(method, path, body) of every /api route behind the authorizer, as the firm of A would send it."""
    c = held.own[0]
    routes = [("GET", path_of("api", "me"), b""), ("GET", path_of("api", "connections"), b"")]
    return routes + [("GET", p, b"") for p in read_paths(c)] + [(a[1], a[2], a[3]) for a in actions(c)]


def tokens(held: Held) -> dict[str, SearchStrategy[Probe]]:
    routes = st.sampled_from(every_route(held))
    firm, other = held.people["firm A"], held.people["firm B"]

    def at(category: str, what_token: st.SearchStrategy[tuple[str, Any]]) -> SearchStrategy[Probe]:
        return st.tuples(routes, what_token).map(lambda d: _with_authorization(category, d[0], *d[1]))

    header, claims, _signature = jwt.parts(firm.token)
    return {
        "no token": at("no token", no_tokens(firm.token)),
        "tampered": at("tampered", tampered(firm.token, other.token, held)),
        "other pool or client": at(
            "other pool or client",
            st.sampled_from(
                [
                    (what, _moto_signed(changed, header))
                    for what, changed in (
                        (
                            "another pool's issuer",
                            claims | {"iss": held.issuer.rsplit("/", 1)[0] + "/eu-west-1_Fuzz0ther"},
                        ),
                        ("the issuer with a slash", claims | {"iss": held.issuer + "/"}),
                        ("the issuer over http", claims | {"iss": held.issuer.replace("https://", "http://")}),
                        ("another app client's audience", claims | {"aud": "fuzz0therclient0000000000"}),
                        ("an audience list without ours", claims | {"aud": ["fuzz0therclient0000000000"]}),
                        ("no audience and no client_id", {k: v for k, v in claims.items() if k != "aud"}),
                    )
                ]
            ),
        ),
        # Signed when the door is declared, not when drawn: hypothesis frowns on randomness inside a strategy
        "expired": at(
            "expired",
            st.sampled_from(
                [
                    (what, _moto_signed(_timed(claims, what), header))
                    for what in (
                        "exp past",
                        "exp a minute ago",
                        "exp as text",
                        "no exp",
                        "nbf ahead",
                        "iat ahead",
                        "exp 0",
                    )
                ]
            ),
        ),
    }


def _with_authorization(category: str, route: tuple[str, str, bytes], what: str, value: Any) -> Probe:
    """``value``: the whole Authorization header, or None (no header), or ("query", token) to carry it elsewhere."""
    method, path, body = route
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),) if body else ()
    if isinstance(value, tuple):
        where, token = value
        if where == "query":
            path += ("&" if "?" in path else "?") + query_of(("access_token", token), ("id_token", token))
        else:
            headers += ((where, token),)
    elif value is not None:
        headers += (("Authorization", value),)
    return Probe(category, what, method, path, body, headers, expect=frozenset({401}))


def no_tokens(token: str) -> SearchStrategy[tuple[str, Any]]:
    return st.one_of(
        st.sampled_from(
            [
                ("no Authorization", None),
                ("empty", ""),
                ("Bearer alone", "Bearer"),
                ("Bearer and a space", "Bearer "),
                ("Bearer Bearer", f"Bearer Bearer {token}"),
                ("Basic", "Basic ZnV6ejpmdXp6"),
                ("Token", f"Token {token}"),
                ("the token in the query", ("query", token)),
                ("the token in a cookie", ("Cookie", f"id_token={token}")),
                ("the token in X-Authorization", ("X-Authorization", f"Bearer {token}")),
                ("header and payload only", f"Bearer {token.rsplit('.', 1)[0]}"),
                ("one part", f"Bearer {token.split('.')[1]}"),
            ]
        ),
        m.tricky_text()
        .filter(lambda s: "\r" not in s and "\n" not in s)
        .map(lambda s: (f"garbage {s[:20]!r}", f"Bearer {s}")),
        m.long_text(256, 6000).map(lambda d: (f"garbage of {d[0]}", f"Bearer {d[1]}")),
    )


def tampered(token: str, other: str, held: Held) -> SearchStrategy[tuple[str, Any]]:
    header, claims, signature = jwt.parts(token)
    b_tenant = jwt.claims_of(other)["custom:tenant"]
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    return st.sampled_from(
        [
            ("custom:tenant changed to B's, signature kept", jwt.with_claims(token, **{"custom:tenant": b_tenant})),
            (
                "cognito:groups made operator, signature kept",
                jwt.with_claims(token, **{"cognito:groups": ["operator"]}),
            ),
            ("exp a day later, signature kept", jwt.with_claims(token, exp=claims["exp"] + 86_400)),
            (
                "another username, signature kept",
                jwt.with_claims(token, **{"cognito:username": "fuzz-firm-b@example.com"}),
            ),
            ("signature dropped", ".".join(token.split(".")[:2]) + "."),
            ("another token's signature", ".".join([*token.split(".")[:2], jwt.parts(other)[2]])),
            ("signature changed", ".".join([*token.split(".")[:2], flipped])),
            ("alg none", jwt.alg_none(token)),
            ("alg None", jwt.alg_none(token, "None")),
            ("alg none with the signature kept", jwt.alg_none(token, signature=signature)),
            ("HS256 with the JWKS as secret", jwt.hs256(token, held.jwks)),
            ("HS256 with the audience as secret", jwt.hs256(token, held.audience.encode() * 4)),
            ("our own key, moto's kid", jwt.signed(claims, jwt.own_key(), header["kid"])),
            ("our own key, a kid of our own", jwt.signed(claims, jwt.own_key(), "fuzz-kid")),
            ("header not JSON", "bm90IGpzb24." + token.split(".", 1)[1]),
        ]
    ).map(lambda d: (d[0], f"Bearer {d[1]}"))


def _moto_signed(claims: dict[str, Any], header: dict[str, Any]) -> str:
    return f"Bearer {jwt.signed(claims, jwt.moto_key(), header['kid'])}"


def _timed(claims: dict[str, Any], what: str) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    changes: dict[str, dict[str, Any]] = {
        "exp past": {"exp": now - 3600, "iat": now - 7200},
        "exp a minute ago": {"exp": now - 60},
        "exp as text": {"exp": str(now + 3600)},
        "no exp": {"exp": None},
        "nbf ahead": {"nbf": now + 86_400},
        "iat ahead": {"iat": now + 86_400},
        "exp 0": {"exp": 0},
    }
    return {k: v for k, v in (claims | changes[what]).items() if v is not None}
