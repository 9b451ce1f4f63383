"""The scheduler at scale: one run of schedule_polls over N connections on the local stack, with its DynamoDB calls.

python -m devkit.bench.schedule 1000          # N connections; runs at minute 0 (all due), 1 (none due) and 5
python -m devkit.bench.schedule 10000 0 1     # the minutes to run at
python -m devkit.bench.schedule 1000 0 --rtt-ms 5   # every AWS call waits 5 ms first, as a round trip in AWS does

Each connection carries a synced 100-ledger chart (about 5.5 KB, like a SnelStart connection after the demo). A
botocore ``after-call`` hook counts every DynamoDB operation the handler makes and the size of the items it gets
back (as JSON on the wire, which is a little more than DynamoDB's own item size). moto answers on loopback, so the
seconds are not AWS's; the calls and what they read are the same as on AWS. moto answers one call at a time, so
what the scheduler's parallel writes save shows only with ``--rtt-ms``: each DynamoDB and SQS call then first
waits as long as a round trip to the AWS service would (in the calling thread, so calls in flight overlap).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
CHART = {str(8000 + i): f"{i:08d}-0000-0000-0000-000000008000" for i in range(100)}


@dataclass(frozen=True)
class Run:
    minute: int
    scheduled: int
    seconds: float
    calls: dict[str, int]
    kb_read: dict[str, int]


def measure(connections: int, minutes: Sequence[int] = (0, 1, 5), rtt_ms: float = 0) -> list[Run]:
    import boto3

    from devkit.local import LocalStack
    from koppel import bootstrap
    from koppel.model import Connection
    from koppel.settings import StoreSettings

    calls: Counter[str] = Counter()
    read: Counter[str] = Counter()

    def round_trip(**_: Any) -> None:
        time.sleep(rtt_ms / 1000)

    def after(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        calls[model.name] += 1
        items = parsed.get("Items", []) + ([parsed["Item"]] if "Item" in parsed else [])
        read[model.name] += sum(len(json.dumps(item)) for item in items)

    runs = []
    events = boto3._get_default_session().events
    with LocalStack() as stack:
        # Before any client exists: botocore copies the session's hooks into each new client
        events.register("after-call.dynamodb", after)
        if rtt_ms:
            events.register("before-send.dynamodb", round_trip)
            events.register("before-send.sqs", round_trip)
        store = bootstrap.connection_store(StoreSettings.load())
        for i in range(connections):
            store.put(
                Connection(
                    connection_id=f"shop-{i:05d}", tenant_id="t", source="ccvshop", targets=("snelstart",),
                    created_at=T0, target_settings={"snelstart": {"ledger_ids": CHART}},
                )
            )  # fmt: skip
        for minute in minutes:
            calls.clear()
            read.clear()
            started = time.perf_counter()
            answer = stack.invoke("SchedulePollsFunction", {"time": (T0 + timedelta(minutes=minute)).isoformat()})
            runs.append(
                Run(
                    minute=minute,
                    scheduled=len(answer["scheduled"]),
                    seconds=time.perf_counter() - started,
                    calls=dict(calls),
                    kb_read={name: round(size / 1024) for name, size in read.items()},
                )
            )
        events.unregister("after-call.dynamodb", after)
        events.unregister("before-send.dynamodb", round_trip)
        events.unregister("before-send.sqs", round_trip)
    return runs


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m devkit.bench.schedule", description=__doc__.split("\n")[0])
    parser.add_argument("connections", type=int, nargs="?", default=1000)
    parser.add_argument("minutes", type=int, nargs="*", default=[0, 1, 5])
    parser.add_argument("--rtt-ms", type=float, default=0, help="wait this long before every AWS call")
    args = parser.parse_args(argv)
    rtt = f" with a {args.rtt_ms:g} ms round trip per AWS call" if args.rtt_ms else ""
    for run in measure(args.connections, args.minutes or (0, 1, 5), args.rtt_ms):
        print(
            f"{args.connections} connections{rtt}, minute {run.minute}: {run.scheduled} scheduled in "
            f"{run.seconds:.2f} s; "
            f"DynamoDB calls {run.calls}; KB of items read {run.kb_read}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
