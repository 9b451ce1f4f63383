"""Pipedrive → QuickBooks Online: a backlog of invoices drained into a QuickBooks sandbox that enforces Intuit's limits.

QuickBooks Online allows 500 requests a minute and 10 a second per company (realm), and answers 429 (fault 3001)
beyond them; the QuickBooks sandbox enforces both as sliding windows (by default the real figures, unscaled).
The connection is told the same limits (its ``quickbooks`` settings ``rate_limit_per_second`` / ``_per_minute``),
which the connector keeps client-side, shared out over ``MAX_CONCURRENCY`` (``koppel.http.shared_limits``).

Method. A LocalStack of its own (the SnelStart figures run their deliver containers in the shared one, and one
process holds only one target's containers side by side). The connection is seeded as the owner's consent leaves
it: Koppel's app in the QuickBooks partner secret (``client_id``, ``client_secret``, ``authorize_url``,
``token_url``), the realm id in the connection's secrets, and an OAuth grant in the token store taken from the
sandbox's ``issue_tokens`` (the token endpoint's own answer, without the browser round trip; renewals go through
the real token endpoint). The company's tax codes, Item and currency are then read by the connector's own
``after_connect``, as after a real consent. The backlog is Pipedrive deals (a UK company's customers, GBP; half
with one VAT rate, half with two of 20/5/0 %) turned into events by the Pipedrive connector's ``deal_event`` and
queued with Koppel's publisher; a customer has several deals, spaced apart in the queue. Then the deliver
consumer (``DeliverQuickbooksFunction``) drains it as deployed: one container per MaximumConcurrency, side by side.

Allowed = min(per second, per minute / 60) requests per second; achieved = requests QuickBooks admitted ÷ time from
the start of the drain to the last booking. Over a drain of a minute or two the sliding windows let the first
minute start with a full minute's budget; the steady rate (admitted after the first minute) shows the rest.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from devkit.bench.ratelimit import DrainResult
from devkit.bench.world import Dispatcher
from devkit.local import LocalStack, _forget_clients
from devkit.sandboxes.quickbooks.sandbox import QuickbooksSandbox

if TYPE_CHECKING:
    from collections.abc import Callable

    from werkzeug.wrappers import Request, Response

    from koppel.model import Connection, DocumentEvent

DELIVER_QB = "DeliverQuickbooksFunction"
CONNECTION, REALM = "bench-deals", "9130000000000042"
APP = ("bench-quickbooks-app", "bench-quickbooks-secret")
TOKEN_PATH = "/oauth2/v1/tokens/bearer"
VAT_MIXES = (("20",), ("20", "5"), ("20",), ("20", "0"))
"""Per deal in turn: half with one VAT rate, half with two (UK standard, reduced, zero)."""


class RecordingQuickbooks(QuickbooksSandbox):
    """QuickbooksSandbox that counts its v3 answers by status, when each admitted request came, when each
    invoice was first stored (by DocNumber), and the calls of its token endpoint."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.statuses: Counter[int] = Counter()
        self.admitted_at: list[float] = []
        self.throttled_at: list[float] = []
        self.booked_at: dict[str, float] = {}
        self.token_calls = 0
        self._recording = threading.Lock()

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        now = time.monotonic()
        with self._recording:
            if request.path.startswith("/v3/"):
                self.statuses[response.status_code] += 1
                if response.status_code == 429:
                    self.throttled_at.append(now)
                elif response.status_code not in (401, 403):  # refused before the limits count it
                    self.admitted_at.append(now)
                if request.method == "POST" and request.path.endswith("/invoice") and response.status_code == 200:
                    number = (json.loads(response.get_data()).get("Invoice") or {}).get("DocNumber")
                    if number:
                        self.booked_at.setdefault(str(number), now)
            elif request.path == TOKEN_PATH:
                self.token_calls += 1
        return response


