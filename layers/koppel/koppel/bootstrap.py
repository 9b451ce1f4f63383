"""The composition root: settings in, typed dependencies out. Handlers call the ``build_*_deps`` functions, each
returning its service's dataclass of ports; tests build the same dataclasses with fakes. Nothing here decides
anything: what a connector can do is checked by the services, by type.

boto3 is imported and its clients are built here, on first use and not at import, so that a handler module
imports fast and moto is in place before any client exists. For the same reason the connectors and requests are
imported only where a vendor is called: the scheduler, which calls no vendor, never loads them.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from koppel.services.apps import AppDeps
from koppel.services.connect import ConnectDeps
from koppel.services.deliver import DeliverDeps
from koppel.services.ingest import IngestDeps
from koppel.services.notices import NoticeDeps
from koppel.services.poll import PollDeps
from koppel.services.replay import ReplayDeps
from koppel.services.target_sync import TargetSyncDeps

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import requests
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_kms.client import KMSClient
    from mypy_boto3_sqs.client import SQSClient

    from koppel.adapters.dynamo_connections import DynamoConnectionStore
    from koppel.adapters.dynamo_ledger import DynamoLedger
    from koppel.adapters.dynamo_records import DynamoRecordLinks
    from koppel.connectors import ConnectorContext
    from koppel.connectors.contract import ActivationFlow, AppExtension, ChangeNotices, Connector, OAuthFlow
    from koppel.model import Connection
    from koppel.ports import (
        ConnectionStore,
        DeadLetters,
        FileStore,
        GrantStore,
        JobQueue,
        Ledger,
        Meter,
        Publisher,
        Redelivery,
        ReplayCache,
        SignIn,
        Source,
        Target,
    )
    from koppel.services.console import ConsoleDeps
    from koppel.services.record_button import ButtonDeps
    from koppel.services.record_sync import RecordSyncDeps
    from koppel.settings import (
        ConnectSettings,
        ConsoleSettings,
        DeliverSettings,
        IngestSettings,
        OperatorSettings,
        PollSettings,
        PublishSettings,
        StoreSettings,
    )


CLIENT_POOL_CONNECTIONS = 32
"""At least ``services.console.OVERVIEW_READERS``: the threads that share one client."""

D = TypeVar("D")
"""A part a connector descriptor may declare."""


@overload
def _client(service: Literal["dynamodb"], endpoint_url: str | None) -> DynamoDBClient: ...
@overload
def _client(service: Literal["kms"], endpoint_url: str | None) -> KMSClient: ...
@overload
def _client(service: Literal["sqs"], endpoint_url: str | None) -> SQSClient: ...
@overload
def _client(service: Literal["s3"], endpoint_url: str | None) -> Any: ...
def _client(service: str, endpoint_url: str | None) -> Any:
    return _cached_client(service, endpoint_url)


@cache
def _cached_client(service: str, endpoint_url: str | None) -> Any:
    """One client per service and endpoint per container: clients are thread-safe and slow to build. Its pool
    holds a connection for each of the console's overview readers, which would otherwise open (on AWS: handshake)
    a new one for every read past botocore's default ten."""
    import boto3
    from botocore.config import Config

    pool = Config(max_pool_connections=CLIENT_POOL_CONNECTIONS)
    return boto3.client(service, endpoint_url=endpoint_url, config=pool)  # type: ignore[call-overload]


def connection_store(settings: StoreSettings) -> DynamoConnectionStore:
    from koppel.adapters.dynamo_connections import DynamoConnectionStore

    return DynamoConnectionStore(
        settings.CONNECTIONS_TABLE,
        settings.KMS_KEY_ID,
        _client("dynamodb", settings.AWS_ENDPOINT_URL),
        _client("kms", settings.AWS_ENDPOINT_URL),
    )


def _partner_secrets(settings: StoreSettings) -> Callable[[str], Mapping[str, str]]:
    """Koppel's own credentials at any vendor, by vendor name (each read as ``partner_secret_reader`` reads it)."""
    return lambda vendor: partner_secret_reader(settings, vendor)()


def partner_secret_reader(settings: StoreSettings, vendor: str) -> Callable[[], Mapping[str, str]]:
    """Koppel's own credentials for a vendor, from Secrets Manager, cached for five minutes by Powertools."""

    def read() -> Mapping[str, str]:
        from aws_lambda_powertools.utilities import parameters

        value = parameters.get_secret(f"{settings.PARTNER_SECRET_PREFIX}{vendor}", transform="json", max_age=300)
        return dict(value) if isinstance(value, dict) else {}

    return read


def file_store(settings: StoreSettings) -> FileStore | None:
    """The bucket of original documents, when the stack has one."""
    if not settings.FILES_BUCKET:
        return None
    from koppel.adapters.s3_files import S3FileStore

    return S3FileStore(settings.FILES_BUCKET, _client("s3", settings.AWS_ENDPOINT_URL))


