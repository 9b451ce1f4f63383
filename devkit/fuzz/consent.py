"""An OAuth consent's return door, for every vendor whose owner consents on the vendor's page (QuickBooks Online,
Pipedrive): ``GET /connect/{system}/callback?state=…&code=…`` (``realmId`` for QuickBooks, ``error`` for a denial).

Each tenant consents for real before the fuzz (start link → the sandbox's consent page → Koppel's callback): its
state and code are then used up. It also holds a start link never opened and a consent started but never returned,
whose state is pending: both must stay usable, so the fuzz sends near misses of the pending state and never the
state itself (Koppel uses a state up whatever the return carries, by design). What needs a pending state of its
own (a denied consent, a return without a code or with a bad one) gets a fresh one, made while the probe is drawn,
the way the owner makes one (``koppel connections activate``, the start link opened); the return uses it up again,
so the tables end as they began.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from hypothesis import strategies as st

from devkit.fuzz import mutations as m
from devkit.fuzz.doors.snelstart import TOKEN, near_misses
from devkit.fuzz.probe import Probe, path_of, query_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from hypothesis.strategies import DrawFn, SearchStrategy

    from devkit.fuzz.world import FuzzConnection, World

TIMEOUT = 30
NOT_OAUTH = ("snelstart", "ccvshop", "eboekhouden", "QUICKBOOKS", "Pipedrive", "quickbooks ", "x" * 64)
"""Targets of the return path that have no OAuth consent (or are no system at all): a 404, no state is read."""
MAX_CODE = 2048


@dataclass
class Consent:
    """One tenant's consent to one system, as the fuzz keeps it."""

    system: str
    connection_id: str
    used_state: str
    """The state of the consent that connected it: used up."""
    used_return: str
    """The query the consent page sent the owner back with (code, state, realmId): used up."""
    unused_link: str
    """A start link issued and never opened: must stay usable."""
    pending_state: str
    """The state of a consent started and never returned: must stay usable."""
    fresh: Callable[[], str]
    """A new pending state, the way the owner makes one (used up by the probe that carries it)."""

    @property
    def used_code(self) -> str:
        return parse_qs(self.used_return)["code"][0]

    def secrets(self) -> set[str]:
        return {self.used_state, self.used_code, self.unused_link, self.pending_state}


def partner_secret(world: World, system: str, values: dict[str, str]) -> None:
    """Koppel's app at the vendor (``koppel/<stage>/partner/<system>``), as the operator stores it."""
    prefix = world.stack._outputs().partner_secret_prefix
    world.stack.client("secretsmanager").put_secret_value(SecretId=f"{prefix}{system}", SecretString=json.dumps(values))


def settings(system: str, values: dict[str, str]) -> list[str]:
    """``--setting system.name=value`` for each value, for ``koppel connections add``."""
    return [option for name, value in values.items() for option in ("--setting", f"{system}.{name}={value}")]


def consent(
    world: World, connection: FuzzConnection, system: str, *, page_query: dict[str, str] | None = None
) -> Consent:
    """Consent as the owner does, then leave one start link unopened and one consent pending."""
    used_link = world.cli_output("connections", "activate", connection.connection_id, system)
    state, page = _open(used_link, system)
    if page_query:
        page += "&" + urlencode(page_query)
    answer = requests.get(page, allow_redirects=False, timeout=TIMEOUT)
    if answer.status_code not in (302, 303):
        raise RuntimeError(f"the {system} consent page did not send the owner back: {answer.status_code}")
    back = answer.headers["Location"]
    done = requests.get(back, allow_redirects=False, timeout=TIMEOUT)
    if done.status_code != 302:
        raise RuntimeError(f"a genuine {system} consent was refused: {done.status_code} {done.text[:300]}")
    unused = world.cli_output("connections", "activate", connection.connection_id, system)

    def fresh() -> str:
        return _open(world.cli_output("connections", "activate", connection.connection_id, system), system)[0]

    return Consent(system, connection.connection_id, state, urlsplit(back).query, _token(unused), fresh(), fresh)


def _open(start_link: str, system: str) -> tuple[str, str]:
    """Open a start link: the state it handed the vendor, and the vendor's consent page it sends the owner to."""
    answer = requests.get(start_link, allow_redirects=False, timeout=TIMEOUT)
    if answer.status_code != 302:
        raise RuntimeError(f"a genuine {system} start link was refused: {answer.status_code} {answer.text[:300]}")
    location = answer.headers["Location"]
    return parse_qs(urlsplit(location).query)["state"][0], location


