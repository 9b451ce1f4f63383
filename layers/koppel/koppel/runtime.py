"""What the deliver handler does with one SQS record, kept out of the handler so it stays three steps.

Per record: parse the envelope → the connection's target (cached per container) → the deliver service under
Powertools idempotency (a second, independent guard beside the ledger) → on a retryable failure, make the
message visible again after the vendor's Retry-After or an exponential backoff.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from koppel import bootstrap
from koppel.errors import AuthError, RetryableError
from koppel.model import HubEnvelope
from koppel.observability import logger
from koppel.observability import meter as shared_meter
from koppel.ports import koppeling
from koppel.services.deliver import DeliverDeps, deliver
from koppel.services.status import mark_red
from koppel.settings import DeliverSettings

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from koppel.model import Connection
    from koppel.ports import ConnectionStore, Meter, Redelivery


MAX_VISIBILITY = 12 * 3600  # SQS's own ceiling for a visibility timeout
DISCONNECTED_WAIT_SECONDS = 3600
AUTH_BACKOFF = 900


def backoff_seconds(receive_count: int, retry_after: float | None, *, base: int = 10, cap: int = 3600) -> int:
    """Exponential backoff (base × 2^(n − 1), at most ``cap``), never sooner than the vendor's Retry-After."""
    exponential = min(cap, base * 2 ** min(30, max(0, receive_count - 1)))
    return int(min(MAX_VISIBILITY, max(exponential, math.ceil(retry_after or 0))))


@dataclass
class DeliverRuntime:
    settings: DeliverSettings
    idempotency: IdempotencyConfig
    guarded_deliver: Callable[..., dict[str, Any]]
    connections: ConnectionStore
    redelivery: Redelivery
    meter: Meter = field(default=shared_meter)
    _deps: dict[str, tuple[float, str, DeliverDeps]] = field(default_factory=dict)
    """Per connection: when it was read, what it was (connection and credentials), the dependencies built for it."""

    @classmethod
    def from_environment(cls) -> DeliverRuntime:
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

        settings = DeliverSettings.load()
        # The key names the connection and the target: one source record (a Banqup file) may be delivered by two
        # connections (a client's two integrations) and to two targets, and each of those is a delivery of its own.
        config = IdempotencyConfig(
            event_key_jmespath="[event.connection_id, event.event_id, replay]", expires_after_seconds=24 * 3600
        )
        persistence = bootstrap.idempotency_store(settings)
        runtime = cls(
            settings=settings,
            idempotency=config,
            guarded_deliver=lambda **_: {},
            connections=bootstrap.connection_store(settings),
            redelivery=bootstrap.redelivery(settings),
        )

        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="envelope",
            config=config,
            persistence_store=persistence,
            key_prefix=f"deliver-{settings.CONNECTOR}",
        )
        def guarded(envelope: HubEnvelope, received_at: datetime | None = None) -> dict[str, Any]:
            event = envelope.event
            # A replay follows a fix: read the connection's settings afresh rather than from the container's cache.
            deps = runtime.deps_for(event.connection_id, fresh=envelope.replay > 0)
            result = deliver(event, deps, received_at=received_at)
            if envelope.replay:  # counted once it is delivered (booked or parked again), not on every retry
                runtime.meter.count("Replayed", koppeling(event.source, settings.CONNECTOR))
            logger.info("delivered", extra={"outcome": result.outcome, "reason": result.reason, "state": result.state})
            return {"outcome": result.outcome, "reason": result.reason}

        runtime.guarded_deliver = guarded
        return runtime

    def start(self, context: LambdaContext) -> None:
        self.idempotency.register_lambda_context(context)

    def deps_for(self, connection_id: str, *, fresh: bool = False) -> DeliverDeps:
        cached = self._deps.get(connection_id)
        if cached and not fresh and time.monotonic() - cached[0] < self.settings.CONNECTION_CACHE_SECONDS:
            return cached[2]
        connection = self.connections.get(connection_id)
        if connection.status in ("disconnected", "paused"):
            # Nothing is sent for a connection the user stopped; its records wait (up to the queue's retention)
            # and are booked once it is reconnected, through the ledger as ever, so never twice.
            self._deps.pop(connection_id, None)
            raise RetryableError(
                f"connection {connection_id} is {connection.status}: reconnect it to resume; its records wait",
                retry_after=DISCONNECTED_WAIT_SECONDS,
            )
        # The same connection and credentials as before keep the target built for them: its rate limiter knows
        # what this container sent in the vendor's last minute (a new one would start empty and overshoot it).
        seen = _fingerprint(connection, self.connections.get_secrets(connection_id, self.settings.CONNECTOR))
        if cached and cached[1] == seen:
            self._deps[connection_id] = (time.monotonic(), seen, cached[2])
            return cached[2]
        deps = bootstrap.build_deliver_deps(self.settings, connection)
        self._deps[connection_id] = (time.monotonic(), seen, deps)
        return deps

    def handle(self, record: SQSRecord) -> None:
        try:
            envelope = HubEnvelope.model_validate_json(record.body)
        except ValidationError as error:
            self._dead_letter(record, error)
            return
        event = envelope.event
        logger.append_keys(event_id=event.event_id, connection_id=event.connection_id)
        try:
            self.guarded_deliver(envelope=envelope, received_at=_sent_at(record))
        except RetryableError as error:
            wait = backoff_seconds(
                _receive_count(record),
                error.retry_after,
                base=self.settings.RETRY_BASE_SECONDS,
                cap=self.settings.RETRY_MAX_SECONDS,
            )
            self._delay(record, wait)
            logger.warning("will retry", extra={"reason": str(error)})
            raise
        except AuthError as error:
            mark_red(self.connections, event.connection_id, str(error))
            self._delay(record, AUTH_BACKOFF)
            logger.error("credentials refused: connection needs reconnecting", extra={"reason": str(error)})
            raise

    def _dead_letter(self, record: SQSRecord, error: ValidationError) -> None:
        """A message that is no Koppel event will never succeed: straight to the DLQ, visible, not retried."""
        if not self.redelivery.dead_letter(record.body, str(error)):
            raise error  # no dead-letter queue configured: fail the record rather than drop it
        logger.error("not a Koppel event: moved to the dead-letter queue", extra={"reason": str(error)[:500]})
        # Not an event, so its source is unknown: counted under the target alone.
        self.meter.count("DeadLettered", koppeling("unknown", self.settings.CONNECTOR))

    def _delay(self, record: SQSRecord, seconds: int) -> None:
        self.redelivery.retry_later(record.event_source_arn, record.receipt_handle, seconds)


def _fingerprint(connection: Connection, secrets: Mapping[str, str]) -> str:
    """Whether a connection's target must be built again: a digest of the connection and its credentials (only
    the digest is kept beside the target)."""
    body = json.dumps([connection.model_dump(mode="json"), dict(sorted(secrets.items()))], sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def _sent_at(record: SQSRecord) -> datetime | None:
    """When the message was queued: the webhook's arrival, or the poll (or replay) that read the record."""
    try:
        return datetime.fromtimestamp(int(record.attributes.sent_timestamp) / 1000, UTC)
    except (KeyError, TypeError, ValueError):
        return None  # an event without the attribute (a hand-made one): no latency is measured


def _receive_count(record: SQSRecord) -> int:
    try:
        return int(record.attributes.approximate_receive_count)
    except (TypeError, ValueError):
        return 1
