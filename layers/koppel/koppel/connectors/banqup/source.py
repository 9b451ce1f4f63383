"""Banqup as a polled source: the documents an accounting firm's client keeps in one Banqup space (purchase and
sales invoices, credit notes, receipts), read by creation time; Banqup sends no webhooks. README.md in this folder
has the API facts; HTTP is in ``client``, the translations in ``mapping``.

The poll lists the window's files page by page and announces each bookable one by its event id; only a file the
ledger does not hold yet is downloaded (``hydrate``), kept as the document's attachment and read. A file Banqup is
still processing, or a PDF read without a required field (parked until a person completes it in Banqup), holds
the watermark back for up to ``max_wait_days``: files are listed by creation time, never by change.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from koppel.connectors.banqup.client import BanqupClient
from koppel.connectors.banqup.fields import SOURCE, VENDOR, BanqupFile, event_id
from koppel.connectors.banqup.mapping import as_event, document_event, read_problem, skip_reason
from koppel.connectors.banqup.settings import BanqupSettings
from koppel.connectors.banqup.writeback import BanqupWriteBack
from koppel.connectors.kit import load_settings
from koppel.errors import InputError, RetryableError
from koppel.ports import PolledRecord, WebhookNotice
from koppel.ubl import read_ubl

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from datetime import datetime

    from koppel.connectors.contract import ConnectorContext
    from koppel.model import Connection, HubEvent

POLL_INTERVAL_MINUTES = 15
"""Documents reach Banqup by e-mail, scan or Peppol and wait for the firm anyway: a quarter of an hour is prompt."""


class BanqupSource:
    name: ClassVar[str] = SOURCE

    def __init__(self, ctx: ConnectorContext, settings: BanqupSettings, client: BanqupClient) -> None:
        self._ctx = ctx
        self.settings = settings
        self.client = client

    def poll(self, since: datetime, until: datetime) -> Iterator[PolledRecord]:
        """One record per file created in [since, until), oldest first."""
        if since.tzinfo is None or until.tzinfo is None:
            raise InputError("a Banqup poll window needs time-zone aware timestamps")
        listed = [f for f in self.client.files(since) if since <= f.createdAt < until]
        listed.sort(key=lambda f: (f.createdAt, f.id))
        for file in listed:
            yield self._record(file)

    def _record(self, file: BanqupFile) -> PolledRecord:
        at = file.createdAt
        reason = skip_reason(file, self.settings.folders)
        if reason:  # under its event id, so the poll keeps it in the history as not bookable, with the reason
            return PolledRecord(record_id=file.id, changed_at=at, skipped_reason=reason, event_ids=(event_id(file.id),))
        waiting = self._ctx.clock() - at <= timedelta(days=self.settings.max_wait_days)
        name = file.filename or file.id
        if file.is_pending:
            reason = f"{name} is still being uploaded or read by {VENDOR}"
            reason += ": it is booked once Banqup is done" if waiting else "; no longer waited for"
            return PolledRecord(record_id=file.id, changed_at=at, skipped_reason=reason, is_settled=not waiting)
        ids = (event_id(file.id),)
        if problem := read_problem(file):
            return PolledRecord(
                record_id=file.id, changed_at=at, problem=problem, event_ids=ids, is_settled=not waiting
            )
        notice = WebhookNotice(entity="file", record_id=file.id, topic=file.folder)
        return PolledRecord(record_id=file.id, changed_at=at, event_ids=ids, notice=notice)

    def hydrate(self, notice: WebhookNotice) -> list[HubEvent]:
        """Download the file, keep it as the document's attachment (when this context keeps files), and read it."""
        file = self.client.file(notice.record_id)
        if skip_reason(file, self.settings.folders) or file.is_pending:
            return []
        try:
            content = self.client.download(file)
        except RetryableError:  # its signed address expired or was refused: the file read again carries a new one
            content = self.client.download(self.client.file(notice.record_id))
        files = self._ctx.files
        kept = None
        if files is not None:
            content_type = file.contentType or ("application/xml" if file.is_xml(content) else "application/pdf")
            kept = files.put(self._ctx.connection.connection_id, file.filename or file.id, content_type, content)
        return [document_event(file, content, self._ctx.connection, kept)]


def _connect(ctx: ConnectorContext) -> tuple[BanqupSettings, BanqupClient]:
    settings = load_settings(BanqupSettings, ctx.settings, VENDOR)
    return settings, BanqupClient(ctx, settings)


def build_source(ctx: ConnectorContext) -> BanqupSource:
    """Credentials (secrets): the firm's app ``client_id`` and ``client_secret``; a token is asked on first use."""
    settings, client = _connect(ctx)
    return BanqupSource(ctx, settings, client)


def build_target(ctx: ConnectorContext) -> BanqupWriteBack:
    """Banqup as the target of payment status carried back from the accounting package (its write-back queue)."""
    _, client = _connect(ctx)
    return BanqupWriteBack(client)


def preview_events(record: Mapping[str, Any], connection: Connection) -> list[HubEvent]:
    """``koppel preview``: one UBL purchase invoice file, handed over as ``{"filename": str, "content": bytes}``."""
    content, filename = record.get("content"), record.get("filename")
    if not isinstance(content, bytes) or not isinstance(filename, str) or not filename:
        raise InputError('a Banqup preview is one UBL purchase invoice file: {"filename": str, "content": bytes}')
    return [as_event(read_ubl(content, ours="buyer", source_id=filename), filename, connection.created_at, connection)]