def _token(start_link: str) -> str:
    return parse_qs(urlsplit(start_link).query)["token"][0]


# -- the bad returns ----------------------------------------------------------------------------------------------
FRESH = "fresh-state-made-when-sent"
"""Stands in a probe's query for a fresh pending state, made just before the probe is sent."""


def with_fresh_state(probe: Probe, own: Consent) -> Probe:
    return replace(probe, when_sent=lambda p: replace(p, path=p.path.replace(FRESH, own.fresh(), 1), when_sent=None))


def returned(
    system: str, query: str, category: str, what: str, *, expect: tuple[int, ...] = (401,), target: str = ""
) -> Probe:
    path = path_of("connect", target or system, "callback", query=query)
    return Probe(category, what, "GET", path, expect=frozenset(expect))


def bad_returns(own: Consent, other: Consent, other_system: Consent) -> dict[str, SearchStrategy[Probe]]:
    """Returns at ``own.system``'s door that are missing their state, replayed, near misses of the pending one,
    another tenant's or another system's, denied, malformed, oversized or non-ASCII, at another target or with
    another method; ``other`` is the other tenant's consent to the same system, ``other_system`` this tenant's
    consent to the other OAuth system."""
    system, code = own.system, own.used_code
    extra = {k: v[0] for k, v in parse_qs(own.used_return).items() if k not in ("state", "code")}  # realmId

    def with_state(state: str, **more: str) -> str:
        return query_of(("state", state), *({"code": code, **extra, **more}).items())

    no_state = [
        ("no query", ""),
        ("a code and no state", query_of(("code", code), *extra.items())),
        ("empty state", query_of(("state", ""), ("code", code))),
        ("bare state", f"state&code={code}"),
        ("a start link's token= instead of state", query_of(("token", own.unused_link), ("code", code))),
    ]
    cross = [
        ("the other tenant's used state", with_state(other.used_state)),
        ("the other tenant's return, whole", other.used_return),
        (f"our {other_system.system} return at {system}", other_system.used_return),
        (f"our used {other_system.system} state", with_state(other_system.used_state)),
        ("our used state with the other tenant's code", with_state(own.used_state, code=other.used_code)),
        ("our unused start link as the state", with_state(own.unused_link)),
        ("their unused start link as the state", with_state(other.unused_link)),
    ]
    return {
        "no state": st.sampled_from(no_state).map(lambda d: returned(system, d[1], "no state", d[0])),
        "replay": st.sampled_from(
            [
                ("the genuine return, again", own.used_return),
                ("the used state with a new code", with_state(own.used_state, code="fuzz-code")),
            ]
        ).map(lambda d: returned(system, d[1], "replay", d[0])),
        "wrong state": st.one_of(
            near_misses(own.pending_state).map(lambda d: (f"the pending state, {d[0]}", d[1])),
            near_misses(own.used_state).map(lambda d: (f"the used state, {d[0]}", d[1])),
            st.from_regex(TOKEN, fullmatch=True).map(lambda t: ("a random state of the right shape", t)),
            st.from_regex(r"[A-Za-z0-9_-]{32,128}", fullmatch=True).map(lambda t: (f"a random state of {len(t)}", t)),
        ).map(lambda d: returned(system, with_state(d[1]), "wrong state", d[0])),
        "malformed state": st.one_of(
            st.from_regex(r"[A-Za-z0-9_-]{1,31}", fullmatch=True).map(lambda t: (f"state of {len(t)}", with_state(t))),
            st.from_regex(r"[A-Za-z0-9_-]{129,400}", fullmatch=True).map(
                lambda t: (f"state of {len(t)}", with_state(t))
            ),
            st.tuples(st.integers(0, 30), st.sampled_from("+/=.~ %:,")).map(
                lambda d: (
                    f"the pending state with {d[1]!r} at {d[0]}",
                    with_state(own.pending_state[: d[0]] + d[1] + own.pending_state[d[0] + 1 :]),
                )
            ),
            st.just(("state twice", f"{with_state(own.pending_state[::-1])}&state={own.pending_state[::-1]}")),
        ).map(lambda d: returned(system, d[1], "malformed state", d[0])),
        "code": fresh_returns(own, code, extra),
        "denied consent": denied(own, extra),
        "cross-tenant": st.sampled_from(cross).map(lambda d: returned(system, d[1], "cross-tenant", d[0])),
        "non-ASCII": st.one_of(
            m.tricky_text().map(lambda t: (f"state {t[:20]!r}", with_state(t))),
            m.tricky_text().map(lambda t: (f"the pending state + {t[:10]!r}", with_state(own.pending_state + t))),
            m.tricky_text().map(lambda t: (f"used state, code {t[:20]!r}", with_state(own.used_state, code=t))),
        ).map(lambda d: returned(system, d[1], "non-ASCII", d[0])),
        "oversized": st.one_of(
            m.long_text().map(lambda d: (f"state of {d[0]}", with_state(d[1]))),
            m.long_text(MAX_CODE + 1).map(
                lambda d: (f"used state, code of {d[0]}", with_state(own.used_state, code=d[1]))
            ),
            m.long_text().map(
                lambda d: (
                    f"used state, error_description of {d[0]}",
                    with_state(own.used_state, error="access_denied", error_description=d[1]),
                )
            ),
        ).map(lambda d: returned(system, d[1], "oversized", d[0])),
        "wrong target": st.one_of(st.sampled_from(NOT_OAUTH), m.tricky_text()).map(
            lambda t: returned(
                system,
                with_state(own.pending_state[::-1]),
                "wrong target",
                f"target {t!r}",
                expect=(400, 404),
                target=t,
            )
        ),
        "method/case": m.other_methods("GET").map(
            lambda d: replace(
                returned(system, own.used_return, "method/case", d[0], expect=(400, 401, 404, 405, 413)), method=d[1]
            )
        ),
    }


