"""Simply CRM's door: the "Sync with Billy" button on a CRM record, ``GET /records/{system}/sync``.

``koppel connections button`` hands out one link per synced kind, ``…/records/simplycrm/sync?connection=…&kind=…
&token=…&record=$RECORD$``; the CRM opens it with the record's id. Each tenant has a CRM of its own (a sandbox
each) connected to its own Billy organization (devkit/fuzz/doors/billy.py) as a user connects it
(devkit/koppelingen/simplycrm_billy/seed.py); the genuine press, on a real contact, creates that contact in Billy
and links the two. A press of the same link again is "in sync" (200) and writes nothing.

What a probe must answer: a bad or foreign token, or a connection that is not there, one 401; a part missing or a
kind that is none, a 400; a record the CRM does not hold (malformed, injected, long, a disguise of the real
contact's id), 200 ``failed`` in words, as the button's page tells a person. Whatever it answers, no bad press
writes to either system: both sandboxes count their writes (``requests_served``), and the runner checks that a 2xx
moved neither count and that no DynamoDB row (a link, a ledger row) changed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlsplit

import requests
from hypothesis import strategies as st

from devkit.fuzz import mutations as m
from devkit.fuzz.doors import Door
from devkit.fuzz.doors.snelstart import near_misses
from devkit.fuzz.probe import Probe, path_of, query_of
from devkit.sandboxes.simplycrm.sandbox import SimplyCrmSandbox

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn, SearchStrategy
    from werkzeug.wrappers import Request, Response

    from devkit.fuzz.world import FuzzConnection, World

USER = "koppel"
ROUTE = "GET /records/{system}/sync"
TIMEOUT = 60
NOT_WRITES = frozenset({"login", "logout", "extendsession"})


class CountingCrm(SimplyCrmSandbox):
    """A Simply CRM that counts the webservice calls that write (create, update, revise, delete)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def handle(self, request: Request) -> Response:
        operation = str(request.values.get("operation", "")).lower()
        if request.method == "POST" and operation not in NOT_WRITES:
            self.writes += 1
        return super().handle(request)


@dataclass
class Button:
    """One connection's CRM (a sandbox of its own, seeded) and its Sync button: the links by kind and their token."""

    connection_id: str
    crm: CountingCrm
    access_key: str
    ids: dict[str, str]
    token: str = ""
    links: dict[str, str] = field(default_factory=dict)

    def query(self, **changed: str | None) -> list[tuple[str, str]]:
        """The genuine contact press's query, with parts changed (or left out: None)."""
        parts = {
            "connection": self.connection_id,
            "kind": "contact",
            "token": self.token,
            "record": self.ids["contact"],
        }
        return [(name, value) for name, value in (parts | changed).items() if value is not None]


