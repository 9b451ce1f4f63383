"""`make chaos KOPPELING=simplycrm_billy`: N records kept alike between Simply CRM and Billy through seeded faults,
and the CRM's approved invoices booked in Billy with their payments carried back.

Connected as a user connects it (``seed.connect``: both ways, Simply CRM wins a conflict, automatic record sync on
every scheduled poll), then batches on the shared runner (devkit.chaos.runner; the workload is
``scenarios.RecordMaker``): each batch makes records on both sides (some on both already, to be linked by their
natural key), then, once earlier records are linked, a wave of changes (conflicts and different fields on both
sides before the poll; edits on one side and deletions on either side from another thread while the poll runs), a
few approved CRM invoices at 25 % VAT, and payments in Billy of invoices booked so far; then a scheduled poll
(record sync, invoices to Billy, payment status back). At the end one more wave, polls until nothing changes, and
two `koppel sync` runs with nothing changed, counting every write either side receives (an echo). Meanwhile, from
one seeded generator:

- Billy's API (/v2) and Simply CRM's (webservice.php) answer 503, 429 with Retry-After 1, slowly, or store a write
  and then hang past the client's read timeout (the client believes it failed);
- the runner kills workers between a vendor's commit and the ledger update: the Billy deliver function, the Simply
  CRM write-back, and the record sync inside the poll (its ledger comes from the same bootstrap).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from devkit.chaos.faults import TargetFaults
from devkit.chaos.runner import POLL, ChaosConfig, ChaosRun, play
from devkit.koppelingen import cli_output
from devkit.koppelingen.simplycrm_billy.demo import ENV, CrmDemo
from devkit.koppelingen.simplycrm_billy.report import CrmChaosReport, FinalState, figures
from devkit.koppelingen.simplycrm_billy.scenarios import BILLY, CRM, KINDS, RecordMaker
from devkit.koppelingen.simplycrm_billy.seed import connect
from devkit.sandboxes.kit.server import FaultPlan

if TYPE_CHECKING:
    from collections.abc import Callable

    from devkit.chaos.consumers import Consumers
    from devkit.local import LocalStack

DELIVER = "DeliverBillyFunction"
WRITE_BACK = "DeliverSimplycrmFunction"
CONNECTION = "bageri-chaos"
TOKEN = "bageri-chaos-billy-token-0000000000003"
BILLY_API = ("/v2",)
CRM_API = ("/webservice.php",)
CRM_WRITES = {"create", "update", "revise", "delete"}
BILLY_FAULTS = TargetFaults(latency=0.005)
CRM_FAULTS = TargetFaults(error_rate=0.02, throttle_rate=0.015, hang_rate=0.03, latency=0.002)
"""vtiger takes no idempotency key: a create that is stored and then hangs is what a CRM side can duplicate."""


@dataclass(frozen=True, kw_only=True)
class CrmChaosConfig(ChaosConfig):
    size: int = 120
    batch_size: int = 30
    kill_rate: float = 0.03
    drain_timeout: float = 180.0
    billy: TargetFaults = BILLY_FAULTS
    crm: TargetFaults = CRM_FAULTS
    both_share: float = 0.2
    """Records made on both sides already, with the same natural key."""
    wave_share: float = 0.6
    """Changes in a wave, as a share of the batch size."""
    invoices_per_batch: int = 4
    paid_share: float = 0.5


class CrmChaosRun(ChaosRun):
    UNIT = "records"
    DELIVER = DELIVER
    DRAINED_HERE = (POLL, WRITE_BACK)
    SHORTENED = (DELIVER, WRITE_BACK)
    config: CrmChaosConfig
    world: CrmDemo

    def __init__(self, stack: LocalStack, world: CrmDemo, config: ChaosConfig, say: Callable[[str], None]) -> None:
        super().__init__(stack, world, config, say)
        self.maker = RecordMaker(world.crm, world.billy, TOKEN, self.seed(), self.linked)
        self.billy_plan = self.config.billy.plan(self.seed(), BILLY_API)
        self.crm_plan = self.config.crm.plan(self.seed(), CRM_API)
        self.crm_writes: list[str] = []
        self.refused: Counter[str] = Counter()
        """Changes a sandbox refused (a person's edit of a record Koppel had just deleted, say)."""

    @classmethod
    def env(cls, config: ChaosConfig) -> dict[str, str]:
        return {"POLL_OVERLAP_MINUTES": "1"} | ENV

    @classmethod
    def open_world(cls, stack: LocalStack) -> CrmDemo:
        return CrmDemo(stack)

    def connect(self) -> None:
        connect(self.world.crm, self.world.billy, CONNECTION, tenant="Bageriudstyr Chaos ApS", name="Chaos ApS",
                token=TOKEN, poll_minutes=1)  # fmt: skip
        handle = self.world.crm.handle

        def counted(request: Any) -> Any:  # every write Simply CRM receives (for the echo check)
            operation = str(request.values.get("operation", "")).lower()
            if request.method == "POST" and operation in CRM_WRITES:
                self.crm_writes.append(f"{operation} {request.form.get('elementType') or ''}".strip())
            return handle(request)

        self.world.crm.handle = counted  # type: ignore[method-assign]

    def unleash(self) -> None:
        self.start_containers()
        self.world.billy.faults = self.billy_plan
        self.world.crm.faults = self.crm_plan

    def linked(self, kind: str, crm_id: str) -> bool:
        """Whether Koppel has linked this CRM record (a record deleted before its link is simply made anew)."""
        from koppel import bootstrap
        from koppel.settings import StoreSettings

        links = bootstrap.record_links(StoreSettings.load())
        return links.link_of(CONNECTION, kind, CRM, crm_id) is not None  # type: ignore[arg-type]

    # -- the workload ---------------------------------------------------------------------------------------------
    def batch(self, index: int, size: int, batches: int) -> None:
        self.maker.create(size, self.config.both_share)
        self.made = len(self.maker.made.records)
        self.changes(round(size * self.config.wave_share) if index > 1 else 0)

    def finish(self, consumers: Consumers) -> bool:
        self.wait_until(self.empty, consumers)
        self.say("a last wave of changes, then polling until nothing changes and every queue is empty")
        self.changes(round(self.config.batch_size * self.config.wave_share))
        return self.settle(consumers)

    def changes(self, size: int) -> None:
        """A wave (half before the poll, half during it), invoices and payments, and the poll itself."""
        wave = self.maker.wave(size) if size else None
        for act in wave.before if wave else ():
            self.act(act)
        day = self.clock.date()
        self.maker.invoices(self.config.invoices_per_batch, day.isoformat(), (day + timedelta(days=14)).isoformat())
        paid = self.maker.payments(self.config.paid_share)
        thread = threading.Thread(target=self.during, args=(wave.during if wave else [],), name="people")
        thread.start()
        self.poll()
        thread.join()
        if wave:
            self.say(f"wave: {len(wave.before)} changes before the poll, {len(wave.during)} during it; {paid} paid")

    def during(self, acts: list[Callable[[], None]]) -> None:
        for act in acts:
            time.sleep(0.02)
            self.act(act)

    def act(self, act: Callable[[], None]) -> None:
        try:
            act()
        except Exception as error:  # a sandbox refusing a person's change is part of the story, not a failure
            self.refused[type(error).__name__] += 1

    def activity(self) -> tuple[int, int, int, int]:
        rows = len(self.ledger().entries(CONNECTION))
        return rows, len(self.crm_writes), self.billy_writes(), len(self.maker.made.paid)

    def billy_writes(self) -> int:
        return sum(1 for method, path in list(self.world.billy.received) if method != "GET" and path.startswith("/v2"))

    # -- what happened --------------------------------------------------------------------------------------------
    def echo(self) -> list[str]:
        """Two `koppel sync` runs with nothing changed, faults off: every write either side receives is an echo."""
        crm, billy = len(self.crm_writes), len(self.world.billy.received)
        for _ in range(2):
            said = cli_output("sync", CONNECTION)
            self.say(f"koppel sync {CONNECTION} with nothing changed: {said.count(chr(10)) + 1} lines")
        writes = [f"Simply CRM {write}" for write in self.crm_writes[crm:]]
        received = list(self.world.billy.received)[billy:]
        return writes + [f"Billy {method} {path}" for method, path in received if method != "GET"]

    def final_state(self, echo: list[str]) -> FinalState:
        from koppel import bootstrap
        from koppel.records import RECORD_FIELDS
        from koppel.settings import StoreSettings

        settings = StoreSettings.load()
        store = bootstrap.connection_store(settings)
        deps = bootstrap.record_sync_deps(settings, store, bootstrap.ledger(settings))
        connection = store.get(CONNECTION)
        sides: dict[str, Any] = {side: deps.side_for(connection, side) for side in (CRM, BILLY)}
        names = {
            k: [n for n in RECORD_FIELDS[k] if all(n in s.record_fields(k) for s in sides.values())] for k in KINDS
        }
        records = {k: {s: self.canonical(side, k) for s, side in sides.items()} for k in KINDS}
        crm_invoices = {str(i["invoice_no"]): i for i in self.world.crm.records("Invoice")}
        return FinalState(
            made=self.maker.made, index=self.maker.index(), records=records, names=names,
            links={kind: deps.links.links(CONNECTION, kind) for kind in KINDS}, duplicates=self.duplicates(),
            echo=echo, crm_invoices=crm_invoices, billy_invoices=self.world.billy.records("invoices", TOKEN),
            history=deps.ledger.entries(CONNECTION), now=datetime.now(UTC),
        )  # fmt: skip

    @staticmethod
    def canonical(side: Any, kind: str) -> dict[str, dict[str, str]]:
        """Every live record of a kind on one side, in canonical fields, as Koppel reads it."""
        return {record.ident: record.fields for record in side.changed_records(kind, None).records}

    def duplicates(self) -> list[str]:
        """Natural keys two live records of one side share: e-mails, names, product numbers and product names."""
        crm, billy = self.world.crm, self.world.billy
        contacts = billy.records("contacts", TOKEN)
        kinds = {c["id"]: c["type"] for c in contacts}
        persons = [p for p in billy.records("contactPersons", TOKEN) if p.get("isPrimary") and p["contactId"] in kinds]
        products = billy.records("products", TOKEN)
        keys: list[tuple[str, Any]] = [
            *(("Simply CRM organization e-mail", r.get("email1")) for r in crm.records("Accounts")),
            *(("Simply CRM organization name", r.get("accountname")) for r in crm.records("Accounts")),
            *(("Simply CRM contact e-mail", r.get("email")) for r in crm.records("Contacts")),
            *(("Simply CRM product number", r.get("product_no")) for r in crm.records("Products")),
            *(("Simply CRM product name", r.get("productname")) for r in crm.records("Products")),
            *((f"Billy {kinds[p['contactId']]} e-mail", p.get("email")) for p in persons),
            *((f"Billy {c['type']} name", c.get("name")) for c in contacts),
            *(("Billy product number", p.get("productNo")) for p in products),
            *(("Billy product name", p.get("name")) for p in products),
        ]
        counted = Counter((what, str(value).strip().casefold()) for what, value in keys if value)
        return sorted(f"{what} {value} ({count}×)" for (what, value), count in counted.items() if count > 1)

    def report(self, wall_seconds: float, drained: bool) -> CrmChaosReport:
        self.world.billy.faults = FaultPlan(applies_to=BILLY_API)  # the plans keep their counts for the report
        self.world.crm.faults = FaultPlan(applies_to=CRM_API)
        state = self.final_state(self.echo())
        record_rows = [e for e in state.history if e.event_id.startswith("record:")]
        return CrmChaosReport(
            koppeling="simplycrm_billy",
            target="Simply CRM and Billy (linked pairs)",
            retries={
                "deliver batch item failures": self.failures(DELIVER),
                "write-back batch item failures": self.failures(WRITE_BACK),
                "polls failed and repeated": self.failures(POLL),
                "worker crashes": self.crashes(DELIVER, WRITE_BACK, POLL),
                "record changes tried again": sum(e.attempts - 1 for e in record_rows),
            },
            faults=self.faults(),
            rates=self.rates(),
            **self.common(wall_seconds, drained),
            **figures(state),
        )

    def rates(self) -> str:
        c = self.config
        return (
            f"{c.billy.describe('Billy /v2')}; {c.crm.describe('Simply CRM')}; workers killed at {c.kill_rate:.0%} "
            f"of ledger updates (deliver, write-back and the record sync in the poll)"
        )

    def faults(self) -> dict[str, int]:
        refused = {f"person's change refused ({kind})": n for kind, n in self.refused.items()}
        return (
            TargetFaults.counted("Billy", self.billy_plan)
            | TargetFaults.counted("Simply CRM", self.crm_plan)
            | {"workers killed": len(self.kills.killed)}
            | refused
        )


CONFIG, RUN = CrmChaosConfig, CrmChaosRun


def run_chaos(config: CrmChaosConfig, say: Callable[[str], None] = lambda _: None) -> CrmChaosReport:
    """Start a local stack and the sandboxes, play ``config``, and return the report."""
    return cast("CrmChaosReport", play(CrmChaosRun, config, say))
