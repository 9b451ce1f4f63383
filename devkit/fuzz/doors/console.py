"""The console's doors (ManageFunction, functions/manage/app.py): its pages, signing in and the management API.

No vendor: Koppel's own doors, so it takes part in no connection. It lends the world its people instead, made as
an operator makes them (devkit.console_auth.add_user, Cognito in moto): a firm of tenant A, a client of tenant A
(who sees only the connections booked for it) and a firm of tenant B, each signed in for a genuine ID token. It
also parks one of tenant A's booked records again, so a retry that got through where it must not would show as a
change. The bad requests are in devkit/fuzz/console_families.py.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

import requests

from devkit import console_auth
from devkit.fuzz.console_connections import connection_actions, connection_reads
from devkit.fuzz.console_families import Held, Person, first_sign_ins, pages, sign_ins
from devkit.fuzz.console_tokens import tokens
from devkit.fuzz.doors import Door

if TYPE_CHECKING:
    from devkit.fuzz.world import FuzzConnection, World

READS = (
    "GET /api/connections/{connection_id}",
    "GET /api/connections/{connection_id}/history",
    "GET /api/connections/{connection_id}/bookings",
    "GET /api/connections/{connection_id}/mapping/{target}",
)
ACTIONS = (
    "POST /api/connections/{connection_id}/replay",
    "POST /api/connections/{connection_id}/pause",
    "POST /api/connections/{connection_id}/resume",
    "POST /api/connections/{connection_id}/backfill",
    "PUT /api/connections/{connection_id}/mapping/{target}",
    "POST /api/connections/{connection_id}/connect/{system}",
    "POST /api/connections/{connection_id}/disconnect",
)
UNKNOWN = "fuzz-no-such-connection"


class Console:
    name = "console"
    role: Literal["source", "target", "koppel"] = "koppel"

    def __init__(self) -> None:
        self.held: Held | None = None
        self._secrets: set[str] = set()

    def start(self, world: World) -> None:
        """Nothing to start: Cognito and the function are the stack's."""

    def stop(self) -> None: ...

    def connection_options(self, connection: FuzzConnection) -> list[str]:
        return []

    def connected(self, world: World, connection: FuzzConnection) -> None: ...

    def genuine_traffic(self, world: World) -> None:
        """The people signed in, a parked record of tenant A, and what an unknown connection is answered."""
        outputs = world.stack._outputs()
        a = [c for c in world.connections if c.tenant == "A"]
        client = a[0].client
        people = {
            "firm A": ("fuzz-firm-a@example.com", "firm", world.tenant_id("A"), ""),
            "client A": ("fuzz-client-a@example.com", "client", world.tenant_id("A"), client),
            "firm B": ("fuzz-firm-b@example.com", "firm", world.tenant_id("B"), ""),
        }
        signed: dict[str, Person] = {}
        for who, (username, role, tenant, client_key) in people.items():
            password = f"Fuzz-{secrets.token_urlsafe(12)}-9a"
            console_auth.add_user(outputs, username, password, role, tenant=tenant, client=client_key)
            token = console_auth.login(outputs, username, password)
            signed[who] = Person(username, password, token)
            self._secrets |= {password, token}
        _park_a_booked_record(world, a)
        base = world.stack.http_url
        jwks = requests.get(f"{outputs.endpoint_url}/{outputs.console_user_pool_id}/.well-known/jwks.json", timeout=10)
        unknown = requests.get(
            f"{base}/api/connections/{UNKNOWN}",
            timeout=30,
            headers={"Authorization": f"Bearer {signed['firm A'].token}"},
        )
        if unknown.status_code != 404:
            raise RuntimeError(f"an unknown connection was answered {unknown.status_code} {unknown.text}")
        self.held = Held(
            people=signed,
            own=[c for c in a if c.client == client],
            others_client=[c for c in a if c.client != client],
            b=[c for c in world.connections if c.tenant == "B"],
            unknown_error=unknown.json()["error"],
            unknown_id=UNKNOWN,
            jwks=jwks.content,
            issuer=outputs.jwt_authorizers["ConsoleAuthorizer"].issuer,
            audience=outputs.console_client_id,
        )

    def secrets(self) -> set[str]:
        return set(self._secrets)

    def requests_served(self) -> int:
        return 0

    def doors(self, world: World) -> list[Door]:
        if self.held is None:
            raise RuntimeError("the console's people are made in genuine_traffic, before its doors")
        held = self.held
        return [
            Door(
                "console pages",
                "GET /console/{file}",
                pages(),
                one_refusal=None,
                also=("GET /console", "GET /api/openapi.json"),
            ),
            Door("console sign-in", "POST /api/session", sign_ins(held)),
            Door("console first sign-in", "POST /api/session/password", first_sign_ins(held)),
            Door("console token", "GET /api/me", tokens(held), also=("GET /api/connections",)),
            Door("console reads", READS[0], connection_reads(held), also=READS[1:]),
            Door("console actions", ACTIONS[0], connection_actions(held), also=ACTIONS[1:]),
        ]


def vendor() -> Console:
    return Console()


def _park_a_booked_record(world: World, connections: list[FuzzConnection]) -> None:
    """One of tenant A's booked records again as a new parked one (its event given a new id): a retry is then due
    at A, and a retry let through from anyone who may not see A would change it."""
    from koppel import bootstrap
    from koppel.model import HubEnvelope
    from koppel.ports import LedgerEntry
    from koppel.settings import StoreSettings

    ledger = bootstrap.ledger(StoreSettings.load())
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    for connection in connections:
        booked = next((row for row in ledger.entries(connection.connection_id, "POSTED") if row.event_json), None)
        if booked is None:
            continue
        envelope = HubEnvelope.model_validate_json(booked.event_json)
        event = envelope.event.model_copy(update={"event_id": f"{booked.event_id}:fuzz-{uuid.uuid4().hex[:8]}"})
        kept = envelope.model_copy(update={"event": event}).model_dump_json()
        fresh = LedgerEntry.pending(
            connection.connection_id, booked.target, event.event_id, now, now, document_number=booked.document_number
        )
        row = ledger.claim(fresh.model_copy(update={"event_json": kept}), now).entry
        ledger.mark_parked(row, "fuzz: grootboek 8999 bestaat niet", now)
        return
    raise RuntimeError("tenant A has no booked record to park a copy of: the genuine traffic booked nothing")
