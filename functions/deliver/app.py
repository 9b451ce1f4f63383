"""SQS consumer, deployed once per target (env CONNECTOR): book each event exactly once.

parse (Powertools batch, HubEnvelope) → service (koppel.services.deliver) → adapters (koppel.bootstrap).
Retryable failures become batch item failures whose message reappears after the vendor's Retry-After or an
exponential backoff; parked records are acknowledged, because the ledger keeps them with their reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from koppel.observability import logger, meter
from koppel.runtime import DeliverRuntime

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

# A partial response even when every record failed: each failed message keeps its own backoff.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
_runtime: list[DeliverRuntime] = []  # built on the first invocation, not at import: moto-safe, fast cold start


def record_handler(record: SQSRecord) -> None:
    _runtime[0].handle(record)


@logger.inject_lambda_context(clear_state=True)
@meter.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    if not _runtime:
        _runtime.append(DeliverRuntime.from_environment())
    _runtime[0].start(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