class SimplyCrm:
    name = "simplycrm"
    role: Literal["source", "target"] = "source"
    pairs_with = "billy"

    def __init__(self) -> None:
        self.buttons: dict[str, Button] = {}
        """Connection id → its CRM and button."""

    def start(self, world: World) -> None:
        for connection in world.of(self.name):
            crm, access_key = CountingCrm(), secrets.token_hex(10)
            crm.start()
            crm.add_user(USER, access_key)
            self.buttons[connection.connection_id] = Button(
                connection.connection_id, crm, access_key, _seed(crm, connection.tenant)
            )

    def stop(self) -> None:
        for button in self.buttons.values():
            button.crm.stop()

    def connection_options(self, connection: FuzzConnection) -> list[str]:
        button = self.buttons[connection.connection_id]
        return [
            "--setting", f"simplycrm.url={button.crm.base_url}", "--setting", "simplycrm.currency=DKK",
            "--secret", f"simplycrm.user_name={USER}", "--secret", f"simplycrm.access_key={button.access_key}",
            "--poll-minutes", "5",
        ]  # fmt: skip

    def connected(self, world: World, connection: FuzzConnection) -> None:
        """The owner makes the Sync button links (`koppel connections button`) and adds them to the CRM."""
        button = connection.held[self.name] = self.buttons[connection.connection_id]
        printed = world.cli_output("connections", "button", button.connection_id, "--base-url", world.stack.http_url)
        for kinds, _, link in (line.partition(": ") for line in printed.splitlines() if ": " in line):
            button.links[kinds.rstrip("s")] = "".join(link.split())
        button.token = dict(parse_qsl(urlsplit(button.links["contact"]).query))["token"]

    def genuine_traffic(self, world: World) -> None:
        """Each tenant presses Sync on its contact: created in Billy and linked; pressed again, it is in sync."""
        for button in self.buttons.values():
            said = [_press(button) for _ in range(2)]
            if said[0].get("state") != "synced" or said[1].get("state") != "in sync":
                raise RuntimeError(f"the genuine Sync button press on {button.connection_id} answered {said}")

    def secrets(self) -> set[str]:
        """The access keys, the button tokens, and the CRM sessions Koppel holds open (each a credential)."""
        return set().union(*({b.token, b.access_key, *b.crm.gate.sessions} for b in self.buttons.values()))

    def requests_served(self) -> int:
        """The webservice calls that wrote to either CRM (a press reads the CRM by design; a write is a change)."""
        return sum(button.crm.writes for button in self.buttons.values())

    def doors(self, world: World) -> list[Door]:
        a, b = (connection.held[self.name] for connection in world.of(self.name)[:2])
        families_a, families_b = bad_presses(a, b), bad_presses(b, a)
        return [Door("records sync button", ROUTE, {name: families_a[name] | families_b[name] for name in families_a})]


def vendor() -> SimplyCrm:
    return SimplyCrm()


def _seed(crm: SimplyCrmSandbox, tenant: str) -> dict[str, str]:
    """An organization with a contact, and a product: what a small CRM holds (the same ids in either tenant's CRM,
    so another tenant's record id names one of our own records: no probe sends one as bad input)."""
    account = crm.add_account(
        f"Fuzz {tenant} Bageri ApS",
        email1=f"ordre@{tenant.lower()}.example",
        bill_city="Aarhus",
        bill_country="Denmark",
    )
    contact = crm.add_contact(
        "Holm", firstname=f"Mette {tenant}", email=f"mette@{tenant.lower()}.example", account_id=account["id"]
    )
    product = crm.add_product(f"Stenovn {tenant}", unit_price="12500.00", product_no=f"OVN-{tenant}")
    return {"organization": str(account["id"]), "contact": str(contact["id"]), "product": str(product["id"])}


def _press(button: Button) -> dict[str, Any]:
    link = button.links["contact"].replace("$RECORD$", button.ids["contact"])
    answer = requests.get(link, headers={"Accept": "application/json"}, timeout=TIMEOUT)
    if answer.status_code != 200:
        raise RuntimeError(f"the genuine Sync button press was refused: {answer.status_code} {answer.text}")
    return dict(answer.json())


# -- the bad presses --------------------------------------------------------------------------------------------------
REPLAY = "the genuine press again: 200 in sync, nothing written"
NO_RECORD = "a press on a record the CRM does not hold: 200 failed, in words for the button's page, nothing written"
OTHER_SIDE = "billy is the connection's other side: a press there on an id Billy lacks is 200 failed, nothing written"
IGNORED = "a genuine press with a part Koppel does not read: 200 in sync, nothing written"
KINDS = ("Contact", "contacts", "CONTACT", "invoice", "organisation", "deal", "contact ", " contact", "contact\x00")
SYSTEMS = ("nosuch", "SIMPLYCRM", "simplycrm ", "pipedrive", "ccvshop", "snelstart", "x" * 64)
INJECTIONS = (
    "1x1' OR '1'='1", "12x1' OR '1'='1", "12x1 OR 1=1", "12x1; DELETE FROM Contacts;", "' OR ''='",
    "12x1' UNION SELECT * FROM Users;--", "12x1\\' OR 1=1 --", '12x1" OR "1"="1', "12x1%27", "12x1 LIMIT 1",
)  # fmt: skip


