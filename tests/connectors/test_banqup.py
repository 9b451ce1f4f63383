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
from koppel.adapters.memory import MemoryConnectionStore, MemoryFileStore
from koppel.connectors import ConnectorContext
from koppel.connectors.banqup import BanqupSource, build_source, preview_events
from koppel.errors import AuthError
from koppel.http import session_for
from koppel.model import Connection, DocumentEvent, SalesDocument

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


# -- documents ------------------------------------------------------------------------------------------------------
def test_a_ubl_purchase_invoice_is_read_as_a_purchase_with_its_file_kept(world: World) -> None:
    # Given a supplier's UBL invoice in the client's purchases folder
    file_id = world.add(UBL, folder="PURCHASES", filename="inv-snippet1.xml")
    source = world.source()

    # When it is polled and read
    [record] = poll(source)
    document = read(source, record)

    # Then it is a purchase from the supplier, to the cent, named by its Banqup file id
    assert document.direction == "purchase" and document.number == "Snippet1"
    assert document.total == D("1656.25") and document.source_id == file_id
    assert document.party.name == "SupplierTradingName Ltd." and document.party.vat_number
    # And the UBL file itself is kept as the document's attachment
    [attachment] = document.attachments
    assert attachment.filename == "inv-snippet1.xml" and attachment.content_type == "application/xml"
    assert world.files.read(attachment) == UBL


def test_a_ubl_sales_invoice_is_read_as_a_sale_to_its_customer(world: World) -> None:
    # Given a sales invoice in the client's sales folder
    world.add(UBL, folder="SALES")
    source = world.source()

    # When it is polled and read  Then the client is the seller, the buyer its customer
    document = read(source, poll(source)[0])
    assert document.direction == "sales" and document.party.name == "BuyerTradingName AS"
    assert len(document.attachments) == 1


def test_a_pdf_is_booked_per_vat_rate_from_banqups_extraction_and_flagged_for_review(world: World) -> None:
    # Given a scanned PDF whose extraction has no due date and no registration number
    world.add(PDF, filename="peeters.pdf", extraction=EXTRACTION)
    source = world.source()

    # When it is polled and read
    document = read(source, poll(source)[0])

    # Then it is one line per VAT rate, adding up to the stated total with the stated VAT
    assert [(line.amount, line.vat_rate) for line in document.lines] == [(D("100.00"), D(21)), (D("20.00"), D(6))]
    assert document.total == D("142.20") and document.total_vat == D("22.20")
    assert document.number == "F2026-117" and document.party.vat_number == "BE0477472701"
    # And a person is asked to check it, with one sentence per missing field
    assert document.review[0].startswith("Read by Banqup from the PDF peeters.pdf")
    assert "The due date is missing: check the payment terms on the PDF." in document.review
    assert "The supplier's registration number is missing." in document.review
    assert not any("VAT number" in note for note in document.review)
    assert world.files.read(document.attachments[0]) == PDF


def test_a_pdf_read_without_its_number_is_parked_with_the_reason_and_waited_for(world: World) -> None:
    # Given a PDF whose extraction lacks the invoice number and the total
    extraction = {k: v for k, v in EXTRACTION.items() if k not in ("invoiceNumber", "totalAmount")}
    file_id = world.add(PDF, filename="scan.pdf", extraction=extraction)

    # When it is polled
    [record] = poll(world.source())

    # Then it is a problem under its event id, naming what is missing, and the watermark waits for its correction
    assert (
        record.problem
        == "Banqup read scan.pdf without its invoice number, total: complete it in Banqup's validation screen"
    )
    assert record.event_ids == (f"banqup:file:{file_id}",) and not record.is_settled


def test_a_pdf_whose_rates_do_not_add_up_is_refused_as_unbalanced(world: World) -> None:
    # Given a PDF read with a total a cent off its VAT per rate
    world.add(PDF, extraction={**EXTRACTION, "totalAmount": "142.21"})
    source = world.source()
    [record] = poll(source)

    # When it is read  Then it is refused with both sums (the poll parks it)
    from koppel.errors import UnbalancedDocumentError

    with pytest.raises(UnbalancedDocumentError, match=r"120\.00 net and 22\.20 VAT per rate.*total 142\.21"):
        read(source, record)


def test_a_receipt_is_a_paid_purchase(world: World) -> None:
    # Given a till receipt scanned into the purchases folder
    world.add(PDF, category="RECEIPT", extraction=EXTRACTION)
    source = world.source()

    # When read  Then it is a purchase that is paid
    document = read(source, poll(source)[0])
    assert document.direction == "purchase" and document.is_paid


def test_bank_statements_and_other_documents_are_skipped_saying_they_stay_in_banqup(world: World) -> None:
    # Given a bank statement, another document and a sales invoice of a connection that books purchases only
    world.add(PDF, category="BANK_STATEMENT", filename="rekeninguittreksel-11.pdf")
    world.add(PDF, category="OTHER", filename="contract.pdf", hours=1)
    world.add(UBL, folder="SALES", filename="sale.xml", hours=2)

    # When polled
    records = poll(world.source(folders=["PURCHASES"]))

    # Then each is skipped with what it is, nothing is lost silently, and nothing was downloaded
    assert [r.skipped_reason for r in records] == [
        "rekeninguittreksel-11.pdf is a bank statement, not an invoice, credit note or receipt: it stays in Banqup "
        "and is not booked",
        "contract.pdf is an other document, not an invoice, credit note or receipt: it stays in Banqup and is not "
        "booked",
        "sale.xml is in Banqup's SALES folder, which this connection does not book",
    ]
    assert all(r.notice is None and r.is_settled for r in records)


def test_a_file_banqup_is_still_processing_holds_the_watermark_until_a_week_has_passed(world: World) -> None:
    # Given a PDF the Document Processor is still reading
    world.add(PDF, processing="IN_PROGRESS")

    # When polled the next day, and again eight days later
    [fresh] = poll(world.source())
    world.clock.now += timedelta(days=8)
    [stale] = poll(world.source(), until=world.clock.now)

    # Then it is not booked yet and holds the watermark back, until it has been waited for long enough
    assert "still being uploaded or read by Banqup" in fresh.skipped_reason and not fresh.is_settled
    assert "no longer waited for" in stale.skipped_reason and stale.is_settled


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
