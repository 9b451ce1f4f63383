"""The metrics on the local stack: the handlers write CloudWatch EMF lines to their log (stdout, as on Lambda), with
Koppel's metric names and the koppeling and target as dimensions (docs/design.md, Metrics and alarms)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import pytest

from devkit.stack import load_template, target_bindings
from koppel.ports import CountName, LatencyName

if TYPE_CHECKING:
    from devkit.local import LocalStack

EVENTS = Path(__file__).resolve().parents[2] / "events"


@pytest.fixture
def metrics_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local stack keeps EMF off so the demo prints only its story; these tests turn it on."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")


def emf_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]


def metric_names(line: dict[str, Any]) -> set[str]:
    return {m["Name"] for spec in line["_aws"]["CloudWatchMetrics"] for m in spec["Metrics"]}


def test_a_delivered_order_writes_booked_and_its_latency_for_its_koppeling(
    clean_stack: LocalStack, demo_shop: str, metrics_on: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the recorded CCV order on the SnelStart queue
    body = json.loads((EVENTS / "deliver__order_completed.json").read_text())["Records"][0]["body"]
    clean_stack.client("sqs").send_message(QueueUrl=clean_stack._outputs().target_queues["snelstart"], MessageBody=body)
    capsys.readouterr()
    # When the SnelStart consumer books it
    clean_stack.run_until_idle()
    # Then its log holds one EMF line: Booked 1 and the booking latency, for ccvshop_snelstart on target snelstart
    (line,) = emf_lines(capsys.readouterr().out)
    spec = line["_aws"]["CloudWatchMetrics"][0]
    assert spec["Namespace"] == "Koppel"
    assert spec["Dimensions"] == [["koppeling", "target"], ["target"]]
    assert metric_names(line) == {"Booked", "BookingLatency"}
    assert (line["koppeling"], line["target"], line["Booked"]) == ("ccvshop_snelstart", "snelstart", [1])
    assert 0 <= line["BookingLatency"][0] < 60
    # And it names no connection or tenant (those are in the log lines and the ledger)
    assert demo_shop not in json.dumps(line)


def test_a_message_that_is_no_event_is_counted_dead_lettered_for_its_target(
    clean_stack: LocalStack, demo_shop: str, metrics_on: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given something on the SnelStart queue that is not a Koppel event
    clean_stack.client("sqs").send_message(
        QueueUrl=clean_stack._outputs().target_queues["snelstart"], MessageBody='{"oops": 1}'
    )
    capsys.readouterr()
    # When the consumer moves it to the DLQ
    clean_stack.run_until_idle()
    # Then DeadLettered is counted for the target; its source is unknown
    (line,) = emf_lines(capsys.readouterr().out)
    assert metric_names(line) == {"DeadLettered"}
    assert (line["koppeling"], line["target"], line["DeadLettered"]) == ("unknown_snelstart", "snelstart", [1])


def test_a_refused_webhook_is_counted_under_no_koppeling(
    clean_stack: LocalStack, demo_shop: str, metrics_on: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the recorded webhook with a wrong signature
    event = json.loads((EVENTS / "ingest_webhook__bad_signature.json").read_text())
    capsys.readouterr()
    # When it reaches ingest_webhook and is answered 401
    assert clean_stack.invoke("IngestWebhookFunction", event)["statusCode"] == 401
    # Then WebhookRefused is counted as unverified: anyone can send one
    (line,) = emf_lines(capsys.readouterr().out)
    assert (line["koppeling"], line["WebhookRefused"]) == ("unverified", [1])


def test_the_local_stack_writes_no_emf_unless_asked(
    clean_stack: LocalStack, demo_shop: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the local stack as the demo runs it, when a webhook is refused
    event = json.loads((EVENTS / "ingest_webhook__bad_signature.json").read_text())
    clean_stack.invoke("IngestWebhookFunction", event)
    # Then no EMF line is printed among the demo's own output
    assert emf_lines(capsys.readouterr().out) == []


# ------------------------------------------------------------------------------------------- the template
TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
NAMESPACE = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]


def _alarms_on(metric: str) -> dict[str, dict[str, Any]]:
    return {
        name: res["Properties"]
        for name, res in RESOURCES.items()
        if res["Type"] == "AWS::CloudWatch::Alarm" and res["Properties"]["MetricName"] == metric
    }


@pytest.mark.parametrize(
    ("metric", "kind"), [("Parked", "Parked"), ("Retried", "RetryStorm"), ("BookingLatency", "Latency")]
)
def test_every_target_has_its_alarm_on_koppels_own_metrics(metric: str, kind: str) -> None:
    # Given every target of the template (a Deliver{Vendor}Function) and the alarms on one of Koppel's metrics
    targets = target_bindings(TEMPLATE)
    alarms = _alarms_on(metric)
    # Then each target has exactly one, in the namespace the functions write to, on its target dimension
    for target, (function, _) in targets.items():
        name = function.removeprefix("Deliver").removesuffix("Function") + f"{kind}Alarm"
        alarm = alarms.pop(name)
        assert alarm["Namespace"] == NAMESPACE
        assert alarm["Dimensions"] == [{"Name": "target", "Value": target}]
        assert alarm["TreatMissingData"] == "notBreaching"
        # And its description tells the operator what to do next
        assert "koppel " in json.dumps(alarm["AlarmDescription"]) or "Queue" in json.dumps(alarm["AlarmDescription"])
    assert alarms == {}, "an alarm for a target the template does not deliver to"


def test_the_metric_names_in_the_template_are_the_ones_the_code_writes() -> None:
    # Given the metric names of the Meter port
    written = set(get_args(CountName)) | set(get_args(LatencyName))
    # When the dashboard and the alarms are read
    body = RESOURCES["KoppelDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
    alarmed = {res["Properties"]["MetricName"] for res in RESOURCES.values() if res["Type"] == "AWS::CloudWatch::Alarm"}
    # Then the dashboard shows every one, and every alarm on Koppel's namespace watches one of them
    assert {name for name in written if f'MetricName=\\"{name}\\"' in body} == written
    assert alarmed - {"ApproximateNumberOfMessagesVisible"} <= written


def test_the_dashboard_is_created_on_the_local_stack_with_every_dead_letter_queue(clean_stack: LocalStack) -> None:
    # Given the local stack created from the template
    cloudwatch = clean_stack.client("cloudwatch")
    # When its dashboard is read back
    (entry,) = cloudwatch.list_dashboards()["DashboardEntries"]
    body = json.loads(cloudwatch.get_dashboard(DashboardName=entry["DashboardName"])["DashboardBody"])
    # Then it is valid JSON whose DLQ widget names each dead-letter queue the stack made
    queues = {m[3] for w in body["widgets"] for m in w["properties"]["metrics"] if m[0] == "AWS/SQS"}
    dlq_urls = clean_stack._outputs().dlq_urls
    assert queues == {url.rsplit("/", 1)[1] for url in dlq_urls.values()}
