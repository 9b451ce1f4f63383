"""`make invoke FN=<Function> EVENT=events/<file>.json`: one recorded event through the handler of the function it
is named for, on the local stack, without Docker: what `sam local invoke <Function> -e events/<file>.json` does
on a machine with Docker.

The local stack (moto + the template's resources) starts with the vendor sandboxes, and the world the recorded
events name is seeded first: the connection ``demo-shop`` (CCV Shop → SnelStart, SnelStart activated, holding the
order the webhook names), ``demo-kassa`` (Bizzcloud → e-Boekhouden, holding the invoice the deliver and write-back
events name), the owner's start link and the pending activation the connect events carry. Then the handler runs
with the environment the template gives its function, and its answer is printed as JSON.
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
    from devkit.sandboxes.bizzcloud.sandbox import BizzcloudSandbox
    from devkit.sandboxes.ccvshop.sandbox import CcvShopSandbox
    from devkit.sandboxes.eboekhouden.sandbox import EboekhoudenSandbox
    from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox

REPO = Path(__file__).resolve().parent.parent
EVENTS = REPO / "events"

# What the recorded events carry (events/*.json): change them together.
WEBHOOK_KEY = "demo-ccv-webhook-key"
WEBHOOK_ORDER = 339493812
"""The order the recorded CCV Shop webhook names (tests/fixtures/ccvshop/webhook.orders.status_changed.json)."""
START_TOKEN = "demo-start-link-q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8"
"""The owner's start link token in connect__snelstart_start.json."""
ACTIVATION_REFERENCE = "q8cK3vXo1nB2mZ7rT4sY9wLdA0bC1dE2fG3hI4jK5lM"
"""The activation reference SnelStart sends back in connect__snelstart_activation.json."""
ACTIVATION_KOPPELSLEUTEL = "demo-koppelsleutel-1f6e0c2a9b"
SUBSCRIPTION_KEY = "demo-subscription-key"
ODOO_LOGIN, ODOO_KEY = "koppel@demo-kassa.nl", "demo-bizzcloud-api-key"


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
        from devkit.sandboxes.bizzcloud.sandbox import BizzcloudSandbox
        from devkit.sandboxes.ccvshop.sandbox import CcvShopSandbox
        from devkit.sandboxes.eboekhouden.sandbox import EboekhoudenSandbox
        from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox

        self.stack = LocalStack()
        self.ccv: CcvShopSandbox = CcvShopSandbox()
        self.snelstart: SnelstartSandbox = SnelstartSandbox(subscription_key=SUBSCRIPTION_KEY)
        self.eboekhouden: EboekhoudenSandbox = EboekhoudenSandbox()
        self.odoo: BizzcloudSandbox = BizzcloudSandbox()
        self.koppelsleutel = ""
        self.api_token = ""

    def __enter__(self) -> EventWorld:
        self.stack.start()
        for sandbox in (self.ccv, self.snelstart, self.eboekhouden, self.odoo):
            sandbox.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for sandbox in (self.ccv, self.snelstart, self.eboekhouden, self.odoo):
            sandbox.stop()
        self.stack.stop()

    def reset(self) -> None:
        """An empty stack and empty sandboxes, then the seed again: each event sees the same world."""
        self.stack.reset()
        for sandbox in (self.ccv, self.snelstart, self.eboekhouden, self.odoo):
            sandbox.reset()
        self.seed()

    def invoke(self, invocation: Invocation) -> Any:
        return self.stack.invoke(invocation.function, invocation.event)

    # -- the seed -----------------------------------------------------------------------------------------
    def seed(self) -> None:
        from koppel import bootstrap
        from koppel.settings import StoreSettings

        store = bootstrap.connection_store(StoreSettings.load())
        self._seed_demo_shop(store)
        self._seed_demo_kassa()
        self._seed_grants()

    def _seed_demo_shop(self, store: Any) -> None:
        from devkit.sandboxes.ccvshop.sandbox import RowSpec
        from devkit.sandboxes.snelstart.chart import land_id
        from devkit.scenarios import JAN
        from koppel.model import Connection

        self.ccv.add_shop("p", "s")
        self.ccv._ids["order"] = WEBHOOK_ORDER - 1  # the next order placed gets the id the recorded webhook names
        self.ccv.add_order(JAN, [RowSpec("OnePlus Blauw", 1, "585.00")], shipping="5.00", status=7, paid=True)
        self.koppelsleutel = self.snelstart.add_administratie("Demo B.V.")
        gate = self.snelstart.gate  # the koppelsleutel the recorded activation carries opens the same administratie
        gate.keys[ACTIVATION_KOPPELSLEUTEL] = gate.history[ACTIVATION_KOPPELSLEUTEL] = gate.keys[self.koppelsleutel]
        store.put(
            Connection(
                connection_id="demo-shop",
                tenant_id="tenant-demo",
                source="ccvshop",
                targets=("snelstart",),
                source_settings={"base_url": self.ccv.base_url},
                target_settings={
                    "snelstart": {
                        "api_base": f"{self.snelstart.base_url}/v2",
                        "auth_url": f"{self.snelstart.base_url}/b2b/token",
                        "activation_base": self.snelstart.base_url,
                        "ledger_ids": {
                            str(n): self.snelstart.grootboek_id(self.koppelsleutel, n)
                            for n in (8000, 8010, 8020, 8050, 8060)
                        },
                        "country_ids": {"NL": land_id("NL")},
                    }
                },
                created_at=datetime.now(UTC) - timedelta(days=1),
            )
        )
        store.put_secrets("demo-shop", "ccvshop", {"public_key": "p", "secret_key": "s", "webhook_key": WEBHOOK_KEY})
        store.put_secrets("demo-shop", "snelstart", {"koppelsleutel": self.koppelsleutel})
        partner = f"{self.stack._outputs().partner_secret_prefix}snelstart"
        self.stack.client("secretsmanager").put_secret_value(
            SecretId=partner,
            SecretString=json.dumps({"subscription_key": SUBSCRIPTION_KEY, "app_short_name": "koppel"}),
        )

    def _seed_demo_kassa(self) -> None:
        from devkit.demo_bizzcloud import HIGH, LOW

        self.odoo.add_user(ODOO_LOGIN, ODOO_KEY)
        # The invoice the deliver and write-back events name: move 1, INV/2026/00001 (its booking is the e-Boekhouden
        # event's document), for the write-back to register its payment on.
        countries = {row["code"]: row["id"] for row in self.odoo.records("res.country")}
        jansen = self.odoo.add_partner(
            name="Bakkerij Jansen", email="info@jansen.nl", ref="D1001", is_company=True, street="Dorpsstraat 1",
            zip="1234 AB", city="Utrecht", country_id=countries["NL"], vat="NL123456789B01",
        )  # fmt: skip
        lines = [
            {"product_id": 1, "quantity": 3, "price_unit": "19.99", "tax_names": [HIGH]},
            {"product_id": 2, "quantity": 1, "price_unit": "24.95", "tax_names": [LOW], "discount": 10},
        ]
        self.odoo.create_invoice(jansen, lines, invoice_date="2026-11-20")
        self.api_token = self.eboekhouden.add_administration("Demo Kassa B.V.")
        # Connected as a user connects it: the e-Boekhouden chart of accounts is read into the mapping at once
        cli(
            "connections", "add", "demo-kassa", "--tenant", "tenant-demo", "--name", "Demo kassa",
            "--source", "bizzcloud", "--target", "eboekhouden",
            "--setting", f"bizzcloud.url={self.odoo.base_url}", "--setting", "bizzcloud.database=bizzcloud",
            "--setting", f"eboekhouden.api_base={self.eboekhouden.base_url}",
            "--secret", f"bizzcloud.login={ODOO_LOGIN}", "--secret", f"bizzcloud.api_key={ODOO_KEY}",
            "--secret", f"eboekhouden.api_token={self.api_token}",
        )  # fmt: skip

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


def cli(*args: str) -> None:
    from koppel.cli import app

    app(list(args), standalone_mode=False)


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
