"""Settings of each function, from its environment: the only module that reads os.environ.

infra/template.yaml sets these variables; the local stack sets the same ones from the stack it created.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from koppel.errors import InputError


def _json_text(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


JsonMap = Annotated[dict[str, str], BeforeValidator(_json_text)]
"""An environment variable holding a JSON object, e.g. TARGET_QUEUES='{"snelstart": "https://…"}'."""


class _EnvSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def load(cls, environ: dict[str, str] | None = None) -> Self:
        source = dict(os.environ) if environ is None else environ
        try:
            return cls.model_validate(source)
        except ValidationError as error:
            missing = ", ".join(str(e["loc"][0]) for e in error.errors())
            raise InputError(
                f"{cls.__name__} is incomplete or wrong ({missing}): set these environment variables "
                "(infra/template.yaml shows each one)"
            ) from error


class StoreSettings(_EnvSettings):
    CONNECTIONS_TABLE: str
    LEDGER_TABLE: str
    KMS_KEY_ID: str
    PARTNER_SECRET_PREFIX: str = "koppel/partner/"
    AWS_ENDPOINT_URL: str | None = None
    """Set only on a laptop: every boto3 client, Powertools' included, then talks to moto."""
    LEDGER_RETENTION_DAYS: int = Field(default=400, ge=1)
    """How long a booked ledger row is kept once no path needs it (payment settled or not followed): DynamoDB's
    TTL deletes it after this. Pending and parked rows never expire."""
    FILES_BUCKET: str = ""
    """Where original documents are kept as claim checks; '' keeps none (a source then attaches nothing)."""
    HTTP_CONNECT_TIMEOUT: float = 3.05
    HTTP_READ_TIMEOUT: float = 20.0
    """Seconds a vendor may take to answer before the attempt counts as a timeout (and is retried safely)."""


class PublishSettings(StoreSettings):
    TARGET_QUEUES: JsonMap = Field(default_factory=dict)
    """Target name → queue URL; the connection names which targets get its events."""


class IngestSettings(PublishSettings):
    WEBHOOK_REPLAY_SECONDS: int = Field(default=3600, ge=0)
    """How long a webhook body already handled is remembered: a replay within it re-reads nothing and queues
    nothing (a sender without a timestamp in its signature, like CCV Shop, can be replayed at any time)."""
    POLL_QUEUE_URL: str
    """Where a target's change notice (its webhook) queues the read-back of the accounts it names."""


class PollSettings(PublishSettings):
    POLL_QUEUE_URL: str
    POLL_OVERLAP_MINUTES: int = 10
    """How far back each poll reaches before the watermark, to catch records written late."""
    TARGET_SYNC_MINUTES: float = Field(default=5, ge=0)
    """How often per connection the poll also reads payment status and the chart back from the targets."""


class DeliverSettings(StoreSettings):
    CONNECTOR: str
    IDEMPOTENCY_TABLE: str
    LEASE_SECONDS: int = 180
    """How long a PENDING ledger row is left to its worker before another may resolve it (≥ function timeout)."""
    RETRY_BASE_SECONDS: int = 10
    RETRY_MAX_SECONDS: int = 3600
    """Backoff between attempts: base × 2^(attempt − 1), at most this, never sooner than the vendor's Retry-After.
    With the queue's maxReceiveCount this spans SQS's retention (72 h and more) before a message is dead."""
    MAX_CONCURRENCY: int = Field(default=1, ge=1)
    """How many of this function run at once (the event source's MaximumConcurrency): vendor limits are shared."""
    DEAD_LETTER_QUEUE_URL: str = ""
    """Where a message that can never be read (not a Koppel event) goes at once, instead of after every retry."""
    CONNECTION_CACHE_SECONDS: float = Field(default=60, ge=0)
    """How long a container keeps a connection's target (settings, credentials): a disconnect, a reconnect or a
    changed mapping reaches every container within this time. 0 reads the connection for every message."""


class ConnectSettings(StoreSettings):
    START_LINK_MINUTES: int = Field(default=15, ge=1, le=1440)
    """How long an owner's start link (koppel connections activate) may wait before it is opened."""
    ACTIVATION_MINUTES: int = Field(default=15, ge=1, le=1440)
    """How long the vendor's activation page may take before its callback is refused."""


class OperatorSettings(PollSettings):
    """What the `koppel` CLI needs beyond the functions' settings: where the dead letters wait."""

    HTTP_API_URL: str = ""
    """The HTTP API's base URL (stack output HttpApiUrl), for the start links `koppel connections activate` prints."""
    DEAD_LETTER_QUEUES: JsonMap = Field(default_factory=dict)
    """Target name → its DLQ URL (stack outputs); without it, status and replay leave dead letters out."""


class ConsoleSettings(PublishSettings):
    """The console's API (ManageFunction): the user pool people sign in to, the queues it replays and backfills
    onto, the dead letters it shows, and the start links it issues."""

    CONSOLE_USER_POOL_ID: str
    CONSOLE_CLIENT_ID: str
    POLL_QUEUE_URL: str
    DEAD_LETTER_QUEUES: JsonMap = Field(default_factory=dict)
    START_LINK_MINUTES: int = Field(default=15, ge=1, le=1440)


class UserSettings(_EnvSettings):
    """`koppel users`: the console's user pool (stack output ConsoleUserPoolId)."""

    CONSOLE_USER_POOL_ID: str
