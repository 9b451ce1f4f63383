"""`make chaos KOPPELING=banqup_<target>`: an accounting firm's clients' Banqup documents booked into their
accounting package through seeded faults, and what is paid there carried back to Banqup.

Several client spaces, each connected to its own books in the target (``Target.connect``), receive documents in
batches on the shared runner (devkit.chaos.runner; the workload is ``workload.DocumentMaker``): UBL and scanned
invoices, credit notes, receipts, bank statements, sales invoices, unreadable scans and foreign VAT. After each
batch a scheduled poll; half-way a payment wave pays purchases in the target, in full or in part; at the end,
polls until nothing changes. Meanwhile, from one seeded generator:

- the target answers 503, 429 with Retry-After 1, slowly, or stores and then hangs past the read timeout;
- Banqup's API answers 503 or 429 (the poll's job comes back and reads the window again), every token expires
  before some requests (the shared token is renewed once on the 401), and some download addresses are signed
  already expired (the storage host refuses them; the file is read again for a fresh one);
- the poll publishes some documents twice (a duplicate delivery), and the runner kills deliver workers (the
  target's and Banqup's write-back) between the vendor's commit and the ledger update.

A target plugs in with a ``Target`` (``banqup_<target>/chaos.py``): its sandbox, how a space is connected, what
its books hold (``Booking``), and how a person pays a purchase there.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, cast

from devkit.chaos.faults import ChaosFaultPlan, TargetFaults
from devkit.chaos.runner import POLL, ChaosConfig, ChaosRun, play
from devkit.koppelingen import WithSandboxes
from devkit.koppelingen.banqup.chaos_faults import BanqupFaults
from devkit.koppelingen.banqup.chaos_report import BanqupChaosReport, Booking, FinalState, figures
from devkit.koppelingen.banqup.seed import client_space, firm_app
from devkit.koppelingen.banqup.ubl import Company
from devkit.koppelingen.banqup.workload import DocumentMaker, Planned
from devkit.sandboxes.banqup.sandbox import BanqupSandbox

if TYPE_CHECKING:
    from collections.abc import Callable

    from devkit.chaos.consumers import Consumers
    from devkit.koppelingen.banqup.seed import ClientSpace
    from devkit.koppelingen.banqup.workload import Country
    from devkit.local import LocalStack
    from devkit.sandboxes.kit.server import Sandbox

WRITE_BACK = "DeliverBanqupFunction"
BANQUP_API = ("/oauth2/", "/entitystore/", "/datastore/")
TARGET_FAULTS = TargetFaults(latency=0.005)
CLIENTS = ("Bakkerij De Korenaar", "Fietsenmaker De Spaak", "Drukkerij Peeters", "Kapsalon Knip", "Café Het Hoekje")
ENV = {"CONNECTION_CACHE_SECONDS": "0", "TARGET_SYNC_MINUTES": "0", "POLL_OVERLAP_MINUTES": "1"}
"""Every poll reads payments back, and a poll re-reads a minute before its watermark (documents carry real time)."""


class Target(ABC):
    """What a chaos run needs of one accounting package."""

    name: ClassVar[str]
    title: ClassVar[str]
    deliver: ClassVar[str]
    api: ClassVar[tuple[str, ...]]
    """The API's path prefixes (faults apply there, never on the sandbox's control routes)."""
    country: ClassVar[Country]
    takes_files: ClassVar[bool] = True

    @abstractmethod
    def sandbox(self) -> Sandbox: ...

    @abstractmethod
    def connect(self, stack: LocalStack, banqup: BanqupSandbox, space: ClientSpace, connection: str) -> Any:
        """Connect the space to the client's books as the firm does (devkit.koppelingen.banqup.seed); returns what
        reads those books (a key, a token, a realm)."""

    @abstractmethod
    def bookings(self, books: Any) -> list[Booking]: ...

    @abstractmethod
    def duplicates(self, books: Any) -> list[str]: ...

    @abstractmethod
    def pay(self, books: Any, booking: Booking, amount: Decimal) -> None:
        """A person pays (part of) a booked purchase in the target, as its own screens would."""


def connection(index: int) -> str:
    return f"banqup-chaos-{index}"


class BanqupWorld(WithSandboxes):
    def __init__(self, target: Target) -> None:
        self.banqup = BanqupSandbox()
        self.books = target.sandbox()

    def sandboxes(self) -> tuple[Sandbox, ...]:
        return (self.banqup, self.books)


@dataclass(frozen=True, kw_only=True)
class BanqupChaosConfig(ChaosConfig):
    size: int = 150
    batch_size: int = 50
    kill_rate: float = 0.03
    drain_timeout: float = 240.0
    spaces: int = 3
    target: TargetFaults = TARGET_FAULTS
    banqup_error_rate: float = 0.02
    banqup_throttle_rate: float = 0.015
    token_expiry_rate: float = 0.03
    """Share of Banqup API requests before which every token the firm holds expires."""
    expired_url_rate: float = 0.03
    """Share of download addresses signed already expired."""
    duplicate_rate: float = 0.05
    """Share of the poll's documents published twice."""
    paid_share: float = 0.5


