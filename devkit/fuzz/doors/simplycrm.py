"""Simply CRM's door: the "Sync with Billy" button on a CRM record, ``GET /records/{system}/sync``.

``koppel connections button`` hands out one link per kind, ``…/records/simplycrm/sync?connection=…&kind=…&token=…
&record=$RECORD$``, that the CRM opens with the record's id. Each tenant has a CRM of its own connected to its own
Billy organization (billy.py) as in devkit/koppelingen/simplycrm_billy/seed.py; the genuine press on its contact
creates it in Billy and links the two, and the same press again is "in sync" (200), writing nothing.

Promised: a bad or foreign token, or no such connection, one 401; a part missing or no such kind, 400; a record the
CRM does not hold (malformed, injected, long, the contact's id in disguise), 200 ``failed`` in words for the
button's page. No bad press writes to either system: both sandboxes count only their writes (``requests_served``,
which a 2xx must not move) and no DynamoDB row (a link, a ledger row) may change.
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
from devkit.fuzz.world import FuzzConnection
from devkit.sandboxes.simplycrm.sandbox import SimplyCrmSandbox

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn, SearchStrategy
    from werkzeug.wrappers import Request, Response

    from devkit.fuzz.world import World

USER = "koppel"
ROUTE = "GET /records/{system}/sync"
TIMEOUT = 60
WRITES = frozenset({"create", "update", "revise", "delete"})


class CountingCrm(SimplyCrmSandbox):
    """A Simply CRM that counts the webservice calls that write (create, update, revise, delete)."""

    writes = 0

    def handle(self, request: Request) -> Response:
        if str(request.values.get("operation", "")).lower() in WRITES:
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
    gone: tuple[str, str] = ("", "")
    """A disconnected connection of the same CRM, and the token of the button it had."""

    def query(self, **changed: str | None) -> list[tuple[str, str]]:
        """The genuine contact press's query, with parts changed (or left out: None)."""
        record = self.ids["contact"]
        parts = {"connection": self.connection_id, "kind": "contact", "token": self.token, "record": record}
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
            cid = connection.connection_id
            self.buttons[cid] = Button(cid, crm, access_key, _seed(crm, connection.tenant))

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
        """The owner makes the Sync button links (`koppel connections button`) and adds them to the CRM; and a second
        connection of the same CRM gets a button and is then disconnected (its links must die with it)."""
        button = connection.held[self.name] = self.buttons[connection.connection_id]
        button.links, button.token = _links(world, button.connection_id)
        billy = next(vendor for vendor in world.vendors if vendor.name == "billy")
        gone = FuzzConnection(connection.tenant, f"{button.connection_id}-gone", self.name, billy.name)
        options = [*self.connection_options(connection), *billy.connection_options(gone)]
        world.cli("connections", "add", gone.connection_id, "--tenant", gone.tenant, "--source", self.name,
                  "--target", billy.name, *options)  # fmt: skip
        button.gone = (gone.connection_id, _links(world, gone.connection_id)[1])
        world.cli("connections", "disconnect", gone.connection_id)

    def genuine_traffic(self, world: World) -> None:
        """Each tenant presses Sync on its contact: created in Billy and linked; pressed again, it is in sync."""
        for button in self.buttons.values():
            link = button.links["contact"].replace("$RECORD$", button.ids["contact"])
            answers = [requests.get(link, headers={"Accept": "application/json"}, timeout=TIMEOUT) for _ in range(2)]
            said = [answer.text for answer in answers]
            if [answer.json().get("state") if answer.ok else "" for answer in answers] != ["synced", "in sync"]:
                raise RuntimeError(f"the genuine Sync button press on {button.connection_id} answered {said}")

    def secrets(self) -> set[str]:
        """The access keys, the button tokens, and the CRM sessions Koppel holds open (each a credential)."""
        return set().union(*({b.token, b.gone[1], b.access_key, *b.crm.gate.sessions} for b in self.buttons.values()))

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
    """An organization, its contact, a product (the same ids in either tenant's CRM: no probe sends the other's)."""
    account = crm.add_account(f"Fuzz {tenant} Bageri ApS", email1=f"ordre@{tenant}.example", bill_city="Aarhus")
    contact = crm.add_contact(
        "Holm", firstname=f"Mette {tenant}", email=f"mette@{tenant}.example", account_id=account["id"]
    )
    product = crm.add_product(f"Stenovn {tenant}", unit_price="12500.00", product_no=f"OVN-{tenant}")
    return {"organization": str(account["id"]), "contact": str(contact["id"]), "product": str(product["id"])}


