"""What the conformance tests need from a vendor, and nothing else: a harness per vendor starts its sandbox, builds
the connector as a connection would, reads back what the vendor holds and injects the vendor's faults.

The tests only speak to these two classes, so they stay free of any vendor; a new vendor writes a subclass in a
module of its own and adds it to ``tests/conformance/vendors.py``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from koppel import connectors
from koppel.adapters.memory import MemoryConnectionStore
from koppel.connectors import ConnectorContext
from koppel.connectors.contract import ChartSync
from koppel.http import session_for
from koppel.model import Connection

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from werkzeug.wrappers import Request, Response

    from devkit.sandboxes.kit.server import FaultPlan, Sandbox
    from koppel.ports import Source, Target
    from tests.conformance.documents import Case

TIMEOUT = 0.5
"""Seconds the connectors wait for an answer here: a hang of HANG seconds is a timeout, quickly."""
HANG = 1.5


@dataclass(frozen=True)
class Seen:
    """One request as the sandbox received it, body bytes as they came over the wire."""

    method: str
    path: str
    body: bytes

    def numbers(self) -> list[str]:
        """Every JSON number of the body, in the digits that were sent."""
        found: list[str] = []

        def keep(text: str) -> str:
            found.append(text)
            return text

        json.loads(self.body or b"null", parse_float=keep, parse_int=keep)
        return found


class Recorder:
    """Keeps every request a sandbox handles (faults answered before that are not requests it handled)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.seen: list[Seen] = []
        inner = sandbox.handle

        def handle(request: Request) -> Response:
            self.seen.append(Seen(request.method, request.path, request.get_data()))
            return inner(request)

        sandbox.handle = handle  # type: ignore[method-assign]

    def count(self, method: str, path: str) -> int:
        return sum(1 for s in self.seen if s.method == method and s.path == path)


@dataclass(frozen=True)
class Booked:
    """One document as the vendor holds it: its total, net and VAT per rate (rates without any left out), and what
    was booked as paid on it."""

    number: str
    total: Decimal
    net: dict[Decimal, Decimal]
    vat: dict[Decimal, Decimal]
    paid: Decimal = Decimal(0)
    party: str = ""
    """The customer's or supplier's name as the vendor holds it (read for purchases, where a number repeats)."""
    due_date: date | None = None


def non_zero(amounts: Mapping[Decimal, Decimal]) -> dict[Decimal, Decimal]:
    return {rate: amount for rate, amount in amounts.items() if amount != 0}


class Harness(ABC):
    """A vendor's sandbox served on loopback for the whole session, fresh data for every test."""

    name: ClassVar[str]
    gaps: ClassVar[Mapping[str, str]] = {}
    """Conformance tests this vendor is known to fail → why, and what would fix it (run as strict xfail)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.recorder = Recorder(sandbox)
        self.store = MemoryConnectionStore()
        self._started = False

    def start(self) -> None:
        if not self._started:
            self.sandbox.start()
            self._started = True

    def stop(self) -> None:
        if self._started:
            self.sandbox.stop()
            self._started = False

    def reset(self) -> None:
        """A fresh account at the vendor, no faults, nothing recorded, no cached token."""
        self.sandbox.reset()
        self.recorder.seen.clear()
        self.store = MemoryConnectionStore()
        self.fresh_account()

    @abstractmethod
    def fresh_account(self) -> None:
        """Open the account this test's connection uses (the sandbox was just reset)."""

    @property
    def faults(self) -> FaultPlan:
        return self.sandbox.faults

    def context(
        self, connection: Connection, settings: Mapping[str, Any], secrets: Mapping[str, str]
    ) -> ConnectorContext:
        return ConnectorContext(
            connection=connection,
            settings=dict(settings),
            secrets=dict(secrets),
            session=session_for(retries=0, timeout=(TIMEOUT, TIMEOUT)),
            store=self.store,
            partner_secret=self.partner_secret,
        )

    def partner_secret(self) -> Mapping[str, str]:
        """Koppel's own application credentials at this vendor."""
        return {}


