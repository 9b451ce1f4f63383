"""Nothing secret leaks while the whole demo runs (issue 8, "Secrets").

The demo is played once, whole, in a child process, the way `make demo` runs it (``devkit.demo.main()``), with
Koppel's logger and the root logger at DEBUG. Everything the process writes is captured: Powertools' JSON logs,
library log lines, the CLI's output and the demo's own story. Then every secret and token the demo used is
searched for. They are taken from where they were made, not written down here: the vendor sandboxes (API keys,
webhook keys, koppelsleutels, bearer and session tokens, activation reference keys), the start links Koppel's doors
were given, and Koppel's own Connections table (every ciphertext, decrypted with its row's encryption context).
The search covers every captured line, every DynamoDB item (at the end, and every one written on the way) outside
its ciphertext, every message sent to a queue or left on a dead-letter queue, and every answer Koppel's functions
gave. Every KMS decrypt is also listed with the function that asked for it.

The child process records, and does not change, what the demo does: it wraps ``Sandbox.start`` (to know the
sandboxes), ``LocalStack.invoke`` (to keep every function's event and answer) and ``LocalStack.stop`` (to read
every table and queue before the stack goes away), each calling the original; and it listens to botocore's
``provide-client-params`` event for DynamoDB writes, SQS sends and KMS decrypts.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import subprocess
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
MIN_LENGTH = 8
"""Values shorter than this are not searched: they would match ordinary words. (The only such value is the Bizzcloud
sandbox's seeded admin/admin user, which Koppel never uses.)"""
EMAIL = re.compile(r"[\w.%+-]+(?:@|%40)[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
"""An e-mail address whose local part is not masked (a masked one reads ``j***@example.nl``)."""
POWERTOOLS_DEBUG_LINE = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+ aws_lambda_powertools\S* \[[A-Z]+\] ")


# -- the child process: play the demo, record what it used -----------------------------------------------------------
def play_demo_and_report(report: str) -> int:
    """Run ``devkit.demo.main()`` and write what the sandboxes issued and what the stack held to ``report``."""
    # Like a Lambda container: the runtime's root handler first (here at DEBUG, so every library's lines are
    # kept), then Koppel's logging set up before anything happens (every handler imports koppel.observability)
    root = logging.StreamHandler(sys.stderr)
    root.setFormatter(_OneLine())
    logging.basicConfig(level=logging.DEBUG, handlers=[root])
    import koppel.observability  # noqa: F401
    from devkit import demo, local
    from devkit.sandboxes.kit.server import Sandbox

    sandboxes: list[Any] = []
    answers: list[dict[str, Any]] = []
    writes: list[dict[str, Any]] = []
    decrypts: list[dict[str, str]] = []
    links: set[str] = set()
    snapshot: dict[str, Any] = {}
    running = threading.local()  # which function the current thread is running (none: the demo or the CLI)
    _record_calls(writes, decrypts, lambda: getattr(running, "function", OPERATOR))
    start, stop, invoke = Sandbox.start, local.LocalStack.stop, local.LocalStack.invoke

    def recording_start(self: Any, *args: Any, **kwargs: Any) -> str:
        sandboxes.append(self)
        return start(self, *args, **kwargs)

    def recording_invoke(self: Any, logical_id: str, event: dict[str, Any], **kwargs: Any) -> Any:
        running.function = logical_id
        try:
            answer = invoke(self, logical_id, event, **kwargs)
        finally:
            del running.function
        answers.append({"function": logical_id, "answer": answer})
        query = (event.get("queryStringParameters") or {}).items()
        links.update(v for k, v in query if k not in NOT_A_TOKEN and LINK_TOKEN.fullmatch(v))
        return answer

    def stop_after_snapshot(self: Any) -> None:
        if self.outputs is not None and not snapshot:
            running.function = SNAPSHOT
            snapshot.update(_snapshot(self))
            del running.function
        stop(self)

    Sandbox.start = recording_start  # type: ignore[method-assign]
    local.LocalStack.invoke = recording_invoke  # type: ignore[method-assign]
    local.LocalStack.stop = stop_after_snapshot  # type: ignore[method-assign]
    try:
        exit_code = demo.main()
    except Exception:
        traceback.print_exc()
        exit_code = 1
    sys.stdout.flush()
    issued = [{"sandbox": type(sandbox).__name__, "secrets": _issued(sandbox)} for sandbox in sandboxes]
    if links:  # printed by `koppel connections activate` for its operator, on purpose: searched everywhere else
        issued.append({"sandbox": "Koppel's start links", "secrets": [(START_LINK, token) for token in links]})
    emails = sorted({email for sandbox in sandboxes for email in _customer_emails(sandbox)})
    Path(report).write_text(
        json.dumps(
            {
                "exit_code": exit_code,
                "issued": issued,
                "customer_emails": emails,
                "answers": answers,
                "writes": writes,
                "decrypts": decrypts,
                **snapshot,
            },
            default=str,
        )
    )
    return exit_code


OPERATOR, SNAPSHOT = "the demo or the koppel CLI", "this test's snapshot"
START_LINK = "Koppel start link token"
LINK_TOKEN = re.compile(r"[\w-]{16,}")
"""A token in a link to one of Koppel's doors (not a URL, not a connection id)."""
NOT_A_TOKEN = {"realmId", "companyId", "userId", "selectedIds", "resource", "view", "isShared"}
"""Query parameters of Koppel's doors that name an account or a record, not a credential (QuickBooks' return names
the company, Pipedrive's app-extension requests the company, the user and the deals)."""
WHERE_A_GRANT_OPENS = {"api_domain", "company_id", "realm_id"}
"""Stored with an OAuth grant, encrypted like it, but not secret: the vendor account and its API address."""
WRITES = {
    "dynamodb": {"PutItem", "UpdateItem", "BatchWriteItem", "TransactWriteItems"},
    "sqs": {"SendMessage", "SendMessageBatch"},
}


def _record_calls(writes: list[dict[str, Any]], decrypts: list[dict[str, str]], caller: Callable[[], str]) -> None:
    """Every DynamoDB write and every SQS message sent in this process, as its parameters (so what was stored or
    queued and deleted later is searched too), and who decrypted which connection's credentials of which system.
    Recorded with botocore's own event hook on boto3's default session, which every client here is made from."""
    import boto3

    boto3.setup_default_session()

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        service = model.service_model.service_name
        if (service, model.name) == ("kms", "Decrypt"):
            decrypts.append({"by": caller(), **params.get("EncryptionContext", {})})
        elif model.name in WRITES.get(service, set()):
            writes.append({"call": f"{service}.{model.name}", "params": json.loads(json.dumps(params, default=str))})

    for service in (*WRITES, "kms"):
        boto3.DEFAULT_SESSION.events.register(f"provide-client-params.{service}", record)  # type: ignore[union-attr]


class _OneLine(logging.Formatter):
    """A library's log record on one line, ``LOG <level> <logger> <message>``, its traceback included."""

    def format(self, record: logging.LogRecord) -> str:
        return "LOG " + f"{record.levelname} {record.name} {super().format(record)}".replace("\n", "\\n")


def _issued(sandbox: Any) -> list[tuple[str, str]]:
    """(what, value) for every credential and token a sandbox issued or was given."""
    from devkit.sandboxes.banqup.sandbox import BanqupSandbox
    from devkit.sandboxes.billy.sandbox import BillySandbox
    from devkit.sandboxes.bizzcloud.sandbox import BizzcloudSandbox
    from devkit.sandboxes.ccvshop.sandbox import CcvShopSandbox
    from devkit.sandboxes.eboekhouden.sandbox import EboekhoudenSandbox
    from devkit.sandboxes.pipedrive.sandbox import PipedriveSandbox
    from devkit.sandboxes.quickbooks.sandbox import QuickbooksSandbox
    from devkit.sandboxes.simplycrm.sandbox import SimplyCrmSandbox
    from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox

    found: list[tuple[str, str]] = []
    if isinstance(sandbox, CcvShopSandbox):
        for shop in sandbox.shops.values():
            found += [("CCV Shop API public key", shop.public), ("CCV Shop API secret key", shop.secret)]
            found += [("CCV Shop webhook key", str(hook["key"])) for hook in shop.webhooks.values()]
    elif isinstance(sandbox, SnelstartSandbox):
        found.append(("SnelStart partner subscription key", sandbox.subscription_key))
        found += [("SnelStart koppelsleutel", key) for key in sandbox.gate.history]
        found += [("SnelStart bearer token", token) for token in sandbox.gate.tokens]
        for delivery in sandbox.webhook_deliveries:
            reference = str(delivery["payload"]["referenceKey"])
            found.append(("SnelStart activation reference key", reference))
            found.append(("SnelStart activation nonce", reference.partition(".")[2]))
    elif isinstance(sandbox, EboekhoudenSandbox):
        found += [("e-Boekhouden API token", token) for token in sandbox.sessions.access_tokens]
        found += [("e-Boekhouden session token", token) for token in sandbox.sessions.tokens]
    elif isinstance(sandbox, BizzcloudSandbox):
        for user in sandbox.users.values():
            found += [("Bizzcloud API key", key) for key in user["keys"]]
            found += [("Bizzcloud password", user["password"])] if user["password"] else []
            found += [("Bizzcloud login", user["login"])] if user["keys"] else []
    elif isinstance(sandbox, PipedriveSandbox | QuickbooksSandbox):
        found += _oauth_issued(sandbox)
    elif isinstance(sandbox, SimplyCrmSandbox | BillySandbox | BanqupSandbox):
        found += _keys_and_tokens_issued(sandbox)
    else:
        raise TypeError(f"teach tests/e2e/test_no_secret_leaks.py which secrets {type(sandbox).__name__} issues")
    return found


def _keys_and_tokens_issued(sandbox: Any) -> list[tuple[str, str]]:
    """Simply CRM's users' access keys and the sessions it opened; Billy's access tokens; the client secrets of the
    firms' apps in Banqup and the access tokens Banqup handed out."""
    from devkit.sandboxes.banqup.sandbox import BanqupSandbox
    from devkit.sandboxes.simplycrm.sandbox import SimplyCrmSandbox

    if isinstance(sandbox, BanqupSandbox):
        secrets = [("Banqup app client secret", firm.client_secret) for firm in sandbox.firms.values()]
        return secrets + [("Banqup access token", token) for token in sandbox.tokens]
    if isinstance(sandbox, SimplyCrmSandbox):
        keys = [("Simply CRM access key", user.access_key) for user in sandbox.gate.users.values()]
        return keys + [("Simply CRM session", name) for name in sandbox.gate.sessions]
    return [("Billy access token", token) for token in sandbox.store.tokens]


def _oauth_issued(sandbox: Any) -> list[tuple[str, str]]:
    """What the OAuth vendors' sandboxes issued or were given: the app's secrets, every access and refresh token."""
    from devkit.sandboxes.pipedrive.sandbox import PipedriveSandbox

    found: list[tuple[str, str]] = []
    if isinstance(sandbox, PipedriveSandbox):
        book = sandbox.tokens
        for client in book.clients.values():
            found.append(("Pipedrive app client secret", client.client_secret))
            found += [("Pipedrive app extension JWT secret", client.jwt_secret)] if client.jwt_secret else []
        found += [("Pipedrive API token", token) for token in book.api_tokens]
        found += [("Pipedrive OAuth access token", token) for token in book.access]
        # every refresh token ever issued or presented, rotated-out ones included
        found += [("Pipedrive OAuth refresh token", token) for token in {*book.refresh, *book.uses}]
        return found
    oauth, verifier = sandbox.oauth, sandbox.webhooks.verifier_token
    found += [("Intuit app client secret", secret) for secret, _ in oauth.clients.values()]
    found += [("QuickBooks OAuth access token", token) for token in oauth.access]
    found += [("QuickBooks OAuth refresh token", token) for token in oauth.refresh]
    found += [("Intuit webhook verifier token", verifier)] if verifier else []
    return found


def _customer_emails(sandbox: Any) -> set[str]:
    """The e-mail addresses of the customers in a source sandbox: business data Koppel books."""
    from devkit.sandboxes.bizzcloud.sandbox import BizzcloudSandbox
    from devkit.sandboxes.ccvshop.sandbox import CcvShopSandbox
    from devkit.sandboxes.pipedrive.sandbox import PipedriveSandbox

    if isinstance(sandbox, CcvShopSandbox):
        orders = [order for shop in sandbox.shops.values() for order in shop.orders.values()]
        return {str(o["customer"]["email"]) for o in orders if o.get("customer", {}).get("email")}
    if isinstance(sandbox, BizzcloudSandbox):
        return {str(p["email"]) for p in sandbox.records("res.partner") if p.get("email")}
    if isinstance(sandbox, PipedriveSandbox):
        return {str(e["value"]) for person in sandbox.store.persons.values() for e in person.get("emails") or []}
    from devkit.sandboxes.simplycrm.sandbox import SimplyCrmSandbox

    if isinstance(sandbox, SimplyCrmSandbox):
        rows = [*sandbox.records("Accounts"), *sandbox.records("Contacts")]
        return {str(row.get("email1") or row.get("email")) for row in rows if row.get("email1") or row.get("email")}
    from devkit.sandboxes.banqup.sandbox import BanqupSandbox

    if isinstance(sandbox, BanqupSandbox):  # the suppliers' and customers' addresses in the documents themselves
        texts = [
            document.content.decode(errors="replace") for document in sandbox.documents.values() if document.content
        ]
        return {match.group() for text in texts for match in EMAIL.finditer(text)}
    return set()


def _snapshot(stack: Any) -> dict[str, Any]:
    """Every DynamoDB item, every message on every queue, and every stored ciphertext decrypted (or why not)."""
    db, sqs, kms = stack.client("dynamodb"), stack.client("sqs"), stack.client("kms")
    tables: dict[str, list[dict[str, Any]]] = {}
    for name in db.list_tables()["TableNames"]:
        tables[name] = [item for page in db.get_paginator("scan").paginate(TableName=name) for item in page["Items"]]
    queues: dict[str, dict[str, Any]] = {}
    for url in stack.client("sqs").list_queues().get("QueueUrls", []):
        messages: list[dict[str, Any]] = []
        while batch := sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=900, AttributeNames=["All"],
            MessageAttributeNames=["All"], WaitTimeSeconds=0,
        ).get("Messages", []):  # fmt: skip
            messages += batch
        in_flight = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
        unread = int(in_flight["Attributes"]["ApproximateNumberOfMessagesNotVisible"]) - len(messages)
        queues[url] = {"messages": messages, "unread": unread}
    stored: list[dict[str, Any]] = []
    rows = [item for item in tables[stack.outputs.connections_table] if "ciphertext" in item]
    contexts = [{"connection_id": item["pk"]["S"], "system": item["sk"]["S"].partition("#")[2]} for item in rows]
    for item, context in zip(rows, contexts, strict=True):
        blob = base64.b64decode(item["ciphertext"]["S"])
        stored.append(
            {
                "row": f"{item['pk']['S']} {item['sk']['S']}",
                "values": json.loads(kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"]),
                "opened_by_another_row": [o for o in contexts if o != context and _decrypts(kms, blob, o)],
            }
        )
    functions = stack.outputs.functions.items()
    return {
        "functions": {
            name: {"module": f.module, "connector": f.environment.get("CONNECTOR", "")} for name, f in functions
        },
        "tables": tables,
        "table_names": {
            "connections": stack.outputs.connections_table,
            "ledger": stack.outputs.ledger_table,
            "idempotency": stack.outputs.idempotency_table,
        },
        "queues": queues,
        "stored": stored,
    }


def _decrypts(kms: Any, blob: bytes, context: dict[str, str]) -> bool:
    try:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
    except kms.exceptions.InvalidCiphertextException:
        return False
    return True


# -- the tests ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Played:
    report: dict[str, Any]
    lines: list[str]
    secrets: dict[str, str]
    """Every secret value the demo used → what it is."""

    def log_records(self) -> list[str]:
        """Lines a logger wrote: Koppel's JSON lines, libraries' lines (``LOG …``) and Powertools' own debug lines."""
        return [line for line in self.lines if line.startswith(("{", "LOG ")) or POWERTOOLS_DEBUG_LINE.match(line)]

    def writes(self, service: str) -> list[tuple[int, dict[str, Any]]]:
        return [(n, w) for n, w in enumerate(self.report["writes"]) if w["call"].startswith(f"{service}.")]

    def table(self, which: str) -> list[dict[str, Any]]:
        return list(self.report["tables"][self.report["table_names"][which]])


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Played:
    # Given the whole demo, played once in its own process with every logger at DEBUG
    report = tmp_path_factory.mktemp("leaks") / "report.json"
    env = {name: value for name, value in os.environ.items() if name != "AWS_PROFILE"}  # never a real account
    env |= {"POWERTOOLS_SERVICE_NAME": "koppel", "POWERTOOLS_DEBUG": "true"}
    env |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-west-1"}
    env |= {"POWERTOOLS_LOG_LEVEL": "DEBUG", "LOG_LEVEL": "DEBUG"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "layers" / "koppel"), str(ROOT)])
    code = f"import sys, tests.e2e.test_no_secret_leaks as t; sys.exit(t.play_demo_and_report({str(report)!r}))"
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    lines = (run.stdout + "\n" + run.stderr).splitlines()
    assert report.exists(), "\n".join(lines[-40:])
    data = json.loads(report.read_text())
    assert run.returncode == 0 == data["exit_code"], "the demo did not finish:\n" + "\n".join(lines[-40:])
    return Played(report=data, lines=lines, secrets=_secrets(data))


