"""`make invoke FN=<Function> EVENT=events/<file>.json`: one recorded event through the handler of the function it
is named for, on the local stack, without Docker: what `sam local invoke <Function> -e events/<file>.json` does
on a machine with Docker.

The local stack (moto + the template's resources) starts with the vendor sandboxes, and the world the recorded
events name is seeded first: the connection ``demo-shop`` (CCV Shop → SnelStart, SnelStart activated, holding the
order the webhook names), ``demo-kassa`` (Bizzcloud → e-Boekhouden, holding the invoice the deliver and write-back
events name), ``demo-deals`` (Pipedrive → QuickBooks Online, both OAuth consents given, deal 801 booked and deal
802 waiting for its button), ``demo-crm`` (Simply CRM ↔ Billy), ``demo-inbox`` (an accounting firm's client space in
Banqup → Billy, holding the purchase invoice the Banqup write-back event marks paid), the owner's start link and the
pending activation the connect events carry. Then the handler runs with the environment the template gives its
function, and its answer is printed as JSON.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devkit.local import LocalStack
from devkit.stack import TEMPLATE, functions_of, load_template

if TYPE_CHECKING:
    from devkit.sandboxes.banqup.sandbox import BanqupSandbox
    from devkit.sandboxes.bizzcloud.sandbox import BizzcloudSandbox
    from devkit.sandboxes.ccvshop.sandbox import CcvShopSandbox
    from devkit.sandboxes.eboekhouden.sandbox import EboekhoudenSandbox
    from devkit.sandboxes.pipedrive.sandbox import PipedriveSandbox
    from devkit.sandboxes.quickbooks.sandbox import QuickbooksSandbox
    from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox

REPO = Path(__file__).resolve().parent.parent
EVENTS = REPO / "events"

# What the recorded events carry (events/*.json): change them together (the connections' own: the koppelingen's
# seed.py).
START_TOKEN = "demo-start-link-q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8"
"""The owner's start link token in connect__snelstart_start.json."""
ACTIVATION_REFERENCE = "q8cK3vXo1nB2mZ7rT4sY9wLdA0bC1dE2fG3hI4jK5lM"
"""The activation reference SnelStart sends back in connect__snelstart_activation.json."""
ACTIVATION_KOPPELSLEUTEL = "demo-koppelsleutel-1f6e0c2a9b"
SUBSCRIPTION_KEY = "demo-subscription-key"


class InvokeError(Exception):
    """A wrong FN or EVENT: the message says what to give instead."""


@dataclass(frozen=True)
class Invocation:
    function: str
    event: dict[str, Any]


def functions() -> dict[str, str]:
    """Every function of the template → its code directory (functions/<dir>/app.py)."""
    template = load_template(TEMPLATE)
    resources = template["Resources"]
    return {name: Path(resources[name]["Properties"]["CodeUri"]).name for name in functions_of(template)}


def prepare(function: str, event_path: str) -> Invocation:
    """Check FN and EVENT before anything starts; InvokeError says what is wrong."""
    known = functions()
    if function not in known:
        raise InvokeError(f"FN={function!r} is no function of infra/template.yaml; one of: {', '.join(sorted(known))}")
    path = Path(event_path)
    if not path.is_file():
        files = ", ".join(f"events/{p.name}" for p in sorted(EVENTS.glob("*.json")))
        raise InvokeError(f"EVENT={event_path!r} is no file; the recorded events are: {files}")
    code_dir = path.name.partition("__")[0]
    if code_dir != known[function]:
        fits = ", ".join(sorted(name for name, directory in known.items() if directory == code_dir)) or "none"
        raise InvokeError(
            f"{path.name} is an event for functions/{code_dir} (functions: {fits}), not for {function} "
            f"(functions/{known[function]}): events are named <code directory>__<case>.json"
        )
    try:
        event = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise InvokeError(f"EVENT={event_path!r} is not valid JSON: {error}") from error
    if not isinstance(event, dict):
        raise InvokeError(f"EVENT={event_path!r} must hold one JSON object (a Lambda event)")
    return Invocation(function, event)


def function_for(path: Path) -> str:
    """The function an event file is for: by its code directory, and for a queue consumer deployed more than once
    (deliver, one per target), by the queue in the event's eventSourceARN."""
    code_dir = path.name.partition("__")[0]
    candidates = sorted(name for name, directory in functions().items() if directory == code_dir)
    if len(candidates) == 1:
        return candidates[0]
    event = json.loads(path.read_text(encoding="utf-8"))
    arn = event["Records"][0]["eventSourceARN"]
    queue = arn.rsplit(":", 1)[1].split("-")[2]  # koppel-<stage>-<Queue logical id>-<suffix>
    (function,) = [name for name in candidates if name == f"Deliver{queue.removesuffix('Queue')}Function"]
    return function


