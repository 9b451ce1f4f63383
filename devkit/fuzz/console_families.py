"""The bad requests at the console's doors (devkit/fuzz/doors/console.py), by family.

Every probe is a genuine request with one thing wrong: the token, whose connection it names, the body, a path
segment or a query value. A probe never carries a request the person may make as it is (a body the API's model
takes, a system the connection has), so every answer must be a 4xx and nothing may change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from devkit.fuzz import mutations as m
from devkit.fuzz.probe import Probe, path_of, query_of

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from devkit.fuzz.world import FuzzConnection

READ_PAGE = "a public page or document, whatever its query: a 2xx (or the redirect into the folder) is right"
PAGES = ("index.html", "app.js", "app.css")
OUTSIDE = ("lambda_handler", "root:x:0", "[project]", "AWSTemplateFormatVersion", "def ")
"""What a file outside functions/manage/console/ shows (app.py, /etc/passwd, pyproject.toml, the template)."""
TRAVERSALS = (
    "..%2fapp.py",
    "..%2F..%2F..%2Fpyproject.toml",
    "%2e%2e%2fapp.py",
    "%2e%2e%2f%2e%2e%2finfra%2ftemplate.yaml",
    "..%5capp.py",
    "..%252fapp.py",
    "..",
    ".",
    "%2e%2e",
    "%2e",
    "....%2f%2fapp.py",
    "index.html%00.js",
    "index.html%00",
    "%00",
    "app.js%2f..%2f..%2fapp.py",
    "%2fetc%2fpasswd",
    "%2Fetc%2Fpasswd",
    "%252fetc%252fpasswd",
    "~%2f.ssh%2fid_rsa",
    "file:%2f%2f%2fetc%2fpasswd",
    "C:%5cWindows%5cwin.ini",
    "..;%2fapp.py",
    "app.py",
    "__init__.py",
    ".index.html",
    "index.html.",
    "index.html%20",
    "INDEX.HTML",
    "index.HTML",
    "App.js",
    ".env",
)
EXTENSIONS = ("py", "pyc", "json", "yaml", "toml", "txt", "md", "map", "env", "bak", "html~", "swp", "jsx", "mjs", "")
READS = ("", "history", "bookings", "mapping")


@dataclass(frozen=True)
class Person:
    username: str
    password: str
    token: str


@dataclass(frozen=True)
class Held:
    """What the world gave the console's doors."""

    people: dict[str, Person]
    """"firm A", "client A", "firm B"."""
    own: list[FuzzConnection]
    """Tenant A's connections booked for client A's client: the firm of A and the client of A see them."""
    others_client: list[FuzzConnection]
    """Tenant A's connections booked for another client: the firm of A sees them, the client of A does not."""
    b: list[FuzzConnection]
    unknown_error: str
    """The ``error`` of the 404 an unknown connection (``unknown_id``) gets."""
    unknown_id: str
    jwks: bytes
    issuer: str
    audience: str

    def unseen(self) -> list[tuple[str, FuzzConnection]]:
        """(person, connection) for every connection the person may not see."""
        return (
            [("firm B", c) for c in self.own + self.others_client]
            + [("client A", c) for c in self.others_client]
            + [("firm A", c) for c in self.b]
        )

    def not_found(self, connection_id: str) -> str:
        return self.unknown_error.replace(self.unknown_id, connection_id)


def api(
    category: str,
    what: str,
    method: str,
    path: str,
    token: str | None,
    body: bytes = b"",
    *,
    expect: tuple[int, ...] = (),
    headers: tuple[tuple[str, str], ...] = (),
    reads_as: str = "",
) -> Probe:
    sent: tuple[tuple[str, str], ...] = (("Authorization", f"Bearer {token}"),) if token is not None else ()
    sent += (("Content-Type", "application/json"),) if body else ()
    return Probe(category, what, method, path, body, sent + headers, expect=frozenset(expect), reads_as=reads_as)


def read_paths(c: FuzzConnection) -> list[str]:
    base = ("api", "connections", c.connection_id)
    return [path_of(*base), path_of(*base, "history"), path_of(*base, "bookings"), path_of(*base, "mapping", c.target)]


def actions(c: FuzzConnection) -> list[tuple[str, str, str, bytes]]:
    """(name, method, path, a body the API takes) of every connection route that changes something."""
    base = ("api", "connections", c.connection_id)
    since = (datetime.now(UTC).date() - timedelta(days=3)).isoformat()
    return [
        ("replay", "POST", path_of(*base, "replay"), b""),  # no body: every parked record
        ("pause", "POST", path_of(*base, "pause"), b'{"reason": "fuzz"}'),
        ("resume", "POST", path_of(*base, "resume"), b""),
        ("backfill", "POST", path_of(*base, "backfill"), json.dumps({"since": since}).encode()),
        ("mapping", "PUT", path_of(*base, "mapping", c.target), b'{"fields": {}}'),
        ("connect", "POST", path_of(*base, "connect", c.target), b""),
        ("disconnect", "POST", path_of(*base, "disconnect"), b""),
    ]


