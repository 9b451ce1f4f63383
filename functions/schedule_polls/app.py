"""EventBridge schedule: one poll job per due connection onto the PollQueue."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from koppel import bootstrap
from koppel.observability import logger
from koppel.services.poll import schedule_polls
from koppel.settings import PollSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = PollSettings.load()
    now = datetime.fromisoformat(event["time"]) if event.get("time") else datetime.now(UTC)
    jobs = schedule_polls(bootstrap.connection_store(settings), bootstrap.job_queue(settings), now)
    logger.info("poll jobs scheduled", extra={"jobs": [j.connection_id for j in jobs]})
    return {"scheduled": [j.connection_id for j in jobs]}