class TargetHarness(Harness):
    """An accounting package: books what deliver sends, and is read back here."""

    refuses: ClassVar[Mapping[str, str]] = {}
    """Canonical cases the vendor cannot take → a regex of the connector's refusal (say why, beside it)."""
    takes_payments: ClassVar[bool] = True
    """Whether payments made on the spot are booked with the document (else they are left to the bank feed)."""
    max_decimals: ClassVar[int] = 2
    booking_path: ClassVar[str]
    """Where bookings are POSTed: the requests whose amounts are checked digit by digit."""
    other_booking_paths: ClassVar[tuple[str, ...]] = ()
    """Where else a booking may be POSTed (QuickBooks' credit notes go to /creditmemo)."""
    token_path: ClassVar[str]
    """Where an access token is fetched (POST)."""

    def connection(self) -> Connection:
        return Connection(
            connection_id="conformance",
            tenant_id="conformance",
            source="conformance",
            targets=(self.name,),
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
        )

    def target(self) -> Target:
        """The connector's target as deliver gets it: built from the connection's settings, after the connect step
        synced what it syncs (the chart of accounts)."""
        descriptor = connectors.load(self.name)
        assert descriptor.build_target is not None
        connection = self.connection()
        settings = self.settings()
        built = descriptor.build_target(self.context(connection, settings, self.secrets()))
        if isinstance(built, ChartSync):
            settings = {**settings, **built.after_connect()}
            built = descriptor.build_target(self.context(connection, settings, self.secrets()))
        return built  # type: ignore[no-any-return]

    def tokens_fetched(self) -> int:
        return self.recorder.count("POST", self.token_path)

    @abstractmethod
    def settings(self) -> dict[str, Any]: ...

    @abstractmethod
    def secrets(self) -> dict[str, str]: ...

    @abstractmethod
    def booked(self, number: str) -> list[Booked]:
        """Every document the vendor holds under this invoice number (more than one is a double booking)."""

    @abstractmethod
    def book_by_hand(self, case: Case) -> None:
        """Book the case in the vendor's own screens (not through Koppel), under its invoice number."""

    @abstractmethod
    def break_revenue_ledger(self) -> str:
        """Make the vendor refuse the next booking on the 21 % revenue ledger; returns a regex of its refusal."""

    @abstractmethod
    def revoke_tokens(self) -> None:
        """The vendor forgets every access token it handed out (a 401 for the next call that uses one)."""

    @abstractmethod
    def refuse_every_token(self) -> None:
        """Every token the vendor hands out from now on is refused (already expired when it is used)."""

    # -- purchases: only for a target whose descriptor claims ``purchase_booking`` ------------------------------------
    purchase_refuses: ClassVar[Mapping[str, str]] = {}
    """Purchase cases (tests/conformance/purchases.py) the vendor cannot take → a regex of the refusal."""

    def purchased(self, number: str) -> list[Booked]:
        """Every purchase the vendor holds under this supplier's invoice number, with its supplier's name."""
        raise NotImplementedError(f"{self.name} claims purchase_booking: its harness must read purchases back")

    def suppliers(self) -> list[str]:
        """The names of every supplier (creditor, vendor) the account holds."""
        raise NotImplementedError(f"{self.name} claims purchase_booking: its harness must list suppliers")

    def attachments(self, number: str) -> list[str]:
        """The file names attached to the purchase booked under this supplier's invoice number."""
        raise NotImplementedError(f"{self.name} claims attachments: its harness must list attached files")


class SourceHarness(Harness):
    """A shop or till: records are placed in its sandbox and read through the connector."""

    def connection(self) -> Connection:
        """The connection, its source's credentials stored as connecting stores them (status reads them)."""
        self.store.put_secrets("conformance", self.name, self.secrets())
        return Connection(
            connection_id="conformance",
            tenant_id="conformance",
            source=self.name,
            targets=("books",),
            created_at=datetime.now(UTC) - timedelta(hours=1),
            source_settings=self.settings(),
        )

    def source(self, connection: Connection) -> Source:
        descriptor = connectors.load(self.name)
        assert descriptor.build_source is not None
        return descriptor.build_source(self.context(connection, connection.source_settings, self.secrets()))

    def source_for(self) -> Callable[[Connection], Source]:
        return self.source

    @abstractmethod
    def settings(self) -> dict[str, Any]: ...

    @abstractmethod
    def secrets(self) -> dict[str, str]: ...

    @abstractmethod
    def add_bookable(self) -> str:
        """Place a record that is to be booked; returns its record id as the connector's poll names it."""

    @abstractmethod
    def change_unimportant(self, record_id: str) -> None:
        """Change the record in a way that does not change what is booked (a note, a track-and-trace code)."""

    @abstractmethod
    def add_unreadable(self) -> str:
        """Place a record that should be booked but cannot be read into Koppel's model; returns its record id."""

    @abstractmethod
    def repair(self, record_id: str) -> None:
        """Correct the unreadable record in the source, as the shop owner would."""

    @abstractmethod
    def refuse_credentials(self) -> None:
        """The vendor no longer accepts the connection's stored credentials (revoked, or changed there)."""

    def webhook(self, record_id: str) -> tuple[Mapping[str, str], bytes, str] | None:
        """The webhook the vendor sent about the record (headers, body, the address it went to); None for a source
        that sends none."""
        return None