class BanqupChaosRun(ChaosRun):
    UNIT = "documents"
    DRAINED_HERE = (POLL, WRITE_BACK)
    TARGET: ClassVar[Target]
    config: BanqupChaosConfig
    world: BanqupWorld

    def __init__(self, stack: LocalStack, world: BanqupWorld, config: ChaosConfig, say: Callable[[str], None]) -> None:
        super().__init__(stack, world, config, say)
        self.target_plan = self.config.target.plan(self.seed(), self.TARGET.api)
        self.banqup_plan = ChaosFaultPlan(seed=self.seed())
        c = self.config
        self.banqup_faults = BanqupFaults(self.seed(), c.token_expiry_rate, c.expired_url_rate, c.duplicate_rate)
        self.payments = random.Random(self.seed())
        self.books: dict[str, Any] = {}
        """Space id → what reads its books in the target."""
        self.spaces: dict[str, Company] = {}
        self.maker: DocumentMaker | None = None
        self.paid: dict[str, Decimal] = {}
        """File id → what was paid in the target."""
        self.wave: dict[str, int] = {}

    @classmethod
    def env(cls, config: ChaosConfig) -> dict[str, str]:
        return ENV

    @classmethod
    def open_world(cls, stack: LocalStack) -> BanqupWorld:
        return BanqupWorld(cls.TARGET)

    def connect(self) -> None:
        banqup = self.world.banqup
        firm = firm_app(banqup)
        country = self.TARGET.country.code
        for index, name in enumerate(CLIENTS[: self.config.spaces], start=1):
            space = client_space(banqup, firm, name)
            vat = f"{country}00{index}2345678" + ("B01" if country == "NL" else "")
            self.spaces[space.space_id] = Company(name, country, vat_number=vat, registration=f"5678{index}234")
            self.books[space.space_id] = self.TARGET.connect(self.stack, banqup, space, connection(index))
        self.maker = DocumentMaker(banqup, self.spaces, self.TARGET.country, self.seed(), datetime.now(UTC).date())
        self.say(f"{len(self.spaces)} client spaces connected to {self.TARGET.title}, each to its own books")

    def unleash(self) -> None:
        self.start_containers()
        c = self.config
        self.world.books.faults = self.target_plan
        self.banqup_plan.update({"applies_to": BANQUP_API, "error_rate": c.banqup_error_rate,
                                 "throttle_rate": c.banqup_throttle_rate, "retry_after": 1})  # fmt: skip
        self.world.banqup.faults = self.banqup_plan
        self.banqup_faults.on(self.world.banqup)
        self.duplicating = self.banqup_faults.publishing_twice()
        self.duplicating.__enter__()

    # -- the workload -----------------------------------------------------------------------------------------------
    def batch(self, index: int, size: int, batches: int) -> None:
        assert self.maker is not None
        self.maker.batch(size, datetime.now(UTC) - timedelta(seconds=1, milliseconds=size))
        self.made = len(self.maker.made.planned)
        self.poll()

    def after_batch(self, index: int, batches: int, consumers: Consumers) -> None:
        if index == max(1, batches // 2):
            self.wait_until(self.empty, consumers)
            self.pay_wave()

    def finish(self, consumers: Consumers) -> bool:
        self.say("every document placed: polling until nothing changes, then draining every queue")
        drained = self.settle(consumers)
        self.duplicating.__exit__(None, None, None)
        return drained

    def activity(self) -> tuple[int, int, int]:
        rows = sum(len(self.ledger().entries(connection(i))) for i in range(1, len(self.spaces) + 1))
        booked = sum(len(self.TARGET.bookings(books)) for books in self.books.values())
        return rows, booked, len(self.world.banqup.paid_marks())

    def pay_wave(self) -> None:
        """A share of the purchase invoices booked so far is paid in the target: in full, or a part of it."""
        assert self.maker is not None
        by_number = {(p.space, p.number): p for p in self.maker.made.planned if p.outcome == "booked"}
        candidates: list[tuple[str, Booking, Planned]] = []
        for space, books in self.books.items():
            for booking in self.TARGET.bookings(books):
                planned = by_number.get((space, booking.number))
                if planned and planned.kind in ("purchase invoice (UBL)", "purchase invoice (PDF)"):
                    candidates.append((space, booking, planned))
        chosen = self.payments.sample(candidates, round(len(candidates) * self.config.paid_share))
        for space, booking, planned in chosen:
            full = self.payments.random() < 0.5
            amount = (
                planned.total
                if full
                else (planned.total * self.payments.randint(10, 90) / 100).quantize(Decimal("0.01"))
            )
            self.TARGET.pay(self.books[space], booking, amount)
            self.paid[planned.file_id] = amount
            kind = "paid in full" if full else "paid in part"
            self.wave[kind] = self.wave.get(kind, 0) + 1
        self.say(
            f"payment wave: {len(chosen)} of {len(candidates)} booked purchase invoices paid in {self.TARGET.title}"
        )

    # -- what happened ----------------------------------------------------------------------------------------------
    def report(self, wall_seconds: float, drained: bool) -> BanqupChaosReport:
        assert self.maker is not None
        self.world.books.faults = ChaosFaultPlan(applies_to=self.TARGET.api)  # the plans keep their counts
        self.world.banqup.faults = ChaosFaultPlan(applies_to=BANQUP_API)
        ledger = self.ledger()
        history = [e for i in range(1, len(self.spaces) + 1) for e in ledger.entries(connection(i))]
        state = FinalState(
            made=self.maker.made,
            bookings={space: self.TARGET.bookings(books) for space, books in self.books.items()},
            target_duplicates=[d for books in self.books.values() for d in self.TARGET.duplicates(books)],
            history=history,
            documents={d.id: d for d in self.world.banqup.documents.values()},
            marks=self.world.banqup.paid_marks(),
            paid=dict(self.paid),
            takes_files=self.TARGET.takes_files,
            target=self.TARGET.name,
        )
        c = self.config
        return BanqupChaosReport(
            koppeling=f"banqup_{self.TARGET.name}",
            target=self.TARGET.title,
            retries={
                "deliver batch item failures": self.failures(self.DELIVER),
                "write-back batch item failures": self.failures(WRITE_BACK),
                "polls failed and repeated": self.failures(POLL),
                "worker crashes": self.crashes(self.DELIVER, WRITE_BACK),
            },
            faults=TargetFaults.counted(self.TARGET.title, self.target_plan)
            | {
                "Banqup 503": self.banqup_plan.counts.get("error", 0),
                "Banqup 429": self.banqup_plan.counts.get("throttle", 0),
            }
            | dict(self.banqup_faults.counts)
            | {"workers killed": len(self.kills.killed)},
            rates=(
                f"{c.target.describe(self.TARGET.title)}; Banqup: 503 {c.banqup_error_rate:.1%}, "
                f"429 {c.banqup_throttle_rate:.1%}, tokens expired before {c.token_expiry_rate:.0%} of reads, "
                f"download addresses expired {c.expired_url_rate:.0%}; published twice {c.duplicate_rate:.0%}; "
                f"workers killed at {c.kill_rate:.0%} of ledger updates"
            ),
            payment_wave=dict(self.wave),
            **self.common(wall_seconds, drained),
            **figures(state),
        )


def plug(target: Target) -> tuple[type[BanqupChaosConfig], type[BanqupChaosRun], Callable[..., BanqupChaosReport]]:
    """CONFIG, RUN and run_chaos of ``banqup_<target>/chaos.py``."""
    run = type(f"{target.name.title()}BanqupChaosRun", (BanqupChaosRun,),
               {"TARGET": target, "DELIVER": target.deliver, "SHORTENED": (target.deliver, WRITE_BACK)})  # fmt: skip

    def run_chaos(config: BanqupChaosConfig, say: Callable[[str], None] = lambda _: None) -> BanqupChaosReport:
        """Start a local stack and the sandboxes, play ``config``, and return the report."""
        return cast("BanqupChaosReport", play(run, config, say))

    return BanqupChaosConfig, run, run_chaos