def _links(world: World, connection_id: str) -> tuple[dict[str, str], str]:
    """`koppel connections button`: a new link per kind, and their token."""
    printed = world.cli_output("connections", "button", connection_id, "--base-url", world.stack.http_url)
    lines = (line.partition(": ") for line in printed.splitlines() if ": " in line)
    links = {kinds.rstrip("s"): "".join(link.split()) for kinds, _, link in lines}
    return links, dict(parse_qsl(urlsplit(links["contact"]).query))["token"]


# -- the bad presses --------------------------------------------------------------------------------------------------
REPLAY = "the genuine press again: 200 in sync, nothing written"
NO_RECORD = "a press on a record the CRM does not hold: 200 failed, in words for the button's page, nothing written"
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
            lambda d: press(own.query(token=d[1]), "no token", d[0], expect=(401,))
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
        "disconnected": st.sampled_from(sorted(own.ids)).map(lambda kind: gone_press(own, kind)),
        "wrong system": wrong_systems(own),
        "repeated parameters": repeated(own, other),
        "oversized": oversized(own),
        "method/case": st.one_of(
            m.other_methods("GET"), st.sampled_from([("method HEAD", "HEAD"), ("method POST", "POST")])
        ).map(lambda d: press(own.query(), "method/case", d[0], method=d[1], expect=(404, 405))),
    }


def gone_press(own: Button, kind: str) -> Probe:
    """A press that was genuine until its connection was disconnected."""
    pairs = own.query(connection=own.gone[0], token=own.gone[1], kind=kind, record=own.ids[kind])
    return press(pairs, "disconnected", f"the {kind} link of a disconnected connection", expect=(401, 409))


@st.composite
def missing_parts(draw: DrawFn, own: Button) -> Probe:
    gone = draw(st.sets(st.sampled_from(["connection", "kind", "record"]), min_size=1))
    empty = draw(st.booleans())
    changed = dict.fromkeys(gone, "" if empty else None)
    what = f"{'empty' if empty else 'no'} {', '.join(sorted(gone))}"
    if draw(st.integers(0, 9)) == 0:
        what, changed = "the link as handed out, $RECORD$ never filled in", {"record": "$RECORD$"}
        return press(own.query(**changed), "missing parts", what, expect=(200,), may_succeed=NO_RECORD)
    # No connection reads like any refused link (one 401); a missing kind or record is a 400 that says what is missing
    return press(own.query(**changed), "missing parts", what, expect=(401,) if "connection" in gone else (400,))


def unknown_records(own: Button) -> SearchStrategy[tuple[str, str]]:
    """Record ids the CRM does not hold: unknown numbers, another module's records, injected VTQL, hostile or long
    text, and the real contact's id in disguise (leading zeros read as vtiger reads them; non-ASCII digits, padding
    and signs are no id at all)."""
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
    other_kind = [(f"the {k} {i} pressed as a contact", i) for k, i in own.ids.items() if k != "contact"]
    return st.one_of(
        st.integers(1000, 10**12).map(lambda n: (f"unknown contact {prefix}x{n}", f"{prefix}x{n}")),
        st.sampled_from(disguises + other_kind),
        st.sampled_from(INJECTIONS).map(lambda t: (f"injection {t!r}", t)),
        m.tricky_text().map(lambda t: (f"record {t[:20]!r}", t)),
        m.long_text().map(lambda d: (f"record of {d[0]}", d[1])),
        m.non_ascii_digits().map(lambda d: (f"non-ASCII digits {prefix}x{d!r}", f"{prefix}x{d}")),
    )


@st.composite
def wrong_systems(draw: DrawFn, own: Button) -> Probe:
    if draw(st.booleans()):
        what, record = draw(st.sampled_from(sorted((f"the CRM's {k} {i}", i) for k, i in own.ids.items())))
        return press(own.query(record=record), "wrong system", f"at billy: {what}", system="billy",
                     expect=(404,))  # fmt: skip
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