# -- pages --------------------------------------------------------------------------------------------------------
def pages() -> dict[str, SearchStrategy[Probe]]:
    def page(category: str, what: str, path: str, method: str = "GET") -> Probe:
        return Probe(category, what, method, path, expect=frozenset({404}), not_shown=OUTSIDE)

    stems = st.sampled_from(["index", "app", "app.css", "console", "connection", "mapping", "..", "template"])
    hostile_query = st.one_of(m.tricky_text(), m.long_text(64, 2000).map(lambda d: d[1])).map(
        lambda s: query_of(("q", s), ("token", s))
    )
    # The OpenAPI document is not sent a query: its schema names (HTTPValidationError) read as internals to the checks
    genuine = st.sampled_from([path_of("console", p) for p in PAGES] + ["/console"])
    public = st.sampled_from([path_of("console", p) for p in PAGES] + ["/console", "/api/openapi.json"])
    return {
        "traversal": st.sampled_from(TRAVERSALS).map(
            lambda raw: page("traversal", raw, path_of("console", raw=(raw,)))
        ),
        "other extensions": st.tuples(stems, st.sampled_from(EXTENSIONS)).map(
            lambda d: page("other extensions", f"{d[0]}.{d[1]}", path_of("console", f"{d[0]}.{d[1]}"))
        ),
        "non-ASCII": m.tricky_text().map(lambda s: page("non-ASCII", f"file {s[:20]!r}", path_of("console", s))),
        "oversized": m.long_text(65).map(lambda d: page("oversized", f"file of {d[0]}", path_of("console", d[1]))),
        "hostile query": st.tuples(genuine, hostile_query).map(
            lambda d: Probe(
                "hostile query", "hostile query on a genuine page", "GET", f"{d[0]}?{d[1]}", may_succeed=READ_PAGE
            )
        ),
        "method/case": st.one_of(
            st.tuples(public, m.other_methods("GET")).map(lambda d: page("method/case", d[1][0], d[0], d[1][1])),
            st.sampled_from(["/CONSOLE/index.html", "/Console", "/console/index.html/", "/API/openapi.json"]).map(
                lambda p: page("method/case", p, p)
            ),
        ),
    }


# -- signing in ---------------------------------------------------------------------------------------------------
def sign_ins(held: Held) -> dict[str, SearchStrategy[Probe]]:
    firm, other = held.people["firm A"], held.people["firm B"]
    wrong = {"username": firm.username, "password": firm.password + "x"}
    path = path_of("api", "session")

    def session(category: str, what: str, body: bytes, expect: tuple[int, ...] = ()) -> Probe:
        return api(category, what, "POST", path, None, body, expect=expect)

    def login(category: str, what: str, username: Any, password: Any, expect: tuple[int, ...]) -> Probe:
        return session(category, what, json.dumps({"username": username, "password": password}).encode(), expect)

    pw = firm.password
    near = st.sampled_from(
        [
            ("one character changed", pw[:-1] + ("b" if pw[-1] != "b" else "c")),
            ("cut", pw[:-1]),
            ("a character more", pw + "1"),
            ("in capitals", pw.upper()),
            ("in lower case", pw.lower()),
            ("a space before", " " + pw),
            ("a space after", pw + " "),
            ("the other firm's", other.password),
            ("the username", firm.username),
        ]
    )
    credentials = st.one_of(
        near.map(lambda d: login("wrong credentials", f"password: {d[0]}", firm.username, d[1], (401,))),
        st.just(login("wrong credentials", "an unknown user with a real password", "nobody@example.com", pw, (401,))),
        st.just(login("wrong credentials", "the other firm's user with our password", other.username, pw, (401,))),
        st.just(login("wrong credentials", "username and password swapped", pw, firm.username, (401,))),
    )
    empty_or_huge = st.one_of(
        st.sampled_from([("", pw), (firm.username, ""), ("", "")]).map(
            lambda d: login("empty or huge", "empty username or password", d[0], d[1], (422,))
        ),
        m.long_text(129, 4000).map(lambda d: login("empty or huge", f"username of {d[0]}", d[1], pw, (422,))),
        m.long_text(257, 4000).map(
            lambda d: login("empty or huge", f"password of {d[0]}", firm.username, d[1], (422,))
        ),
        m.oversized(64 * 1024, wrong).map(lambda d: session("empty or huge", d[0], d[1])),
    )
    non_ascii = st.one_of(
        st.tuples(m.tricky_text(), st.booleans()).map(
            lambda d: login(
                "non-ASCII",
                f"{'username' if d[1] else 'password'} {d[0][:20]!r}",
                d[0] if d[1] else firm.username,
                pw if d[1] else d[0],
                (401, 422),
            )
        ),
        m.lone_surrogate_in(wrong, "password").map(lambda d: session("non-ASCII", d[0], d[1], (401, 422))),
        m.lone_surrogate_in(wrong, "username").map(lambda d: session("non-ASCII", d[0], d[1], (401, 422))),
    )
    return {
        "wrong credentials": credentials,
        "empty or huge": empty_or_huge,
        "non-ASCII": non_ascii,
        **_malformed_or_other_method(path, wrong),
    }