def _own_settings(connection: Connection, system: str) -> dict[str, Any]:
    """A system's settings in a connection, whether it is the source or one of the targets."""
    return connection.source_settings if system == connection.source else connection.target_settings.get(system, {})


def connector_context(
    connection: Connection,
    system: str,
    store: ConnectionStore,
    partner_secret: Callable[[], Mapping[str, str]],
    session: requests.Session,
) -> ConnectorContext:
    from koppel.connectors import ConnectorContext

    return ConnectorContext(
        connection=connection,
        settings=_own_settings(connection, system),
        secrets=store.get_secrets(connection.connection_id, system),
        session=session,
        store=store,
        partner_secret=partner_secret,
    )


@cache
def _session(connect_timeout: float, read_timeout: float) -> requests.Session:
    from koppel.http import session_for

    return session_for(timeout=(connect_timeout, read_timeout))


def http_session(settings: StoreSettings) -> requests.Session:
    """One pooled session per container and timeout setting."""
    return _session(settings.HTTP_CONNECT_TIMEOUT, settings.HTTP_READ_TIMEOUT)


def source_for(settings: StoreSettings, store: ConnectionStore, connection: Connection) -> Source:
    """The connection's source connector, with its credentials and Koppel's partner secret for that vendor."""
    from koppel import connectors

    partner = partner_secret_reader(settings, connection.source)
    ctx = connector_context(connection, connection.source, store, partner, http_session(settings))
    return connectors.build_source(connection.source, dataclasses.replace(ctx, files=file_store(settings)))


def _source_factory(settings: StoreSettings, store: ConnectionStore) -> Callable[[Connection], Source]:
    return lambda connection: source_for(settings, store, connection)


def _publisher(settings: PublishSettings) -> Publisher:
    from koppel.adapters.sqs import SqsPublisher

    return SqsPublisher(settings.TARGET_QUEUES, _client("sqs", settings.AWS_ENDPOINT_URL))


def build_ingest_deps(settings: IngestSettings) -> IngestDeps:
    """Webhooks come in bursts: the connection and its source (credentials decrypted) are kept for a minute per
    container, so a burst costs no DynamoDB or KMS read per webhook; a changed connection is seen within a minute."""
    from koppel.adapters.dynamo_connections import CachedConnectionStore

    store = CachedConnectionStore.wrapping(connection_store(settings), ttl_seconds=60)
    return IngestDeps(
        connections=store,
        publisher=_publisher(settings),
        source_for=_cached_sources(_source_factory(settings, store), ttl_seconds=60),
        replays=replay_cache(settings),
        replay_window=timedelta(seconds=settings.WEBHOOK_REPLAY_SECONDS),
        meter=_meter(),
    )


def _cached_sources(build: Callable[[Connection], Source], ttl_seconds: float) -> Callable[[Connection], Source]:
    built: dict[str, tuple[float, Connection, Source]] = {}

    def source_for(connection: Connection) -> Source:
        hit = built.get(connection.connection_id)
        if hit and hit[1] == connection and time.monotonic() - hit[0] < ttl_seconds:
            return hit[2]
        source = build(connection)
        built[connection.connection_id] = (time.monotonic(), connection, source)
        return source

    return source_for


def build_poll_deps(settings: PollSettings) -> PollDeps:
    store = connection_store(settings)
    publisher = _publisher(settings)
    the_ledger = ledger(settings)
    return PollDeps(
        connections=store,
        publisher=publisher,
        source_for=_source_factory(settings, store),
        overlap=timedelta(minutes=settings.POLL_OVERLAP_MINUTES),
        ledger=the_ledger,
        meter=_meter(),
        targets=TargetSyncDeps(
            connections=store,
            ledger=the_ledger,
            publisher=publisher,
            target_for=lambda connection, name: target_for(settings, connection, name),
            writes_back=lambda system: system in settings.TARGET_QUEUES and _can_write_back(system),
            every=timedelta(minutes=settings.TARGET_SYNC_MINUTES),
        ),
        records=record_sync_deps(settings, store, the_ledger),
    )


def record_sync_deps(settings: StoreSettings, store: ConnectionStore, the_ledger: Ledger) -> RecordSyncDeps:
    """A two-way koppeling's record sync: the source's and the target's connectors, each as its own side."""
    from koppel import connectors
    from koppel.services.record_sync import RecordSyncDeps

    def side_for(connection: Connection, system: str) -> object:
        if system == connection.source:
            return source_for(settings, store, connection)
        return target_for(settings, connection, system)

    return RecordSyncDeps(
        connections=store, links=record_links(settings), ledger=the_ledger, side_for=side_for,
        titles=lambda system: connectors.load(system).title,
    )  # fmt: skip


