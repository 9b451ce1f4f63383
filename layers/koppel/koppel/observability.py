"""Shared Powertools instances. Tracer (X-Ray SDK, ~350 ms to import) is left out on purpose: the template
turns on Lambda's own active tracing, which needs no SDK in the cold start.

Every line Koppel's logger writes has its e-mail addresses masked (``jan@example.nl`` → ``j***@example.nl``):
customers' addresses are business data in the ledger and on the queues, never in the logs. And the wire traces of
the AWS SDK and of urllib3 stay off even when the log level is DEBUG (see ``_quiet_wire_traces``).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from koppel.adapters.emf_meter import EmfMeter

if TYPE_CHECKING:
    from aws_lambda_powertools.logging.types import LogRecord

_EMAIL = re.compile(r"(?<![\w.%+-])([\w%+-])[\w.%+-]*(@|%40)(?=[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,})")
"""The local part of an e-mail address, also URL-encoded (``%40``, as in a query string that an error names)."""
WIRE_TRACES = ("botocore", "boto3", "urllib3", "aws_lambda_powertools.event_handler")
"""At DEBUG these log whole requests and answers: Secrets Manager's secret values, KMS plaintexts, the query
strings that look a customer up by e-mail, and (Powertools' resolver) a route's arguments: a console sign-in's
username and password."""


def mask_emails(text: str) -> str:
    """Every e-mail address in ``text`` with its local part masked but its first character: ``j***@example.nl``."""
    return _EMAIL.sub(r"\1***\2", text) if ("@" in text or "%40" in text) else text


class MaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, with e-mail addresses masked in the finished line.

    Powertools' own hook for this is a formatter whose ``serialize`` is overridden. Masking the serialized line
    (rather than each value) reaches every place an address can hide: the message, every ``extra`` value however
    deeply nested, appended keys, an object printed through ``str`` and an exception's traceback. Written here
    because no library does it: Powertools' data masking utility erases whole fields chosen by JSONPath (and turns
    numbers into strings), which is for payloads, not for free text in a log line.
    """

    def serialize(self, log: LogRecord) -> str:
        return mask_emails(super().serialize(log))


def _quiet_wire_traces() -> None:
    """Keep the SDK's and urllib3's DEBUG wire traces out of the logs, even when Lambda's log level (or the root
    logger) is DEBUG. A level someone set on purpose is left as it is."""
    for name in WIRE_TRACES:
        wire = logging.getLogger(name)
        if wire.level == logging.NOTSET:
            wire.setLevel(logging.INFO)


logger = Logger(logger_formatter=MaskingFormatter())
meter = EmfMeter()
"""Koppel's metrics (koppel.ports.Meter), written as EMF lines when a handler decorated with ``meter.log_metrics``
ends."""
_quiet_wire_traces()
