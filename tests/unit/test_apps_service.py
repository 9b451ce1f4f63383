"""The source's own screens (services/apps.py): the button books a record once, the panel shows its invoices in
words, and actions reach the target; every request is signed and names only the vendor account."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from koppel.adapters.memory import MemoryConnectionStore, MemoryLedger, MemoryPublisher
from koppel.connectors.contract import ExtensionRequest, PanelInvoice
from koppel.errors import NotFoundError, SignatureError
from koppel.model import PaymentStatus
from koppel.ports import WebhookNotice
from koppel.services.apps import AppDeps, act, book_now, panel
from koppel.services.deliver import DeliverDeps, deliver
from tests.fakes import T0, FakeBooks, FakeShop, a_connection, a_validation_error, an_event

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from koppel.model import ExternalRef


class FakeExtension:
    """The vendor's app extension: a request is signed when its ``sig`` is the app secret."""

    def read_request(self, query: Mapping[str, str], partner: Mapping[str, str], now: datetime) -> ExtensionRequest:
        if query.get("sig") != partner["app_secret"]:
            raise SignatureError("the request is not signed with Koppel's app secret")
        return ExtensionRequest(account_id=query["company"], user_id="7", record_ids=(query["deal"],))

    def event_ids(self, record_id: str) -> tuple[str, ...]:
        return (f"fakeshop:order:{record_id}:completed",)

    def notice(self, record_id: str) -> WebhookNotice:
        return WebhookNotice(entity="order", record_id=record_id)

    def panel(self, invoices: Sequence[PanelInvoice]) -> dict[str, Any]:
        return {"data": [vars(invoice) for invoice in invoices]}


@dataclass
class ActingBooks(FakeBooks):
    """FakeBooks that also takes actions on an invoice, as QuickBooks does from Pipedrive's panel."""

    done: list[tuple[str, str]] = field(default_factory=list)

    def void_invoice(self, ref: ExternalRef) -> None:
        self.done.append(("void", ref.id))

    def delete_invoice(self, ref: ExternalRef) -> None:
        self.done.append(("delete", ref.id))

    def send_invoice(self, ref: ExternalRef, email: str | None = None) -> None:
        self.done.append(("send", ref.id))

    def invoice_pdf(self, ref: ExternalRef) -> bytes:
        return b"%PDF-1.7 " + ref.id.encode()

    def invoice_link(self, ref: ExternalRef) -> str:
        return f"https://books.example/invoice/{ref.id}"


@pytest.fixture
def world() -> dict[str, Any]:
    connection = a_connection()
    store, ledger, queue = MemoryConnectionStore([connection]), MemoryLedger(), MemoryPublisher()
    store.link_account("fakeshop", "company-1", connection.connection_id)
    shop, books = FakeShop(), ActingBooks()
    shop.webhook_events = {"1001": [an_event("1001", connection)]}
    deps = AppDeps(
        connections=store, ledger=ledger, publisher=queue, source_for=lambda c: shop,
        target_for=lambda c, t: books, extension_for=lambda s: FakeExtension(),
        partner_secret=lambda s: {"app_secret": "app-secret"}, clock=lambda: T0,
    )  # fmt: skip
    return {"deps": deps, "queue": queue, "ledger": ledger, "books": books, "store": store, "shop": shop}


CLICK = {"company": "company-1", "deal": "1001", "sig": "app-secret"}


def _deliver(world: dict[str, Any]) -> None:
    """The target's deliver function books what the button queued."""
    for event in world["queue"].sent["fakebooks"]:
        deliver(event, DeliverDeps(target=world["books"], target_name="fakebooks", ledger=world["ledger"]))


def test_the_button_queues_the_record_once_and_a_second_press_books_nothing_more(world) -> None:
    # When a salesperson presses the button on a deal, then its event is queued for the target
    first = book_now("fakeshop", CLICK, world["deps"])
    assert first.event_ids == ("fakeshop:order:1001:completed",)
    _deliver(world)
    # When they press it again after it was booked, then nothing is read or queued again
    hydrations = world["shop"].hydrations
    again = book_now("fakeshop", CLICK, world["deps"])
    assert (again.event_ids, again.already_booked) == ((), ("1001",))
    assert world["shop"].hydrations == hydrations
    assert world["books"].posted_numbers == ["1001"]


def test_a_request_not_signed_by_koppel_or_from_an_unknown_account_is_refused(world) -> None:
    with pytest.raises(SignatureError):
        book_now("fakeshop", CLICK | {"sig": "guess"}, world["deps"])
    with pytest.raises(NotFoundError, match="has no Koppel connection: connect it"):
        book_now("fakeshop", CLICK | {"company": "company-2"}, world["deps"])
    # And a disconnected connection says so instead of booking
    world["store"].put(a_connection(status="disconnected"))
    with pytest.raises(NotFoundError, match="is disconnected"):
        book_now("fakeshop", CLICK, world["deps"])
    assert world["queue"].sent == {}


def test_the_panel_shows_each_invoice_in_words_with_its_link_and_actions(world) -> None:
    # Given the deal's invoice was booked, then paid in part
    book_now("fakeshop", CLICK, world["deps"])
    _deliver(world)
    [row] = world["ledger"].entries("demo-shop", "POSTED")
    paid = PaymentStatus(
        document_number="1001", status="partially_paid", amount_open=Decimal("21.00"), currency="EUR", updated_at=T0
    )
    world["ledger"].note_payment(row, f"{paid.status} 21.00", T0, due_date="2026-12-17")
    # When the salesperson opens the deal's panel
    [shown] = panel("fakeshop", CLICK, world["deps"])["data"]
    # Then it shows the invoice's number, status in words, total, link and what may be done with it
    assert shown["number"] == "1001" and shown["status"] == "Partially paid" and shown["total"] == row.total
    assert shown["amount_open"] == "EUR 21.00" and shown["due_date"] == "2026-12-17"
    assert shown["link"] == f"https://books.example/invoice/{row.external_id}"
    assert shown["actions"] == ("void", "delete", "send", "pdf")


def test_a_parked_invoice_shows_the_vendor_s_reason_and_offers_no_action(world) -> None:
    book_now("fakeshop", CLICK, world["deps"])
    world["books"].fail_next_post = a_validation_error()
    _deliver(world)
    [shown] = panel("fakeshop", CLICK, world["deps"])["data"]
    assert shown["status"] == "Needs attention" and shown["reason"] and shown["actions"] == ()


def test_actions_reach_the_target_for_the_deal_s_booked_invoice(world) -> None:
    book_now("fakeshop", CLICK, world["deps"])
    _deliver(world)
    [row] = world["ledger"].entries("demo-shop", "POSTED")
    # When the salesperson voids it, sends it and downloads it from the panel
    assert act("fakeshop", "void", CLICK, world["deps"]) is None
    assert act("fakeshop", "send", CLICK, world["deps"]) is None
    assert act("fakeshop", "pdf", CLICK, world["deps"]) == b"%PDF-1.7 " + row.external_id.encode()
    # Then the target did each, on that invoice; an unknown action or a deal without an invoice is a clear 404
    assert world["books"].done == [("void", row.external_id), ("send", row.external_id)]
    with pytest.raises(NotFoundError, match="actions: void, delete, send, pdf"):
        act("fakeshop", "refund", CLICK, world["deps"])
    with pytest.raises(NotFoundError, match="no booked invoice"):
        act("fakeshop", "void", CLICK | {"deal": "1002"}, world["deps"])