def _can_write_back(system: str) -> bool:
    from koppel import connectors

    return connectors.load(system).can("payment_status_writer")


def _proving_context(
    settings: StoreSettings, connection: Connection, name: str, credentials: Mapping[str, str]
) -> ConnectorContext:
    """A connector's context with given credentials and no token cache or store (a cached token would prove
    nothing): the system's own settings, whether it is the connection's source or one of its targets."""
    from koppel import connectors

    return connectors.ConnectorContext(
        connection=connection, settings=_own_settings(connection, name), secrets=credentials,
        session=http_session(settings), store=None, partner_secret=partner_secret_reader(settings, name),
    )  # fmt: skip


def target_with(settings: StoreSettings) -> Callable[[Connection, str, Mapping[str, str]], Target]:
    """Targets built with given credentials only, to prove them."""
    from koppel import connectors

    return lambda connection, name, credentials: connectors.build_target(
        name, _proving_context(settings, connection, name, credentials)
    )


def source_with(settings: StoreSettings) -> Callable[[Connection, str, Mapping[str, str]], Source]:
    """Sources built with given credentials only, to prove them (and a field mapping)."""
    from koppel import connectors

    return lambda connection, name, credentials: connectors.build_source(
        name, _proving_context(settings, connection, name, credentials)
    )


def activation_flow(target: str) -> ActivationFlow:
    """The activation of a vendor that activates by calling back; NotFoundError for one that does not."""
    return _declared(
        target, lambda c: c.activation, "has no activation callback: connect it with `koppel connections connect`"
    )


def oauth_flow(system: str) -> OAuthFlow:
    """The OAuth 2.0 consent of a vendor whose owner grants access on its page; NotFoundError for any other."""
    missing = "is connected with its API credentials: use `koppel connections connect`"
    return _declared(system, lambda c: c.oauth, missing)


def build_app_deps(settings: PublishSettings) -> AppDeps:
    """The source's own screens: its connections by account, the ledger, the queues, both ends' connectors."""
    store = connection_store(settings)
    return AppDeps(
        connections=store,
        ledger=ledger(settings),
        publisher=_publisher(settings),
        source_for=_source_factory(settings, store),
        target_for=lambda connection, name: target_for(settings, connection, name),
        extension_for=app_extension,
        partner_secret=_partner_secrets(settings),
    )


def build_button_deps(settings: StoreSettings) -> ButtonDeps:
    """A CRM's sync button: the connection (its button token's digest), and the record sync of both sides."""
    from koppel.services.record_button import ButtonDeps

    store = connection_store(settings)
    return ButtonDeps(connections=store, records=record_sync_deps(settings, store, ledger(settings)))


def build_notice_deps(settings: IngestSettings) -> NoticeDeps:
    """A target's webhooks: the accounts' connections, the poll queue that reads their status back, and the replay
    cache that takes each signed notice once."""
    return NoticeDeps(
        connections=connection_store(settings),
        jobs=job_queue(settings),
        notices_for=change_notices,
        partner_secret=_partner_secrets(settings),
        replays=replay_cache(settings),
        replay_window=timedelta(seconds=settings.WEBHOOK_REPLAY_SECONDS),
    )


def change_notices(system: str) -> ChangeNotices:
    """The target's change notices (its webhooks); NotFoundError for a vendor that sends none."""
    return _declared(system, lambda c: c.change_notices, "sends Koppel no change notices")


def app_extension(source: str) -> AppExtension:
    """The source's app extension (the vendor's screens call Koppel); NotFoundError for a vendor without one."""
    return _declared(source, lambda c: c.app_extension, "has no app extension: its records come by webhook or poll")


def _declared(system: str, part: Callable[[Connector], D | None], missing: str) -> D:
    """A part a vendor's descriptor may declare (activation, OAuth, app extension, notices), or a 404 that says what
    the vendor does instead."""
    from koppel import connectors
    from koppel.errors import NotFoundError

    declared = part(connectors.load(system))
    if declared is None:
        raise NotFoundError(f"{system} {missing}")
    return declared


def job_queue(settings: PollSettings | IngestSettings | ConsoleSettings) -> JobQueue:
    from koppel.adapters.sqs import SqsJobQueue

    return SqsJobQueue(settings.POLL_QUEUE_URL, _client("sqs", settings.AWS_ENDPOINT_URL))


def ledger(settings: StoreSettings) -> DynamoLedger:
    from koppel.adapters.dynamo_ledger import DynamoLedger

    return DynamoLedger(
        settings.LEDGER_TABLE,
        _client("dynamodb", settings.AWS_ENDPOINT_URL),
        retention=timedelta(days=settings.LEDGER_RETENTION_DAYS),
    )