class EventWorld:
    """The local stack and every vendor sandbox, seeded with what the recorded events name."""

    def __init__(self) -> None:
        from devkit.sandboxes.banqup.sandbox import BanqupSandbox
        from devkit.sandboxes.billy.sandbox import BillySandbox
        from devkit.sandboxes.bizzcloud.sandbox import BizzcloudSandbox
        from devkit.sandboxes.ccvshop.sandbox import CcvShopSandbox
        from devkit.sandboxes.eboekhouden.sandbox import EboekhoudenSandbox
        from devkit.sandboxes.pipedrive.sandbox import PipedriveSandbox
        from devkit.sandboxes.quickbooks.sandbox import QuickbooksSandbox
        from devkit.sandboxes.simplycrm.sandbox import SimplyCrmSandbox
        from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox

        self.stack = LocalStack()
        self.ccv: CcvShopSandbox = CcvShopSandbox()
        self.snelstart: SnelstartSandbox = SnelstartSandbox(subscription_key=SUBSCRIPTION_KEY)
        self.eboekhouden: EboekhoudenSandbox = EboekhoudenSandbox()
        self.bizzcloud: BizzcloudSandbox = BizzcloudSandbox()
        self.pipedrive: PipedriveSandbox = PipedriveSandbox()
        self.quickbooks: QuickbooksSandbox = QuickbooksSandbox()
        self.crm: SimplyCrmSandbox = SimplyCrmSandbox()
        self.billy: BillySandbox = BillySandbox()
        self.banqup: BanqupSandbox = BanqupSandbox()
        self.koppelsleutel = ""
        self.api_token = ""
        self.untouched = False
        """Whether the world is still as ``reset`` left it: a caller whose event changed nothing may say so and skip
        the next reset (it reseeds every sandbox)."""

    @property
    def sandboxes(self) -> tuple[Any, ...]:
        return (
            self.ccv, self.snelstart, self.eboekhouden, self.bizzcloud, self.pipedrive, self.quickbooks, self.crm,
            self.billy, self.banqup,
        )  # fmt: skip

    def __enter__(self) -> EventWorld:
        self.stack.start()
        for sandbox in self.sandboxes:
            sandbox.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for sandbox in self.sandboxes:
            sandbox.stop()
        self.stack.stop()

    def reset(self) -> None:
        """An empty stack and empty sandboxes, then the seed again: each event sees the same world."""
        self.stack.reset()
        for sandbox in self.sandboxes:
            sandbox.reset()
        self.seed()
        self.untouched = True

    def invoke(self, invocation: Invocation) -> Any:
        return self.stack.invoke(invocation.function, invocation.event)

    # -- the seed -----------------------------------------------------------------------------------------
    def seed(self) -> None:
        from devkit.koppelingen.banqup.seed import seed_demo_inbox
        from devkit.koppelingen.bizzcloud_eboekhouden.seed import seed_demo_kassa
        from devkit.koppelingen.pipedrive_quickbooks.seed import seed_demo_deals
        from devkit.koppelingen.simplycrm_billy.seed import seed_demo_crm

        # demo-deals first: its seed lets the schedule fire (the target sync reads QuickBooks' tax codes) and the
        # queues drain, which must not yet find what the other connections' events are about
        seed_demo_deals(self.stack, self.pipedrive, self.quickbooks)
        self._seed_demo_shop()
        self.api_token = seed_demo_kassa(self.bizzcloud, self.eboekhouden)
        self._seed_grants()
        seed_demo_crm(self.crm, self.billy)
        seed_demo_inbox(self.banqup, self.billy)

    def _seed_demo_shop(self) -> None:
        from devkit.koppelingen.ccvshop_snelstart.seed import seed_demo_shop

        self.koppelsleutel = seed_demo_shop(self.stack, self.snelstart, subscription_key=SUBSCRIPTION_KEY, ccv=self.ccv)
        # The koppelsleutel the recorded activation carries opens the same administratie
        self.snelstart.add_koppelsleutel(self.koppelsleutel, ACTIVATION_KOPPELSLEUTEL)

    def _seed_grants(self) -> None:
        """The owner's start link of connect__snelstart_start.json and the pending activation whose reference
        connect__snelstart_activation.json carries, both for demo-shop → SnelStart."""
        from koppel import bootstrap
        from koppel.inbound import digest
        from koppel.ports import Grant
        from koppel.settings import StoreSettings

        grants = bootstrap.grant_store(StoreSettings.load())
        expires = datetime.now(UTC) + timedelta(minutes=15)
        for token, purpose in ((START_TOKEN, "start"), (ACTIVATION_REFERENCE, "activation")):
            grant = Grant(connection_id="demo-shop", system="snelstart", purpose=purpose, expires_at=expires)
            grants.issue(digest(token), grant)


def serve(env_file: str) -> int:
    """Keep the seeded local stack up and write each function's environment to ``env_file`` in the shape of
    ``sam local invoke --env-vars``, for a machine with Docker; Ctrl-C stops it."""
    with EventWorld() as world:
        world.seed()
        outputs = world.stack._outputs()
        aws = {"AWS_ENDPOINT_URL": world.stack.endpoint_url, "AWS_ACCESS_KEY_ID": "testing"}
        aws |= {"AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-west-1"}
        env = {name: function.environment | aws for name, function in outputs.functions.items()}
        Path(env_file).write_text(json.dumps(env, indent=2) + "\n", encoding="utf-8")
        print(f"local stack at {world.stack.endpoint_url}, seeded; {env_file} written; Ctrl-C stops", file=sys.stderr)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] == "--serve":
        return serve(args[1])
    if len(args) != 2 or not all(args):
        print("usage: make invoke FN=<Function> EVENT=events/<file>.json", file=sys.stderr)
        print(f"functions: {', '.join(sorted(functions()))}", file=sys.stderr)
        return 2
    try:
        invocation = prepare(*args)
    except InvokeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # The handler's log lines (and the seed's) go to stderr, as `sam local invoke` shows them: stdout is the answer
    with contextlib.redirect_stdout(sys.stderr), EventWorld() as world:
        world.seed()
        answer = world.invoke(invocation)
    print(json.dumps(answer, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
