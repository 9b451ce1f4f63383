"""What every answer to a probe must be, whatever the door: the invariants that need only the request and answer.

(What needs the stack, such as queues and tables, is checked by the runner and devkit.fuzz.state.)
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING
from urllib.parse import unquote

if TYPE_CHECKING:
    from devkit.fuzz.probe import Answer, Probe

GATEWAY_NOT_FOUND = {"message": "Not Found"}
"""API Gateway's own answer when no route matches (a wrong method, an empty path part): no function ran."""
GATEWAY_UNAUTHORIZED = {"message": "Unauthorized"}
"""API Gateway's own answer when a route's JWT authorizer refuses the token (the console's API): no function ran."""
INTERNALS = re.compile(r"Traceback|File \"|botocore|boto3|arn:aws:|\b[A-Z][A-Za-z]+(?:Error|Exception)\b")
"""A stack trace, an AWS name or a Python exception class: what an answer must never show a caller."""
FAILURE_KINDS = (
    "5xx",
    "no answer",
    "accepted bad input",
    "unexpected status",
    "4xx without a reason",
    "leaked a secret",
    "showed internals",
    "reflected markup",
    "enqueued",
    "read the vendor for it",
    "refusals differ",
)


def problems(probe: Probe, answer: Answer, secrets: set[str]) -> list[tuple[str, str]]:
    """(kind, detail) for every invariant this answer breaks; empty when it is a right answer."""
    if answer.status == 0:
        return [("no answer", answer.problem)]
    found: list[tuple[str, str]] = []
    status, text = answer.status, answer.text()
    if status >= 500:
        found.append(("5xx", ""))
    elif status < 400 and not probe.may_succeed:
        found.append(("accepted bad input", ""))
    elif status >= 400 and not has_reason(answer) and probe.method != "HEAD":  # an answer to HEAD has no body
        found.append(("4xx without a reason", "no JSON error"))
    if probe.expect and status not in probe.expect and (status >= 400 or probe.may_succeed) and status < 500:
        found.append(("unexpected status", f"expected {'/'.join(map(str, sorted(probe.expect)))}"))
    found += _worded_otherwise(probe, answer)
    sent = unquote(probe.sent_text())
    leaked = sorted(secret for secret in secrets if secret in text and secret not in sent)
    if leaked:
        found.append(("leaked a secret", f"{len(leaked)} secret(s), e.g. {leaked[0][:6]}…"))
    if shown := [value for value in probe.not_shown if value and value in text]:
        found.append(("leaked a secret", f"another tenant's {shown[0][:12]!r}"))
    if match := INTERNALS.search(text):
        found.append(("showed internals", match.group(0)))
    if "html" in answer.content_type and "<script" in sent.lower() and "<script" in text.lower():
        found.append(("reflected markup", "<script> from the request is in the page"))
    return found


def _worded_otherwise(probe: Probe, answer: Answer) -> list[tuple[str, str]]:
    """A refusal whose ``error`` is not the one the probe was promised (an unseen connection's 404 must read as an
    unknown one's)."""
    if probe.reads_as and answer.status >= 400 and _error(answer) != probe.reads_as:
        return [("refusals differ", f"expected the error {probe.reads_as!r}")]
    return []


def _error(answer: Answer) -> object:
    try:
        body = json.loads(answer.body)
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def has_reason(answer: Answer) -> bool:
    """A JSON object with a non-empty ``error`` sentence, or API Gateway's own 404 when no route matched."""
    try:
        body = json.loads(answer.body)
    except ValueError:
        return False
    if (answer.status, body) in ((404, GATEWAY_NOT_FOUND), (401, GATEWAY_UNAUTHORIZED)):
        return True
    return isinstance(body, dict) and isinstance(body.get("error"), str) and bool(body["error"].strip())