def record_links(settings: StoreSettings) -> DynamoRecordLinks:
    from koppel.adapters.dynamo_records import DynamoRecordLinks

    return DynamoRecordLinks(settings.LEDGER_TABLE, _client("dynamodb", settings.AWS_ENDPOINT_URL))


def target_for(settings: StoreSettings, connection: Connection, name: str, workers: int = 1) -> Target:
    store = connection_store(settings)
    ctx = connector_context(connection, name, store, partner_secret_reader(settings, name), http_session(settings))
    from koppel import connectors

    return connectors.build_target(name, dataclasses.replace(ctx, workers=workers))


def build_deliver_deps(settings: DeliverSettings, connection: Connection) -> DeliverDeps:
    """Per connection: the target carries that connection's mapping and credentials."""
    return DeliverDeps(
        target=target_for(settings, connection, settings.CONNECTOR, workers=settings.MAX_CONCURRENCY),
        target_name=settings.CONNECTOR,
        ledger=ledger(settings),
        lease=timedelta(seconds=settings.LEASE_SECONDS),
        meter=_meter(),
        files=file_store(settings),
        remember_written=connection.records is not None,
    )


def _meter() -> Meter:
    """Metrics as EMF lines in the function's log, written when its handler ends (``meter.log_metrics``)."""
    from koppel.observability import meter

    return meter


def build_connect_deps(settings: ConnectSettings) -> ConnectDeps:
    return ConnectDeps(
        connections=connection_store(settings),
        grants=grant_store(settings),
        target_with=target_with(settings),
        source_with=source_with(settings),
        activation_for=activation_flow,
        oauth_for=oauth_flow,
        stored_target=lambda connection, name: target_for(settings, connection, name),
        partner_secret=_partner_secrets(settings),
        start_link_ttl=timedelta(minutes=settings.START_LINK_MINUTES),
        activation_ttl=timedelta(minutes=settings.ACTIVATION_MINUTES),
    )


def grant_store(settings: StoreSettings) -> GrantStore:
    from koppel.adapters.dynamo_guards import DynamoGrantStore

    return DynamoGrantStore(settings.CONNECTIONS_TABLE, _client("dynamodb", settings.AWS_ENDPOINT_URL))


def replay_cache(settings: StoreSettings) -> ReplayCache:
    from koppel.adapters.dynamo_guards import DynamoReplayCache

    return DynamoReplayCache(settings.CONNECTIONS_TABLE, _client("dynamodb", settings.AWS_ENDPOINT_URL))


def dead_letters(settings: OperatorSettings | ConsoleSettings) -> DeadLetters:
    from koppel.adapters.sqs import SqsDeadLetters

    return SqsDeadLetters(
        settings.DEAD_LETTER_QUEUES, settings.TARGET_QUEUES, _client("sqs", settings.AWS_ENDPOINT_URL)
    )


def build_replay_deps(settings: OperatorSettings) -> ReplayDeps:
    return ReplayDeps(ledger=ledger(settings), publisher=_publisher(settings), dead_letters=dead_letters(settings))


def dynamodb_client(settings: StoreSettings) -> DynamoDBClient:
    return _client("dynamodb", settings.AWS_ENDPOINT_URL)


def redelivery(settings: DeliverSettings) -> Redelivery:
    from koppel.adapters.sqs import SqsRedelivery

    return SqsRedelivery(settings.DEAD_LETTER_QUEUE_URL, _client("sqs", settings.AWS_ENDPOINT_URL))


def idempotency_store(settings: DeliverSettings) -> DynamoDBPersistenceLayer:
    """Powertools idempotency's table: the deliver function's second guard beside the ledger."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=settings.IDEMPOTENCY_TABLE, boto3_client=dynamodb_client(settings))


def forget_clients() -> None:
    """Drop cached clients and sessions (a test harness that restarts its AWS stand-in calls this)."""
    _cached_client.cache_clear()
    _session.cache_clear()


def build_console_deps(settings: ConsoleSettings) -> ConsoleDeps:
    """The console's services: no source or target is built and no credential decrypted (start links and
    disconnecting need only the connections table)."""
    from koppel.services.console import ConsoleDeps
    from koppel.settings import ConnectSettings

    def connect() -> ConnectDeps:
        return build_connect_deps(ConnectSettings.model_validate(settings.model_dump()))

    return ConsoleDeps(
        connections=connection_store(settings),
        ledger=ledger(settings),
        dead_letters=dead_letters(settings),
        publisher=_publisher(settings),
        jobs=job_queue(settings),
        connect=connect,
        write_back_systems=frozenset(settings.TARGET_QUEUES),
    )


def sign_in(settings: ConsoleSettings) -> SignIn:
    from koppel.adapters.cognito import CognitoSignIn

    return CognitoSignIn(settings.CONSOLE_CLIENT_ID, settings.AWS_ENDPOINT_URL)