def first_sign_ins(held: Held) -> dict[str, SearchStrategy[Probe]]:
    """``POST /api/session/password`` with sessions Cognito never gave: no guess, replay or garbage gets a token."""
    firm = held.people["firm A"]
    strong = "Chosen-By-Fuzz-2026"
    forged = {"username": firm.username, "session": "AYABeForgedSessionValue", "new_password": strong}
    path = path_of("api", "session", "password")

    def choose(category: str, what: str, body: bytes, expect: tuple[int, ...] = ()) -> Probe:
        return api(category, what, "POST", path, None, body, expect=expect)

    def fields(category: str, what: str, changed: dict[str, Any], expect: tuple[int, ...]) -> Probe:
        return choose(category, what, json.dumps(forged | changed).encode(), expect)

    sessions = st.one_of(
        st.sampled_from(
            [
                ("a UUID", "5f0c2b1e-8d4a-4c1b-9e77-2a3c4d5e6f70"),
                ("the firm's password", firm.password),
                ("the username", firm.username),
                ("a JWT-shaped string", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
                ("one character", "x"),
            ]
        ).map(lambda d: fields("forged sessions", f"session: {d[0]}", {"session": d[1]}, (401, 422))),
        st.text(
            alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=", min_size=8, max_size=900
        ).map(
            lambda text: fields(
                "forged sessions", f"session of {len(text)} random characters", {"session": text}, (401, 422)
            )
        ),
        st.sampled_from(["", "zwak", "a" * 12, "ALLCAPS12345", "nocaps12345x"]).map(
            lambda weak: fields("forged sessions", f"weak password {weak!r}", {"new_password": weak}, (400, 401, 422))
        ),
    )
    empty_or_huge = st.one_of(
        st.sampled_from(["username", "session", "new_password"]).map(
            lambda field: fields("empty or huge", f"empty {field}", {field: ""}, (422,))
        ),
        m.long_text(129, 4000).map(
            lambda d: fields("empty or huge", f"username of {d[0]}", {"username": d[1]}, (422,))
        ),
        m.long_text(2049, 8000).map(lambda d: fields("empty or huge", f"session of {d[0]}", {"session": d[1]}, (422,))),
        m.long_text(257, 4000).map(
            lambda d: fields("empty or huge", f"password of {d[0]}", {"new_password": d[1]}, (422,))
        ),
        m.oversized(64 * 1024, forged).map(lambda d: choose("empty or huge", d[0], d[1])),
    )
    non_ascii = st.one_of(
        st.tuples(m.tricky_text(), st.sampled_from(["username", "session", "new_password"])).map(
            lambda d: fields("non-ASCII", f"{d[1]} {d[0][:20]!r}", {d[1]: d[0]}, (400, 401, 422))
        ),
        m.lone_surrogate_in(forged, "session").map(lambda d: choose("non-ASCII", d[0], d[1], (401, 422))),
    )
    return {
        "forged sessions": sessions,
        "empty or huge": empty_or_huge,
        "non-ASCII": non_ascii,
        **_malformed_or_other_method(path, forged),
    }


def _malformed_or_other_method(path: str, shape: dict[str, Any]) -> dict[str, SearchStrategy[Probe]]:
    """The body families of an anonymous POST of ``shape``, and ``shape`` sent with every other method."""
    return {
        "malformed": st.one_of(*body_families(shape, None).values()).map(
            lambda d: api("malformed", d[0], "POST", path, None, d[1])
        ),
        "method/case": m.other_methods("POST").map(
            lambda d: api("method/case", d[0], d[1], path, None, json.dumps(shape).encode(), expect=(404,))
        ),
    }


def body_families(shape: dict[str, Any], model: type[BaseModel] | None) -> dict[str, SearchStrategy[tuple[str, bytes]]]:
    """``shape`` broken, its fields of the wrong type, keys added, nested deep, huge: never a body ``model`` takes
    (one it takes would be a genuine request, and would change something)."""
    field = next(iter(shape))
    families = {
        "malformed": st.one_of(
            m.broken_json(json.dumps(shape).encode()),
            st.just((f"{field} twice, the second of a wrong type", m.duplicate_key(shape, field, 42))),
        ),
        "wrong types": st.tuples(st.sampled_from(list(shape)), m.wrong_types()).map(
            lambda d: (f"{d[0]}: {d[1][0]}", json.dumps({**shape, d[0]: d[1][1]}).encode())
        ),
        "extra keys": st.sampled_from(["id", "$where", "__proto__", "username", "connection_id", "tenant"]).map(
            lambda key: (f"an extra key {key!r}", json.dumps({**shape, key: "x"}).encode())
        ),
        "deep nesting": m.deep_json(shape),
        "huge": m.oversized(64 * 1024, shape),
    }
    return {name: drawn.filter(lambda d: not _taken(model, d[1])) for name, drawn in families.items()}


def _taken(model: type[BaseModel] | None, body: bytes) -> bool:
    if body.strip() in (b"", b"null"):
        return model is not None  # an optional body left out is a genuine request at a connection's route
    if model is None or len(body) > 1 << 20:
        return False
    try:
        model.model_validate_json(body)
    except (ValidationError, ValueError, RecursionError):
        return False
    return True