def press(pairs: list[tuple[str, str]], category: str, what: str, system: str = "simplycrm", **promise: Any) -> Probe:
    """A GET of the door; ``promise``: ``expect``, ``may_succeed``, and ``method`` or ``accept`` when not GET, JSON."""
    expect, accept = frozenset(promise.pop("expect", ())), promise.pop("accept", "application/json")
    headers = (("Accept", accept),) if accept else ()
    path = path_of("records", system, "sync", query=query_of(*pairs))
    return Probe(category, what, promise.pop("method", "GET"), path, headers=headers, expect=expect, **promise)


def bad_presses(own: Button, other: Button) -> dict[str, SearchStrategy[Probe]]:
    refused: dict[str, Any] = {"expect": (401,)}
    no_record: dict[str, Any] = {"expect": (200,), "may_succeed": NO_RECORD}
    in_sync: dict[str, Any] = {"expect": (200,), "may_succeed": REPLAY}
    return {
        "replay": st.sampled_from(["application/json", "text/html", "", "*/*"]).map(
            lambda a: press(own.query(), "replay", f"the genuine press, Accept {a!r}", accept=a, **in_sync)
        ),
        "no token": st.sampled_from([("no token", None), ("empty token", ""), ("token of spaces", "  ")]).map(
            lambda d: press(own.query(token=d[1]), "no token", d[0], expect=(400, 401))
        ),
        "wrong token": st.one_of(
            near_misses(own.token).map(lambda d: (f"our token, {d[0]}", d[1])),
            st.from_regex(r"[A-Za-z0-9_-]{32}", fullmatch=True).map(lambda t: ("a random token of the shape", t)),
            st.just(("their token at our connection", other.token)),
            m.tricky_text().map(lambda t: (f"token {t[:20]!r}", t)),
        ).map(lambda d: press(own.query(token=d[1]), "wrong token", d[0], **refused)),
        "unknown connection": st.one_of(
            m.unknown_ids([own.connection_id]).map(lambda d: own.query(connection=d[1])),
            st.just(own.query(connection=other.connection_id)),
        ).map(lambda q: press(q, "unknown connection", f"connection {dict(q)['connection'][:24]!r}", **refused)),
        "missing parts": missing_parts(own),
        "bad kind": st.one_of(st.sampled_from(KINDS), m.tricky_text()).map(
            lambda k: press(own.query(kind=k), "bad kind", f"kind {k[:20]!r}", expect=(400,))
        ),
        "unknown record": st.tuples(unknown_records(own), st.sampled_from(["application/json", "text/html"])).map(
            lambda d: press(own.query(record=d[0][1]), "unknown record", f"{d[0][0]}, {d[1]}", accept=d[1], **no_record)
        ),
        "wrong system": wrong_systems(own),
        "repeated parameters": repeated(own, other),
        "oversized": oversized(own),
        "method/case": st.one_of(
            m.other_methods("GET"), st.sampled_from([("method HEAD", "HEAD"), ("method POST", "POST")])
        ).map(lambda d: press(own.query(), "method/case", d[0], method=d[1], expect=(404, 405))),
    }


@st.composite
def missing_parts(draw: DrawFn, own: Button) -> Probe:
    gone = draw(st.sets(st.sampled_from(["connection", "kind", "record"]), min_size=1))
    empty = draw(st.booleans())
    changed = dict.fromkeys(gone, "" if empty else None)
    what = f"{'empty' if empty else 'no'} {', '.join(sorted(gone))}"
    if draw(st.integers(0, 9)) == 0:
        what, changed = "the link as handed out, $RECORD$ never filled in", {"record": "$RECORD$"}
        return press(own.query(**changed), "missing parts", what, expect=(200,), may_succeed=NO_RECORD)
    return press(own.query(**changed), "missing parts", what, expect=(400,))