class RetryReasons(logging.Handler):
    """Why deliver records failed: the reason of each "will retry" the deliver runtime logs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.reasons: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "will retry":
            self.reasons.append(str(getattr(record, "reason", "")))


@dataclass
class QuickbooksDrainResult(DrainResult):
    customers: int = 0
    failed_by_throttle: int = 0
    """Records that failed because QuickBooks answered 429 (the connector then waits Intuit's 60 s)."""
    retry_reasons: tuple[str, ...] = ()
    token_renewals: int = 0
    steady_per_second: float = 0.0
    """Requests admitted after the first minute of the drain ÷ the time after it (0 for a drain under a minute)."""
    throttled_after: tuple[float, ...] = ()
    """Seconds from the start of the drain to each 429."""
    busiest: tuple[int, int] = (0, 0)
    """The most requests QuickBooks admitted in any one second and in any one minute of the drain."""

    @property
    def requests_per_invoice(self) -> float:
        return self.admitted_requests / self.booked if self.booked else 0.0


def _busiest(stamps: list[float], window: float) -> int:
    """The most of ``stamps`` (sorted) in any ``window`` seconds, as a sliding window counts them."""
    most, first = 0, 0
    for last, stamp in enumerate(stamps):
        while stamp - stamps[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


def connect(stack: LocalStack, sandbox: QuickbooksSandbox, per_second: int, per_minute: int) -> Connection:
    """The connection as the owner's consent leaves it (see the module docstring), with the company read."""
    from koppel import bootstrap, connectors
    from koppel.connectors import ConnectorContext
    from koppel.http import session_for
    from koppel.model import Connection
    from koppel.ports import CachedToken
    from koppel.settings import StoreSettings

    base = sandbox.base_url
    sandbox.add_company("Bench Trading Ltd", realm=REALM)  # UK VAT codes, GBP
    sandbox.add_client(*APP)
    partner = {"client_id": APP[0], "client_secret": APP[1]}
    partner |= {"authorize_url": f"{base}/connect/oauth2", "token_url": f"{base}{TOKEN_PATH}"}
    secret = f"{stack._outputs().partner_secret_prefix}quickbooks"
    stack.client("secretsmanager").put_secret_value(SecretId=secret, SecretString=json.dumps(partner))
    settings: dict[str, Any] = {"base_url": base, "app_url": base, "token_url": partner["token_url"]}
    settings |= {"rate_limit_per_second": per_second, "rate_limit_per_minute": per_minute}
    connection = Connection(
        connection_id=CONNECTION, tenant_id="bench", name="Bench deals", source="pipedrive", targets=("quickbooks",),
        source_settings={"due_days": 14, "won_deals_create_invoices": True},
        target_settings={"quickbooks": settings}, created_at=datetime.now(UTC),
    )  # fmt: skip
    store = bootstrap.connection_store(StoreSettings.load())
    store.put(connection)
    store.put_secrets(CONNECTION, "quickbooks", {"realm_id": REALM})
    answer, now = sandbox.issue_tokens(REALM, APP[0]), datetime.now(UTC)
    grant = CachedToken(
        value=answer["access_token"], expires_at=now + timedelta(seconds=answer["expires_in"]), version=1,
        refresh_token=answer["refresh_token"], refreshed_at=now,
    )  # fmt: skip
    if not store.put_token(CONNECTION, "quickbooks", grant):
        raise RuntimeError("the grant was not stored")
    ctx = ConnectorContext(
        connection=connection, settings=settings, secrets={"realm_id": REALM}, session=session_for(), store=store,
        partner_secret=lambda: partner,
    )  # fmt: skip
    company = connectors.build_target("quickbooks", ctx).after_connect()  # type: ignore[attr-defined]
    connection = connection.model_copy(update={"target_settings": {"quickbooks": settings | company}})
    store.put(connection)
    return connection


def _deal(i: int, c: int, deal_id: int) -> dict[str, Any]:
    """A won deal as Pipedrive's preview file has it: the deal, its products, its person and its organization."""
    products = []
    for k, rate in enumerate(VAT_MIXES[i % len(VAT_MIXES)]):
        price = f"{45 + (7 * i + 13 * k) % 200}.{(i * 37) % 100:02d}"
        discount = 5 if k == 0 and i % 3 == 0 else 0
        products.append(
            {"id": 90_000 + 10 * i + k, "product_id": 41 + k, "name": f"Service {k + 1}", "currency": "GBP",
             "quantity": 1 + (i + k) % 4, "item_price": price, "discount": discount, "discount_type": "percentage",
             "tax": rate, "tax_method": "exclusive", "is_enabled": True}
        )  # fmt: skip
    email = [{"value": f"accounts@client{c}.co.uk", "primary": True}]
    place = {"route": "High Street", "street_number": str(c + 1), "postal_code": "M1 1AE", "locality": "Manchester"}
    return {
        "id": deal_id, "title": f"Project {deal_id}", "currency": "GBP", "status": "won", "custom_fields": {},
        "products": products, "person": {"id": 700 + c, "name": f"Alex Client{c}", "emails": email, "phones": []},
        "organization": {"id": 300 + c, "name": f"Client {c} Ltd", "address": place | {"country": "GB"}},
    }  # fmt: skip


def deal_events(connection: Connection, invoices: int, customers: int, first_deal: int = 5001) -> list[DocumentEvent]:
    """``invoices`` won deals through the Pipedrive connector's own ``deal_event``; deal *i* is customer *i* mod
    ``customers``'s, so a customer's deals lie ``customers`` apart in the backlog."""
    from koppel.connectors.pipedrive.mapping import deal_event, read_preview_file
    from koppel.connectors.pipedrive.settings import PipedriveSettings

    settings = PipedriveSettings(due_days=14, currency="GBP", won_deals_create_invoices=True)
    events = []
    for i in range(invoices):
        deal, products, person, organization = read_preview_file(_deal(i, i % customers, first_deal + i))
        now = datetime.now(UTC)
        event = deal_event(deal, products, person, organization, connection, settings, issue_date=now.date(),
                           occurred_at=now)  # fmt: skip
        events.append(event)
    return events


def measure_quickbooks_drain(
    per_second: int = 10,
    per_minute: int = 500,
    invoices: int = 300,
    customers: int = 60,
    deadline: float = 300.0,
    say: Callable[[str], None] = print,
    concurrency: int | None = None,
    env_overrides: dict[str, str] | None = None,
) -> QuickbooksDrainResult:
    """Drain ``invoices`` Pipedrive invoices into QuickBooks with ``concurrency`` deliver containers (default: the
    template's MaximumConcurrency), the sandbox and the connection both at ``per_second`` / ``per_minute``;
    ``env_overrides`` change the functions' settings for a run (e.g. CONNECTION_CACHE_SECONDS)."""
    from koppel.adapters.sqs import SqsPublisher
    from koppel.observability import logger

    stack, sandbox, reasons = LocalStack(env_overrides), RecordingQuickbooks(), RetryReasons()
    koppel_log = logging.getLogger(logger.name)  # the Powertools logger's own, shared by every container
    stack.start()
    sandbox.start()
    koppel_log.addHandler(reasons)
    try:
        sandbox.set_rate_limit(None, None)  # lifted while the company is read after connecting
        connection = connect(stack, sandbox, per_second, per_minute)
        events = deal_events(connection, invoices, customers)
        SqsPublisher(stack._outputs().target_queues, stack.client("sqs")).publish("quickbooks", events)
        (source,) = [s for name, s in stack.consumers() if name == DELIVER_QB]
        containers = list(range(1, (concurrency or source.max_concurrency or 1) + 1))
        say(
            f"  backlog: {len(events)} Pipedrive invoices of {customers} customers (one or two VAT rates, GBP); "
            f"QuickBooks allows {per_second}/s and {per_minute}/min per company (sandbox and connection); "
            f"{len(containers)} {DELIVER_QB} container(s)"
        )
        sandbox.set_rate_limit(per_second, per_minute)
        statuses_before, token_calls_before = Counter(sandbox.statuses), sandbox.token_calls
        admitted_before = len(sandbox.admitted_at)
        wanted = {e.payload.number for e in events}
        started = time.monotonic()
        dispatchers = [Dispatcher(stack, c, idle=0.2, function=DELIVER_QB) for c in containers]
        for dispatcher in dispatchers:
            dispatcher.start()
        try:
            while time.monotonic() - started < deadline and not wanted <= sandbox.booked_at.keys():
                time.sleep(0.1)
        finally:
            Dispatcher.stop_all(dispatchers)
        booked = [sandbox.booked_at[n] for n in wanted if n in sandbox.booked_at]
        finished = max(booked) if len(booked) == len(wanted) else time.monotonic()
        admitted = [t for t in sandbox.admitted_at[admitted_before:] if t <= finished]
        late = [t for t in admitted if t > started + 60]
        throttled = [r for r in reasons.reasons if "throttled" in r]
        duplicates = sandbox.duplicates(REALM)
    finally:
        koppel_log.removeHandler(reasons)
        sandbox.stop()
        stack.stop()
        _forget_clients()  # clients built for this stack's moto: another stack in this process builds its own
    result = QuickbooksDrainResult(
        per_second=per_second, per_minute=per_minute, orders=len(events), booked=len(booked),
        seconds=finished - started, admitted_requests=len(admitted),
        throttled_answers=(sandbox.statuses - statuses_before)[429], failed_records=len(reasons.reasons),
        client_limiter=True, concurrency=len(containers), customers=customers, failed_by_throttle=len(throttled),
        retry_reasons=tuple(sorted(set(reasons.reasons))), token_renewals=sandbox.token_calls - token_calls_before,
        steady_per_second=len(late) / (finished - started - 60) if finished - started > 60 else 0.0,
        throttled_after=tuple(t - started for t in sandbox.throttled_at if t >= started),
        busiest=(_busiest(admitted, 1.0), _busiest(admitted, 60.0)),
    )  # fmt: skip
    if duplicates:
        raise AssertionError(f"QuickBooks holds invoices booked twice: {duplicates}")
    steady = f"; after the first minute {result.steady_per_second:.2f}/s" if result.steady_per_second else ""
    say(
        f"  drained {result.booked}/{result.orders} invoices in {result.seconds:.1f} s: {result.admitted_requests} "
        f"requests admitted ({result.requests_per_invoice:.1f} per invoice) = {result.achieved_per_second:.2f}/s "
        f"of {result.allowed_per_second:.2f}/s allowed ({result.ratio:.2f}){steady}; 429 answers "
        f"{result.throttled_answers}, records failed {result.failed_records} ({result.failed_by_throttle} by 429); "
        f"token renewals {result.token_renewals}; busiest second {result.busiest[0]}, minute {result.busiest[1]}"
    )
    if result.throttled_after:
        say(f"  429s at {', '.join(f'{t:.1f}' for t in result.throttled_after)} s into the drain")
    for reason in result.retry_reasons:
        say(f"  retried: {reason[:160]}")
    return result
