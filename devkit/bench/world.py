"""The local stack the stack benchmarks share: a connected shop, with timings the benchmarks need.

``BenchWorld`` starts the embedded LocalStack and the demo's sandboxes, connects the shop to SnelStart exactly as
``make demo`` does (devkit.koppelingen.ccvshop_snelstart.demo.Demo.connect), and adds two instruments that change
no behaviour:
- ``TimedStack`` records the wall time of every handler invocation (what Lambda bills), per function;
- ``RecordingSnelstart`` records, per invoice number, when SnelStart stored the booking, and counts the
  answers of its /v2 API by status (429s included) with the time of each admitted request;
- ``AwsMeter`` counts and times every AWS call the handlers make.
The CCV Shop sandbox's per-minute limits are lifted (see ``BenchWorld.__enter__``).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests

from devkit.koppelingen.ccvshop_snelstart.demo import CONNECTION, SUBSCRIPTION_KEY, Demo
from devkit.koppelingen.ccvshop_snelstart.scenarios import chaos_orders
from devkit.local import LocalStack
from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox

if TYPE_CHECKING:
    from collections.abc import Callable

    from werkzeug.wrappers import Request, Response

    from devkit.sandboxes.ccvshop.sandbox import Delivery
    from devkit.sandboxes.snelstart.store import Administratie

DELIVER = "DeliverSnelstartFunction"
INGEST = "IngestWebhookFunction"
SCHEDULE = "SchedulePollsFunction"
POLL = "PollSourceFunction"
COMPLETED = 7
UNLIMITED_CCV = {"get_per_minute": 1_000_000, "write_per_minute": 1_000_000, "total_per_minute": 1_000_000}


class AwsMeter:
    """Counts and times every AWS call (to moto) made by boto3 clients of the default session.

    Installed on boto3's default session before the handlers build their clients, so every client inherits it
    (botocore copies the session's event hooks into each new client).
    """

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self._lock = threading.Lock()

    def install(self) -> None:
        import boto3

        events = boto3._get_default_session().events
        events.register("before-call", self._before)
        events.register("after-call", self._after)

    def _before(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        context["bench_started"] = time.perf_counter()

    def _after(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        started = context.get("bench_started")
        if started is None:
            return
        name = f"{model.service_model.service_id} {model.name}"
        with self._lock:
            self.calls[name] += 1
            self.seconds[name] += time.perf_counter() - started

    def snapshot(self) -> tuple[Counter[str], dict[str, float]]:
        with self._lock:
            return Counter(self.calls), dict(self.seconds)


@dataclass(frozen=True)
class Invocation:
    seconds: float
    records: int
    """SQS records in the event (0 for HTTP and scheduled events)."""


class TimedStack(LocalStack):
    """LocalStack that records each invocation's duration; the first one per function is its cold start."""

    def __init__(self, env_overrides: dict[str, str] | None = None) -> None:
        super().__init__(env_overrides)
        self.timings: dict[str, list[Invocation]] = defaultdict(list)
        self._timings_lock = threading.Lock()

    def invoke(self, logical_id: str, event: dict[str, Any], *, container: int = 0) -> Any:
        if container:  # a container of its own runs beside the others: nothing to wait for but itself
            return self._timed(
                logical_id, event, lambda: super(TimedStack, self).invoke(logical_id, event, container=container)
            )
        # The default container runs under the base class's (re-entrant) lock; holding it first keeps the wait for
        # another handler out of this handler's duration.
        with self._lock:
            return self._timed(logical_id, event, lambda: super(TimedStack, self).invoke(logical_id, event))

    def _timed(self, logical_id: str, event: dict[str, Any], run: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            return run()
        finally:
            records = len(event.get("Records", []))
            with self._timings_lock:
                self.timings[logical_id].append(Invocation(time.perf_counter() - started, records))

    def warm_timings(self, logical_id: str) -> list[Invocation]:
        """Every invocation but the first (the cold start, which also builds the function's dependencies).

        Meant for runs in the default container: another container's first invocation is a cold start too."""
        return self.timings.get(logical_id, [])[1:]


class RecordingSnelstart(SnelstartSandbox):
    """SnelstartSandbox that notes when each booking was stored and how its API answered."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.booked_at: dict[str, float] = {}
        self.statuses: Counter[int] = Counter()
        self.admitted_at: list[float] = []

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        if request.path.startswith("/v2/"):
            with self._lock:
                self.statuses[response.status_code] += 1
                if response.status_code != 429:
                    self.admitted_at.append(time.monotonic())
        return response

    def _api_boekingen(self, request: Request, admin: Administratie) -> Response:
        response = super()._api_boekingen(request, admin)
        if response.status_code == 201:  # the newest booking is the one just stored (dicts keep insertion order)
            number = next(reversed(admin.boekingen.values()))["factuurnummer"]
            self.booked_at.setdefault(number, time.monotonic())
        return response


class Dispatcher(threading.Thread):
    """Plays a deliver event source mapping (SnelStart's unless ``function`` names another) in one container
    without pause: poll, invoke, delete, again.

    Several dispatchers, each in its own container, play the mapping's MaximumConcurrency."""

    def __init__(self, stack: LocalStack, container: int, idle: float = 0.005, function: str = DELIVER) -> None:
        super().__init__(name=f"bench-dispatcher-{container}", daemon=True)
        self.stack = stack
        self.container = container
        self.idle = idle
        self.function = function
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        (source,) = [s for name, s in self.stack.consumers() if name == self.function]
        try:
            while not self.stopping.is_set():
                if self.stack.drain_once(self.function, source, container=self.container) == 0:
                    self.stopping.wait(self.idle)
        except BaseException as error:  # handed to the benchmark by stop(), not lost in a thread
            self.error = error

    @staticmethod
    def stop_all(dispatchers: list[Dispatcher]) -> None:
        for dispatcher in dispatchers:
            dispatcher.stopping.set()
        for dispatcher in dispatchers:
            dispatcher.join()
            if dispatcher.error is not None:
                raise dispatcher.error


@dataclass
class PlacedOrder:
    order_id: int
    number: str
    webhooks: list[Delivery] = field(default_factory=list)


class BenchWorld:
    """A started TimedStack with the demo's sandboxes and the demo's connection (``with BenchWorld() as w``)."""

    def __init__(self, env_overrides: dict[str, str] | None = None) -> None:
        self.stack = TimedStack(env_overrides)
        self.aws = AwsMeter()
        self.demo: Demo | None = None
        self.snelstart = RecordingSnelstart(subscription_key=SUBSCRIPTION_KEY)
        self.http = requests.Session()
        self._seed = 0
        self._containers = 0

    def __enter__(self) -> BenchWorld:
        self.stack.start()
        self.aws.install()
        try:
            self.demo = Demo(self.stack)
            self.demo.snelstart = self.snelstart
            self.demo.__enter__()
            # CCV allows 150 GETs of orders per minute per shop (the ccvshop connector's README), and ingest
            # re-reads the order (and its rows) for every webhook: that caps one shop at 75 orders a minute. The
            # benchmarks measure Koppel,
            # not that cap, so the sandbox's limits are lifted; docs/performance.md names the cap.
            self.demo.ccv.configure({"rate_limits": UNLIMITED_CCV})
            self.demo.connect()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()
        if self.demo is not None:
            self.demo.__exit__()
        self.stack.stop()

    @property
    def koppelsleutel(self) -> str:
        return self._demo().koppelsleutel()

    def _demo(self) -> Demo:
        if self.demo is None:
            raise RuntimeError("the bench world is not started")
        return self.demo

    def place_orders(self, n: int) -> list[PlacedOrder]:
        """``n`` completed and paid orders (the chaos mix of rows, customers and costs), with the webhooks CCV
        sends for each (is_paid and status_changed), not yet delivered."""
        demo = self._demo()
        placed: list[PlacedOrder] = []
        while len(placed) < n:
            self._seed += 1
            start = datetime.now(UTC) - timedelta(days=2)  # before the connection: the poll does not read them
            orders = chaos_orders(demo.ccv, demo.shop, n - len(placed), seed=self._seed, start=start)
            bookable = {
                o["id"]: PlacedOrder(o["id"], o["ordernumber_full"])
                for o in orders
                if o["status"] == COMPLETED and o["paid"]
            }
            for delivery in demo.ccv.pending_webhooks():
                order = bookable.get(_order_id(delivery))
                if order is not None:
                    order.webhooks.append(delivery)
            demo.ccv.deliver_webhooks(post=lambda _: None)  # handled by the benchmark, not by the sandbox
            placed.extend(bookable.values())
        return placed[:n]

    def place_order_now(self) -> PlacedOrder:
        """One completed and paid order placed now, with its webhooks (for a steady arrival of orders)."""
        return self.place_orders(1)[0]

    def send(self, delivery: Delivery) -> int:
        """POST one webhook to the local API Gateway, as CCV Shop would; returns the HTTP status."""
        answer = self.http.post(delivery.address, data=delivery.body, headers=delivery.headers, timeout=60)
        return answer.status_code

    def new_containers(self, n: int) -> list[int]:
        """``n`` container numbers never used in this world: each starts cold and builds its dependencies (so it
        reads the connection's settings as they are now)."""
        first = self._containers + 1
        self._containers += n
        return list(range(first, first + n))

    def deliver_concurrency(self) -> int:
        """The template's MaximumConcurrency of the deliver function's queue (1 when it sets none)."""
        (source,) = [s for name, s in self.stack.consumers() if name == DELIVER]
        return source.max_concurrency or 1

    def purge_deliver_queue(self) -> None:
        """Drop what a bounded run left on the deliver queue, so the next figure starts from an empty queue."""
        from botocore.exceptions import ClientError

        (source,) = [s for name, s in self.stack.consumers() if name == DELIVER]
        sqs = self.stack.client("sqs")
        try:
            sqs.purge_queue(QueueUrl=source.queue_url)
        except ClientError as error:
            if "PurgeQueueInProgress" not in str(error):
                raise
            # One purge a minute: delete what is visible instead (a run that ended normally left nothing else).
            while messages := sqs.receive_message(QueueUrl=source.queue_url, MaxNumberOfMessages=10).get("Messages"):
                sqs.delete_message_batch(
                    QueueUrl=source.queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
                )

    def bookings(self) -> int:
        return len(self.snelstart.bookings(self.koppelsleutel))

    def connection_id(self) -> str:
        return CONNECTION


def _order_id(delivery: Delivery) -> int:
    import json

    return int(json.loads(delivery.body)["id"])