def unknown_records(own: Button) -> SearchStrategy[tuple[str, str]]:
    """Record ids the CRM does not hold: unknown numbers, another module's records, injected VTQL, hostile or long
    text, and the real contact's id in disguise (leading zeros, non-ASCII digits, padding). Only digits ``int()``
    reads follow a prefix: the sandbox's ``retrieve`` answers 500 to ``4x²`` (vtiger refuses such an id), and Koppel
    then answers 503 with the CRM session in its words (see the report)."""
    contact = own.ids["contact"]
    prefix, _, number = contact.partition("x")
    disguises = [
        (f"{contact} with a leading zero", f"{prefix}x0{number}"),
        (f"{contact} with a trailing space", f"{contact} "),
        (f"{contact} with a leading space", f" {contact}"),
        (f"{contact} with an X", f"{prefix}X{number}"),
        (f"{contact} in full-width digits", f"{prefix}x" + "".join(chr(ord(c) + 0xFEE0) for c in number)),
        (f"{contact} in Arabic-Indic digits", f"{prefix}x" + "".join(chr(ord(c) + 0x0630) for c in number)),
        (f"{contact} with a + sign", f"{prefix}x+{number}"),
        (f"{contact} as a float", f"{prefix}x{number}.0"),
        (f"{contact}, a NUL and more", f"{contact}\x00x"),
    ]
    other_kind = [(f"the {kind} {ident} pressed as a contact", ident) for kind, ident in own.ids.items()
                  if kind != "contact"]  # fmt: skip
    return st.one_of(
        st.integers(1000, 10**12).map(lambda n: (f"unknown contact {prefix}x{n}", f"{prefix}x{n}")),
        st.sampled_from(disguises + other_kind),
        st.sampled_from(INJECTIONS).map(lambda t: (f"injection {t!r}", t)),
        m.tricky_text().map(lambda t: (f"record {t[:20]!r}", t)),
        m.long_text().map(lambda d: (f"record of {d[0]}", d[1])),
        m.non_ascii_digits().filter(str.isdecimal).map(lambda d: (f"non-ASCII digits {prefix}x{d!r}", f"{prefix}x{d}")),
    )


@st.composite
def wrong_systems(draw: DrawFn, own: Button) -> Probe:
    if draw(st.booleans()):
        what, record = draw(st.sampled_from(sorted((f"the CRM's {k} {i}", i) for k, i in own.ids.items())))
        return press(own.query(record=record), "wrong system", f"at billy: {what}", system="billy",
                     expect=(200,), may_succeed=OTHER_SIDE)  # fmt: skip
    system = draw(st.one_of(st.sampled_from(SYSTEMS), m.tricky_text()))
    return press(own.query(), "wrong system", f"system {system[:20]!r}", system=system, expect=(400, 404))


@st.composite
def repeated(draw: DrawFn, own: Button, other: Button) -> Probe:
    """A part twice: the gateway joins the values with a comma (payload 2.0), so no join is a genuine value."""
    name = draw(st.sampled_from(["connection", "kind", "token", "record"]))
    genuine = dict(own.query())[name]
    second = draw(st.sampled_from([genuine, {"connection": other.connection_id, "kind": "product",
                                             "token": other.token, "record": "12x999999"}[name]]))  # fmt: skip
    first, last = (genuine, second) if draw(st.booleans()) else (second, genuine)
    pairs = [pair for pair in own.query() if pair[0] != name] + [(name, first), (name, last)]
    expect: dict[str, dict[str, Any]] = {"connection": {"expect": (401,)}, "token": {"expect": (401,)}}
    outcome = expect.get(name, {"expect": (400,)} if name == "kind" else {"expect": (200,), "may_succeed": NO_RECORD})
    return press(pairs, "repeated parameters", f"{name} twice", **outcome)


@st.composite
def oversized(draw: DrawFn, own: Button) -> Probe:
    name = draw(st.sampled_from(["connection", "kind", "token", "record", "padding"]))
    size, text = draw(m.long_text())
    if name == "padding":
        pairs = [*own.query(), ("padding", text)]
        return press(pairs, "oversized", f"genuine, padded with {size}", expect=(200,), may_succeed=IGNORED)
    if name == "record":
        return press(own.query(record=text), "oversized", f"record of {size}", expect=(200,), may_succeed=NO_RECORD)
    return press(own.query(**{name: text}), "oversized", f"{name} of {size}", expect={"kind": (400,)}.get(name, (401,)))
