"""PollQueue consumer: read each job's window from the source, enqueue, move the watermark safely."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from koppel import bootstrap
from koppel.observability import logger, meter
from koppel.ports import PollJob
from koppel.services.poll import poll_connection
from koppel.settings import PollSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from koppel.services.poll import PollDeps

# A partial response even when every record failed: each failed message keeps its own backoff.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
_deps: list[PollDeps] = []


def record_handler(record: SQSRecord) -> None:
    job = PollJob.model_validate_json(record.body)
    logger.append_keys(connection_id=job.connection_id)
    result = poll_connection(job, _deps[0])
    logger.info(
        "polled",
        extra={
            "since": result.since.isoformat(),
            "until": result.until.isoformat(),
            "records": result.records,
            "enqueued": result.enqueued,
            "watermark": result.watermark.isoformat() if result.watermark else None,
            "payment_statuses": result.statuses,
        },
    )
    if result.target_sync_error:
        logger.warning("reading back from the accounting package failed", extra={"reason": result.target_sync_error})


@logger.inject_lambda_context(clear_state=True)
@meter.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    if not _deps:
        _deps.append(bootstrap.build_poll_deps(PollSettings.load()))
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
