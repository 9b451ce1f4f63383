"""Banqup source against a real BanqupSandbox on loopback: the poll's pages and window, the five-minute token,
whitelisting, UBL and PDF documents read into Koppel's model with their file kept, what is skipped and why, and
the preview. Each test arranges documents with the sandbox's helpers and reads them through the connector."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest

from devkit.sandboxes.banqup.sandbox import BanqupSandbox
from koppel.adapters.memory import MemoryConnectionStore, MemoryFileStore, MemoryLedger, MemoryPublisher
from koppel.connectors import ConnectorContext
from koppel.connectors.banqup import BanqupSource, build_source, preview_events
from koppel.errors import AuthError
from koppel.http import session_for
from koppel.model import Connection, DocumentEvent, ExternalRef, SalesDocument
from koppel.ports import LedgerEntry, PollJob
from koppel.services.poll import PollDeps, poll_connection

if TYPE_CHECKING:
    from collections.abc import Iterator

    import requests

    from koppel.ports import PolledRecord

D = Decimal
UBL_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "ubl"
UBL = (UBL_DIR / "base-example.xml").read_bytes()  # invoice Snippet1, 1656.25 EUR due
UBL_S = (UBL_DIR / "Vat-category-S.xml").read_bytes()
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
CLIENT_ID, CLIENT_SECRET = "koppel-firm-app", "firm-app-secret"
EXTRACTION: dict[str, Any] = {
    "supplier": {"name": "Drukkerij Peeters BV", "vatNumber": "BE0477472701", "countryCode": "BE"},
    "invoiceNumber": "F2026-117",
    "issueDate": "2026-11-02",
    "currency": "EUR",
    "totalAmount": "142.20",
    "totalVatAmount": "22.20",
    "vatBreakdown": [
        {"rate": "21", "taxableAmount": "100.00", "vatAmount": "21.00"},
        {"rate": "6", "taxableAmount": "20.00", "vatAmount": "1.20"},
    ],
}


class Clock:
    """One clock for the sandbox (epoch seconds: token and URL expiry) and the connector (its token cache)."""

    def __init__(self) -> None:
        self.now = T0
        self.banqup_ahead = timedelta(0)
        """How far Banqup's clock runs ahead of Koppel's (a token Koppel holds for fresh has expired there)."""

    def __call__(self) -> float:
        return (self.now + self.banqup_ahead).timestamp()

    def moment(self) -> datetime:
        return self.now


class World:
    """The sandbox with one firm and its client's whitelisted space, and what the connector asked of it."""

    def __init__(self, sandbox: BanqupSandbox, clock: Clock) -> None:
        self.sandbox, self.clock = sandbox, clock
        self.space = next(s.id for s in sandbox.spaces.values() if s.name == "Bakkerij Jansen BV")
        self.store = MemoryConnectionStore()
        self.files = MemoryFileStore()
        self.seen: list[str] = []
        self.sent: list[tuple[str, bytes]] = []
        """What the connector wrote: (path, body) of every POST and PUT to the API."""

    def add(self, content: bytes, hours: float = 0, **kwargs: Any) -> str:
        return str(
            self.sandbox.add_document(self.space, content, created_at=T0 + timedelta(hours=hours), **kwargs)["id"]
        )

    def context(self, secret: str = CLIENT_SECRET, **settings: Any) -> ConnectorContext:
        settings = {"space_id": self.space, "host": self.sandbox.base_url, "client_name": "Bakkerij Jansen"} | settings
        connection = Connection(
            connection_id="bakkerij-jansen", tenant_id="kantoor-koppel", source="banqup", targets=("snelstart",),
            created_at=T0 - timedelta(days=30), source_settings=settings,
        )  # fmt: skip
        session = session_for(retries=0, timeout=(5, 5))
        session.hooks["response"].append(self._seen)
        return ConnectorContext(
            connection=connection, settings=settings, secrets={"client_id": CLIENT_ID, "client_secret": secret},
            session=session, store=self.store, clock=self.clock.moment, files=self.files,
        )  # fmt: skip

    def source(self, **settings: Any) -> BanqupSource:
        return build_source(self.context(**settings))

    def _seen(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        request = response.request
        self.seen.append(f"{request.method} {request.path_url}")
        if request.method in ("POST", "PUT") and "/datastore/" in request.path_url:
            body = request.body
            self.sent.append(
                (request.path_url.rsplit("/", 1)[-1], body.encode() if isinstance(body, str) else body or b"")
            )


@pytest.fixture(scope="module", name="sandbox")
def running_sandbox() -> Iterator[tuple[BanqupSandbox, Clock]]:
    clock = Clock()
    server = BanqupSandbox(clock=clock)
    server.start()
    firm = server.add_firm("Boekhoudkantoor Koppel", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    server.add_space(firm, "Bakkerij Jansen BV")
    server.add_space(firm, "Garage De Vries", whitelisted=False)
    yield server, clock
    server.stop()


@pytest.fixture(name="world")
def fresh_world(sandbox: tuple[BanqupSandbox, Clock]) -> World:
    server, clock = sandbox
    server.reset()
    clock.now, clock.banqup_ahead = T0 + timedelta(days=1), timedelta(0)
    return World(server, clock)


def poll(
    source: BanqupSource, since: datetime = T0 - timedelta(days=1), until: datetime | None = None
) -> list[PolledRecord]:
    return list(source.poll(since, until or T0 + timedelta(days=1)))


def read(source: BanqupSource, record: PolledRecord) -> SalesDocument:
    assert record.notice is not None, record
    [event] = source.hydrate(record.notice)
    assert isinstance(event, DocumentEvent)
    assert (event.event_id,) == record.event_ids  # what the poll announced is what it reads
    return event.payload


# -- the poll -------------------------------------------------------------------------------------------------------
def test_the_poll_pages_through_the_window_oldest_first_and_asks_only_for_newer_files(world: World) -> None:
    # Given five invoices created an hour apart
    ids = [world.add(UBL_S, hours=n) for n in range(5)]

    # When the connector polls [T0+1h, T0+4h) two files a page
    records = poll(world.source(page_size=2), since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=4))

    # Then the three files of the window are listed oldest first, each by its file id and a fixed event id
    assert [r.record_id for r in records] == ids[1:4]
    assert [r.event_ids for r in records] == [(f"banqup:file:{i}",) for i in ids[1:4]]
    # And Banqup was asked for the files created after the window's start, page by page, and nothing downloaded
    listed = [parse_qs(urlsplit(s.split(" ", 1)[1]).query) for s in world.seen if "/files?" in s]
    assert [q["page"] for q in listed] == [["0"], ["1"]]
    assert listed[0]["createdAfter"] == ["2026-11-20T10:59:59Z"]
    assert not [s for s in world.seen if "/storage/" in s]


def test_a_token_that_expires_mid_poll_is_renewed_once_and_the_poll_goes_on(world: World) -> None:
    # Given four invoices, and tokens that Banqup expires after five minutes while the poll is between pages
    ids = [world.add(UBL_S, hours=n) for n in range(4)]
    source = world.source(page_size=2)

    def expire_after_first_page(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if "page=0" in response.request.path_url:
            world.clock.banqup_ahead = timedelta(minutes=6)  # the cached token still looks fresh to Koppel

    source.client._ctx.session.hooks["response"].append(expire_after_first_page)

    # When it polls
    records = poll(source)

    # Then every file is listed, with one new token asked after the 401
    assert [r.record_id for r in records] == ids
    assert [s for s in world.seen if "gettoken" in s] == ["POST /oauth2/client_credential/gettoken"] * 2
    assert [s.split("?")[0] for s in world.seen].count(
        f"GET /datastore/documents/transaction/v1/spaces/{world.space}/files"
    ) == 3


def test_the_scheduled_poll_downloads_only_files_the_ledger_has_not_booked(world: World) -> None:
    # Given a purchase invoice in Banqup and the connection's scheduled poll, with a ledger and a queue
    file_id = world.add(UBL, hours=-1)
    ctx = world.context()
    world.store.put(ctx.connection)
    ledger, publisher = MemoryLedger(), MemoryPublisher()
    deps = PollDeps(
        connections=world.store, publisher=publisher, source_for=lambda _: build_source(ctx), ledger=ledger,
        clock=world.clock.moment,
    )  # fmt: skip
    job = PollJob(connection_id=ctx.connection.connection_id, is_backfill=True, since=T0 - timedelta(days=1), until=T0)

    # When it polls, the target books the invoice, and it polls the same window again
    poll_connection(job, deps)
    [event] = publisher.sent["snelstart"]
    now = world.clock.moment()
    claim = ledger.claim(LedgerEntry.pending("bakkerij-jansen", "snelstart", event.event_id, now, now), now)
    ledger.mark_posted(claim.entry, ExternalRef(system="snelstart", id="1"), now)
    world.seen.clear()
    poll_connection(job, deps)

    # Then the file was queued once, and the second poll listed it without downloading it again
    assert event.event_id == f"banqup:file:{file_id}" and len(publisher.sent["snelstart"]) == 1
    assert not [s for s in world.seen if "/storage/" in s or f"/files/{file_id}" in s]


def test_a_space_that_did_not_whitelist_the_app_says_whom_to_ask(world: World) -> None:
    # Given the firm's client whose space has not whitelisted the app
    garage = next(s.id for s in world.sandbox.spaces.values() if s.name == "Garage De Vries")

    # When Koppel polls it  Then the error says who must whitelist Koppel's app in Banqup
    with pytest.raises(AuthError, match="ask Garage De Vries to whitelist Koppel's app in Banqup"):
        poll(world.source(space_id=garage, client_name="Garage De Vries"))


def test_an_unknown_space_id_is_named_as_unknown(world: World) -> None:
    # Given a connection set to a space id the app does not know  When polled  Then the space id is named as unknown
    with pytest.raises(AuthError, match=r"knows no space not-a-space .*check the space id"):
        poll(world.source(space_id="not-a-space"))


def test_refused_app_credentials_say_to_reconnect(world: World) -> None:
    # Given app credentials Banqup no longer accepts  When polled  Then the error says to reconnect, in Banqup's words
    with pytest.raises(AuthError, match=r"invalid_client: Client credentials are invalid.*reconnect Banqup"):
        poll(build_source(world.context(secret="old-secret")))


# -- preview --------------------------------------------------------------------------------------------------------
def test_preview_reads_a_ubl_file_as_a_purchase_invoice() -> None:
    # Given a UBL invoice file handed over by `koppel preview`
    connection = Connection(
        connection_id="preview", tenant_id="preview", source="banqup", targets=("snelstart",), created_at=T0
    )

    # When previewed  Then it is the supplier's invoice as a purchase
    [event] = preview_events({"filename": "base-example.xml", "content": UBL}, connection)
    assert isinstance(event, DocumentEvent) and event.kind == "invoice.created"
    assert event.payload.direction == "purchase" and event.payload.total == D("1656.25")
    assert event.event_id == "banqup:file:base-example.xml"


def test_a_download_address_refused_by_the_storage_host_is_fetched_again_once(world: World) -> None:
    # Given a purchase invoice whose download addresses Banqup hands out have expired by the time they are used (the
    # listing's, and the one the file is read with), and a fresh one after that
    world.add(UBL)
    expired = iter([True, True])
    sign = world.sandbox.storage_url

    def signed(method: str, document: Any) -> str:
        if method == "GET" and next(expired, False):
            query = world.sandbox.signer.query(method, document.id, world.sandbox.clock(), lifetime=-1)
            return f"{world.sandbox.base_url}/storage/banqup-sandbox/{document.id}?{query}"
        return sign(method, document)

    world.sandbox.storage_url = signed  # type: ignore[method-assign]
    source = world.source()

    # When the poll reads it
    [record] = poll(source)
    document = read(source, record)

    # Then the file is read again for a fresh address and booked, instead of failing the poll's window
    assert document.direction == "purchase" and document.total > 0
    downloads = [s for s in world.seen if "/storage/" in s]
    assert len(downloads) == 2