def _secrets(report: dict[str, Any]) -> dict[str, str]:
    secrets = {value: what for entry in report["issued"] for what, value in entry["secrets"]}
    for stored in report["stored"]:
        for name, value in stored["values"].items():
            if name == "expires_at" or name in WHERE_A_GRANT_OPENS:
                continue  # a token's expiry time, or the account it opens, stored beside its value
            for part in str(value).split(","):  # several webhook keys are stored comma-separated
                secrets.setdefault(part.strip(), f"stored {name} ({stored['row']})")
    return {value: what for value, what in secrets.items() if len(value) >= MIN_LENGTH}


def _needles(secret: str) -> set[str]:
    """The ways a secret could be written: as is, URL-encoded (a koppelsleutel has + / =), base64-encoded inside
    something longer (a Basic header, a KMS plaintext in a wire trace) and, for long ones, their first and last 16
    characters (a message cut short)."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret)}
    if len(secret) >= 16:
        for offset in range(3):  # base64 of the secret wherever it starts, without the blocks it shares
            encoded = base64.b64encode(b"\0" * offset + secret.encode()).decode()
            forms.add(encoded[4 if offset else 0 : -4])
    if len(secret) >= 32:
        forms |= {secret[:16], secret[-16:]}
    return forms


def _leaks(texts: Iterable[tuple[str, str]], secrets: dict[str, str]) -> list[str]:
    needles = {needle: secret for secret in secrets for needle in _needles(secret)}
    pattern = re.compile("|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)))
    return [f"{where}: {secrets[needles[match.group()]]}" for where, text in texts for match in pattern.finditer(text)]


def _items(items: list[dict[str, Any]], table: str) -> Iterator[tuple[str, str]]:
    for item in items:
        key = f"{table} {item.get('pk', {}).get('S', '')} {item.get('sk', {}).get('S', '')}"
        yield key, json.dumps(_without_ciphertext(item))


def test_the_demo_used_secrets_of_every_sandbox_and_koppel_stored_them_encrypted(played: Played) -> None:
    # Then every sandbox the demo started issued or was given credentials, and Koppel stored credentials
    issued = {entry["sandbox"]: len(entry["secrets"]) for entry in played.report["issued"]}
    assert len(issued) >= 2
    assert [sandbox for sandbox, count in issued.items() if count == 0] == []
    assert played.report["stored"], "Koppel stored no ciphertext"
    # And each ciphertext opens with its own row's context only: copied to another connection or system, it does not
    assert [s["row"] for s in played.report["stored"] if s["opened_by_another_row"]] == []
    # And the capture saw Powertools' JSON log lines, not only the demo's story
    assert any(line.startswith("{") and '"service":"koppel"' in line for line in played.lines)


def test_each_function_decrypts_only_the_credentials_of_the_systems_it_talks_to(played: Played) -> None:
    connections = {
        item["pk"]["S"]: json.loads(item["body"]["S"])
        for item in played.table("connections")
        if item["sk"]["S"] == "connection"
    }
    # When every KMS decrypt during the demo is listed with the function that asked for it
    by_function: dict[str, set[str]] = {}
    for decrypt in played.report["decrypts"]:
        if decrypt["by"] not in (OPERATOR, SNAPSHOT):
            by_function.setdefault(decrypt["by"], set()).add(f"{decrypt['connection_id']} {decrypt['system']}")
    # Then a deliver function decrypted only its own target's credentials, the webhook receiver only the source's,
    # the poll the source's and the targets' (it reads their charts and payments back), the activation only the
    # targets', and the scheduler nothing
    assert {"functions.deliver.app", "functions.poll_source.app"} <= {
        played.report["functions"][name]["module"] for name in by_function
    }
    for name, decrypted in by_function.items():
        function = played.report["functions"][name]
        for row in decrypted:
            connection_id, system = row.split(" ", 1)
            connection = connections[connection_id]
            allowed = {
                "functions.deliver.app": {function["connector"]},
                "functions.ingest_webhook.app": {connection["source"]},
                "functions.poll_source.app": {connection["source"], *connection["targets"]},
                "functions.connect.app": set(connection["targets"]),
                # the button re-reads the record from the source; the panel's actions act in the targets
                "functions.apps.app": {connection["source"], *connection["targets"]},
            }.get(function["module"], set())
            assert system.partition(".")[0] in allowed, f"{name} decrypted {row}"


def test_no_secret_or_token_appears_in_any_line_the_demo_wrote(played: Played) -> None:
    # When every line of output (logs at DEBUG, CLI, story) is searched for every secret and token
    lines = [(f"line {number}", line) for number, line in enumerate(played.lines, 1)]
    records = [(f"log record {number}", line) for number, line in enumerate(played.log_records(), 1)]
    # Then none is found; a start link only in the lines the CLI printed for its operator, never in a log record
    assert _leaks(lines, {v: what for v, what in played.secrets.items() if what != START_LINK}) == []
    assert _leaks(records, played.secrets) == []


def test_no_secret_is_stored_in_plain_text_in_any_table(played: Played) -> None:
    # When every item of every table at the end, and every item written during the demo (some were deleted since,
    # at a disconnect), is read with its ciphertext left out
    texts = [text for name, items in played.report["tables"].items() for text in _items(items, name)]
    texts += [
        (f"write {n} {w['call']}", json.dumps(_without_ciphertext(w["params"]))) for n, w in played.writes("dynamodb")
    ]
    # Then no secret is in a connection's settings, a ledger row, an idempotency record or any other row
    assert texts
    assert _leaks(texts, played.secrets) == []


def test_no_secret_is_on_any_queue_or_dead_letter_queue(played: Played) -> None:
    queues = played.report["queues"]
    # When every message sent during the demo, and every message still on a queue or DLQ at its end, is read
    sent = [(f"sent {n} {w['call']}", json.dumps(w["params"])) for n, w in played.writes("sqs")]
    left = [(url, json.dumps(m)) for url, q in queues.items() for m in q["messages"]]
    # Then every message left could be read, and none carries a secret
    assert sent
    assert {url: q["unread"] for url, q in queues.items() if q["unread"] > 0} == {}
    assert _leaks(sent + left, played.secrets) == []


def _without_ciphertext(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_ciphertext(v) for k, v in value.items() if k != "ciphertext"}
    if isinstance(value, list):
        return [_without_ciphertext(v) for v in value]
    return value


def test_no_answer_of_koppels_functions_carries_a_secret(played: Played) -> None:
    # When every answer a function gave is read (webhook and activation answers, batch results)
    answers = played.report["answers"]
    texts = [(f"{a['function']} answer {n}", json.dumps(_without_redirect(a["answer"]))) for n, a in enumerate(answers)]
    # Then none carries a secret
    assert any(isinstance(a["answer"], dict) and "statusCode" in a["answer"] for a in answers)
    assert _leaks(texts, played.secrets) == []


def _without_redirect(answer: Any) -> Any:
    """A redirect to a vendor's activation page carries the activation reference by the vendor's protocol: that
    header is the one place it must be; the rest of the answer is searched."""
    if isinstance(answer, dict) and str(answer.get("statusCode", "")).startswith("3"):
        headers = {k: v for k, v in (answer.get("headers") or {}).items() if k.lower() != "location"}
        return {**answer, "headers": headers}
    return answer


def test_email_addresses_in_the_logs_are_masked(played: Played) -> None:
    # When the log records are searched for e-mail addresses
    unmasked = [match.group() for line in played.log_records() for match in EMAIL.finditer(line)]
    # Then every one is masked (j***@example.nl), the customers' addresses included
    assert played.report["customer_emails"]
    assert unmasked == []


def test_the_business_data_needed_for_booking_keeps_the_real_email_addresses(played: Played) -> None:
    # Given the customers' e-mail addresses in the source systems
    customers = {email.casefold() for email in played.report["customer_emails"]}
    # When the ledger rows (which keep each event for replay) are read
    events = [item["event_json"]["S"] for item in played.table("ledger") if "event_json" in item]
    in_ledger = {m.group().casefold() for text in events for m in EMAIL.finditer(text)}
    # Then they hold the customers' addresses as they are, unmasked, and nothing masked
    assert in_ledger
    assert in_ledger <= customers
    assert not any("***@" in text for text in events)