@st.composite
def fresh_returns(draw: DrawFn, own: Consent, code: str, extra: dict[str, str]) -> Probe:
    """A return whose state is pending (a fresh consent) but whose code is missing, too long, used or made up:
    refused, and the state is used up with it (single use)."""
    what, value = draw(
        st.one_of(
            st.sampled_from([("no code", None), ("an empty code", "")]),
            st.just((f"a code of {MAX_CODE + 1} characters", "c" * (MAX_CODE + 1))),
            st.tuples(m.sized(MAX_CODE + 1, m.MAX_URL_PART), st.sampled_from("a9-_")).map(
                lambda d: (f"a code of {d[0]} × {d[1]!r}", d[1] * d[0])
            ),  # ASCII: a request line that the gateway refuses would never use the fresh state up
        )
    )
    expect = (400,)
    if draw(st.integers(0, 2)) == 0:
        what, value = draw(
            st.one_of(
                st.just(("the used code", code)),
                st.from_regex(r"[A-Za-z0-9_-]{20,60}", fullmatch=True).map(lambda t: ("a made-up code", t)),
                m.tricky_text().map(lambda t: (f"code {t[:20]!r}", t)),
            )
        )
        expect = (400, 401, 403, 422)  # the vendor refuses the code: Koppel says so, and stores nothing
    pairs = [("state", FRESH), *(() if value is None else (("code", value),)), *extra.items()]
    probe = returned(own.system, query_of(*pairs), "code", f"a fresh consent's return with {what}", expect=expect)
    return with_fresh_state(probe, own)


@st.composite
def denied(draw: DrawFn, own: Consent, extra: dict[str, str]) -> Probe:
    """The owner said no on the consent page: a 403 that says so (the state is used up); with a state that is not
    pending, the state's 401 comes first."""
    error = draw(st.sampled_from(["access_denied", "consent_required", "server_error", "ACCESS_DENIED"]))
    description = draw(st.one_of(st.just(""), st.just("User denied access"), m.tricky_text()))
    pending = draw(st.integers(0, 2)) > 0
    state = FRESH if pending else draw(st.sampled_from([own.used_state, own.pending_state[::-1]]))
    pairs = [("state", state), ("error", error), *((("error_description", description),) if description else ())]
    what = f"{error} {description[:20]!r} with {'a fresh pending' if pending else 'a used or unknown'} state"
    probe = returned(
        own.system, query_of(*pairs, *extra.items()), "denied consent", what, expect=(403,) if pending else (401,)
    )
    return with_fresh_state(probe, own) if pending else probe
