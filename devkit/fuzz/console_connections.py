"""The bad requests at the console's connection routes (devkit/fuzz/doors/console.py): reads and actions.

Cross-tenant probes are genuine requests (a body the API takes) from a person who may not see the connection:
each must be a 404 whose ``error`` reads word for word as an unknown connection's. The others come from the firm of
tenant A at its own connection, with one thing wrong, so a 2xx would be a bug and anything changed a finding.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from devkit.fuzz import mutations as m
from devkit.fuzz.console_families import READS, Held, actions, api, body_families, read_paths
from devkit.fuzz.probe import path_of, query_of
from koppel.console_models import BackfillRequest, MappingChange, PauseRequest, RetryRequest

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy
    from pydantic import BaseModel

    from devkit.fuzz.probe import Probe

BODIES: dict[str, tuple[dict[str, Any], type[BaseModel]]] = {
    "replay": ({"event_ids": ["fuzz-no-such-event"]}, RetryRequest),
    "pause": ({"reason": "fuzz"}, PauseRequest),
    "backfill": ({"since": "2024-01-01", "until": "2024-01-02"}, BackfillRequest),
    "mapping": ({"fields": {"no_such_field": "8000"}}, MappingChange),
}
"""The routes that take a body: a shape to break, and the model that must not take what is sent."""
QUERIES: dict[str, tuple[str, list[str]]] = {
    "state": (
        "history",
        [
            "BOOKED",
            "booked ",
            " booked",
            "parked,booked",
            "posted",
            "PARKED",
            "not_bookable",
            "*",
            "booked\x00",
            "bookeď",
        ],
    ),
    "limit": (
        "history",
        [
            "0",
            "501",
            "-1",
            "1.5",
            "1e2",
            "0x10",
            "99999999999999999999999",
            "NaN",
            "Infinity",
            "true",
            "[]",
        ],
    ),
    "since": (
        "history",
        [
            "2024-02-30",
            "2024-13-01",
            "24-01-01",
            "2024/01/01",
            "01-01-2024",
            "yesterday",
            "-1",
            "2024-1-1",
            "+2024-01-01",
            "0000-00-00",
            "2024-01-01T25:00",
        ],
    ),
    "hours": ("bookings", ["0", "169", "-1", "1.5", "1e2", "0x10", "99999999999999999999999", "NaN", "true"]),
}
"""Values of each query parameter that are not what the API documents, and the route that takes it."""


def connection_reads(held: Held) -> dict[str, SearchStrategy[Probe]]:
    firm = held.people["firm A"].token
    known = [c.connection_id for c in held.own + held.others_client + held.b]
    own = st.sampled_from(held.own)

    def unknown(drawn: tuple[tuple[str, str], str]) -> Probe:
        (what, connection_id), read = drawn
        tail = {"": (), "mapping": ("mapping", held.own[0].target)}.get(read, (read,))
        return api("unknown id", what, "GET", path_of("api", "connections", connection_id, *tail), firm, expect=(404,))

    def hostile_query(drawn: tuple[Any, str, str]) -> Probe:
        c, name, value = drawn
        path = path_of("api", "connections", c.connection_id, QUERIES[name][0], query=query_of((name, value)))
        return api("hostile query", f"{name}={value[:30]!r}", "GET", path, firm, expect=(422,))

    values = st.sampled_from(list(QUERIES)).flatmap(
        lambda name: st.tuples(
            st.just(name),
            st.one_of(
                st.sampled_from(QUERIES[name][1]),
                m.non_ascii_digits(),
                m.tricky_text(),
                m.long_text(64, 2000).map(lambda d: d[1]),
            ),
        )
    )
    return {
        "cross-tenant": cross_tenant_reads(held),
        "unknown id": st.tuples(m.unknown_ids(known), st.sampled_from(READS)).map(unknown),
        "hostile query": st.tuples(own, values).map(lambda d: hostile_query((d[0], *d[1]))),
        "hostile target": st.tuples(own, m.unknown_ids([c.target for c in held.own])).map(
            lambda d: api(
                "hostile target",
                d[1][0],
                "GET",
                path_of("api", "connections", d[0].connection_id, "mapping", d[1][1]),
                firm,
                expect=(400, 404, 422),
            )
        ),
        "method/case": st.tuples(own.map(read_paths).flatmap(st.sampled_from), m.other_methods("GET"))
        .filter(lambda d: not (d[0].rsplit("/", 2)[-2] == "mapping" and d[1][1] == "PUT"))
        .map(lambda d: api("method/case", d[1][0], d[1][1], d[0], firm, expect=(404,))),
    }


def connection_actions(held: Held) -> dict[str, SearchStrategy[Probe]]:
    firm, client = held.people["firm A"].token, held.people["client A"].token
    known = [c.connection_id for c in held.own + held.others_client + held.b]
    own = st.sampled_from(held.own)

    def bodies(family: str) -> SearchStrategy[Probe]:
        def at(route: str) -> SearchStrategy[Probe]:
            shape, model = BODIES[route]
            return st.tuples(own, body_families(shape, model)[family]).map(
                lambda d: api(
                    family,
                    f"{route}: {d[1][0]}",
                    *next((a[1], a[2]) for a in actions(d[0]) if a[0] == route),
                    firm,
                    d[1][1],
                )
            )

        return st.sampled_from(list(BODIES)).flatmap(at)

    def client_connects(c: Any) -> SearchStrategy[Probe]:
        base = ("api", "connections", c.connection_id)
        paths = [path_of(*base, "connect", c.target), path_of(*base, "connect", c.source), path_of(*base, "disconnect")]
        return st.sampled_from(paths).map(
            lambda p: api("client connects", "a client's token", "POST", p, client, expect=(403,))
        )

    def unknown_connection(drawn: tuple[tuple[str, str], tuple[str, str, str, bytes]]) -> Probe:
        (what, connection_id), (name, method, path, body) = drawn
        path = path_of("api", "connections", connection_id) + "/" + path.split("/", 4)[4]
        return api("hostile segments", f"{name} at {what}", method, path, firm, body, expect=(404,))

    def wrong_system(drawn: tuple[Any, tuple[str, str]]) -> Probe:
        c, (what, system) = drawn
        path = path_of("api", "connections", c.connection_id, "connect", system)
        return api("hostile segments", f"connect {what}", "POST", path, firm, expect=(400, 404, 422))

    def wrong_target(drawn: tuple[Any, tuple[str, str]]) -> Probe:
        c, (what, target) = drawn
        path = path_of("api", "connections", c.connection_id, "mapping", target)
        return api(
            "hostile segments",
            f"mapping {what}",
            "PUT",
            path,
            firm,
            json.dumps(BODIES["mapping"][0]).encode(),
            expect=(400, 404, 422),
        )

    systems = sorted({name for c in held.own for name in (c.source, c.target)})
    return {
        "cross-tenant": cross_tenant_actions(held),
        "client connects": own.flatmap(client_connects),
        **{family: bodies(family) for family in ("malformed", "wrong types", "extra keys", "deep nesting", "huge")},
        "hostile segments": st.one_of(
            st.tuples(m.unknown_ids(known), own.map(actions).flatmap(st.sampled_from)).map(unknown_connection),
            st.tuples(own, m.unknown_ids(systems).filter(lambda d: d[1] not in systems)).map(wrong_system),
            st.tuples(own, m.unknown_ids(systems).filter(lambda d: d[1] not in systems)).map(wrong_target),
        ),
        "method/case": st.tuples(own.map(actions).flatmap(st.sampled_from), m.other_methods("POST"))
        .filter(lambda d: d[1][1] != d[0][1] and not (d[0][0] == "mapping" and d[1][1] == "GET"))
        .map(lambda d: api("method/case", f"{d[0][0]}: {d[1][0]}", d[1][1], d[0][2], firm, d[0][3], expect=(404,))),
    }


def cross_tenant_reads(held: Held) -> SearchStrategy[Probe]:
    return st.sampled_from(held.unseen()).flatmap(
        lambda pc: st.sampled_from(read_paths(pc[1])).map(
            lambda path: api(
                "cross-tenant",
                f"{pc[0]} reads {pc[1].connection_id}",
                "GET",
                path,
                held.people[pc[0]].token,
                expect=(404,),
                reads_as=held.not_found(pc[1].connection_id),
            )
        )
    )


def cross_tenant_actions(held: Held) -> SearchStrategy[Probe]:
    return st.sampled_from(held.unseen()).flatmap(
        lambda pc: st.sampled_from(actions(pc[1])).map(
            lambda a: api(
                "cross-tenant",
                f"{pc[0]} {a[0]} at {pc[1].connection_id}",
                a[1],
                a[2],
                held.people[pc[0]].token,
                a[3],
                expect=(404,),
                reads_as=held.not_found(pc[1].connection_id),
            )
        )
    )
