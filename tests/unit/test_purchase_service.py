"""A supplier's invoice booked as a purchase, exactly once, and its payment followed back: services/purchase.py and
services/target_sync.py with an in-memory administration."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from koppel.adapters.memory import MemoryConnectionStore, MemoryFileStore, MemoryLedger
from koppel.errors import RetryableError
from koppel.model import Address, Line, Party
from koppel.services.deliver import DeliverDeps, deliver
from koppel.services.target_sync import TargetSyncDeps, sync_targets
from tests.fakes import T0, FakeBooks, FakePurchaseBooks, a_connection, an_event

D = Decimal
VAN_DIJK = Party(
    name="Groothandel Van Dijk BV",
    vat_number="NL001234567B01",
    is_business=True,
    billing_address=Address(city="Utrecht", country_code="NL"),
)


def a_purchase(number: str = "F-1001", party: Party = VAN_DIJK, **changes: object) -> Any:
    lines = (Line(description="Kantoorartikelen", unit_price=D("100.00"), amount=D("100.00"), vat_rate=D(21)),)
    fields: dict[str, object] = {
        "direction": "purchase", "party": party, "lines": lines, "total": D("121.00"),
        "prices_include_vat": False, "due_days": 30, **changes,
    }  # fmt: skip
    return an_event(number, **fields)


@pytest.fixture
def books() -> FakePurchaseBooks:
    return FakePurchaseBooks()


@pytest.fixture
def files() -> MemoryFileStore:
    return MemoryFileStore()


@pytest.fixture
def deps(books: FakePurchaseBooks, files: MemoryFileStore) -> DeliverDeps:
    return DeliverDeps(target=books, target_name="fakebooks", ledger=MemoryLedger(), clock=lambda: T0, files=files)


def test_a_suppliers_invoice_is_booked_as_a_purchase_under_a_new_supplier(
    deps: DeliverDeps, books: FakePurchaseBooks
) -> None:
    # Given a purchase invoice of a supplier the administration does not know
    # When it is delivered
    result = deliver(a_purchase(), deps)

    # Then it is a purchase of a new supplier (not a sale, not a customer), and the ledger remembers it
    assert result.outcome == "posted" and result.state == "POSTED"
    assert [p.name for p in books.suppliers.values()] == [VAN_DIJK.name]
    assert books.relations == {} and books.bookings == {}
    [(supplier_id, booking)] = books.purchases.values()
    assert books.suppliers[supplier_id].vat_number == VAN_DIJK.vat_number
    assert booking.total == D("121.00") and booking.vat_total == D("21.00")


def test_two_invoices_of_one_new_supplier_make_one_supplier(deps: DeliverDeps, books: FakePurchaseBooks) -> None:
    # Given two invoices of the same supplier, the second naming it differently (same VAT number)
    renamed = VAN_DIJK.model_copy(update={"name": "Van Dijk B.V."})

    # When both are delivered
    deliver(a_purchase("F-1001"), deps)
    deliver(a_purchase("F-1002", party=renamed), deps)

    # Then the administration holds one supplier with both purchases
    assert len(books.suppliers) == 1
    assert len({supplier for supplier, _ in books.purchases.values()}) == 1


def test_one_number_from_two_suppliers_is_two_purchases(deps: DeliverDeps, books: FakePurchaseBooks) -> None:
    # Given two suppliers that both number their invoice F-1001
    other = Party(name="Bürobedarf Schmidt GmbH", vat_number="DE987654321", is_business=True)

    # When both are delivered
    first = deliver(a_purchase("F-1001"), deps)
    second_event = a_purchase("F-1001", party=other, source_id="file-2")
    second = deliver(second_event.model_copy(update={"event_id": "banqup:file:2"}), deps)

    # Then both are booked
    assert (first.outcome, second.outcome) == ("posted", "posted")
    assert len(books.purchases) == 2


def test_a_purchase_committed_before_a_timeout_is_found_and_its_file_attached_once(
    deps: DeliverDeps, books: FakePurchaseBooks, files: MemoryFileStore
) -> None:
    # Given a purchase with the supplier's PDF, and a target that commits it but times out
    pdf = files.put("c1", "F-1001.pdf", "application/pdf", b"%PDF-1.4 F-1001")
    event = a_purchase(attachments=(pdf,))
    books.fail_next_post, books.commit_then_fail = RetryableError("no answer in time"), True

    # When it is delivered, fails, and is delivered again after the lease ran out
    with pytest.raises(RetryableError):
        deliver(event, deps)
    deps.clock = lambda: T0 + timedelta(minutes=10)
    result = deliver(event, deps)

    # Then the purchase is found by supplier and number, booked once, and the file is attached once
    assert result.outcome == "found_in_target"
    assert len(books.purchases) == 1
    assert [[name for name, _ in held] for held in books.files.values()] == [["F-1001.pdf"]]


def test_what_a_person_should_check_is_noted_on_the_booked_row(deps: DeliverDeps) -> None:
    # Given a purchase read from a PDF whose due date Banqup could not read
    event = a_purchase(review=("the due date was not on the document: check the supplier's terms",))

    # When it is delivered
    result = deliver(event, deps)

    # Then it is booked, and the row says what to check
    assert result.outcome == "posted"
    assert result.entry is not None and "review: the due date was not on the document" in result.entry.reason


def test_a_target_that_books_no_purchases_parks_them_saying_so() -> None:
    # Given a target that only books sales
    deps = DeliverDeps(target=FakeBooks(), target_name="fakebooks", ledger=MemoryLedger(), clock=lambda: T0)

    # When a purchase reaches it
    result = deliver(a_purchase(), deps)

    # Then it is parked with what to do, and nothing was booked as a sale
    assert result.outcome == "parked"
    assert "takes no purchase invoices" in result.reason and "by hand" in result.reason


def test_a_purchase_paid_in_the_books_is_carried_back_and_never_read_as_a_sale(books: FakePurchaseBooks) -> None:
    # Given a booked purchase F-1001 and, in the same administration, a sales invoice numbered F-1001 too
    connection = a_connection()
    ledger, store, sent = MemoryLedger(), MemoryConnectionStore([connection]), []
    deps = DeliverDeps(target=books, target_name="fakebooks", ledger=ledger, clock=lambda: T0)
    deliver(a_purchase("F-1001", connection=connection), deps)
    asked_for_sales: list[list[str]] = []

    def sales_status(numbers: list[str]) -> Any:
        asked_for_sales.append(numbers)
        return iter(())

    books.payment_status = sales_status  # type: ignore[attr-defined]
    sync = TargetSyncDeps(
        connections=store, ledger=ledger, publisher=type("Q", (), {"publish": lambda s, t, e, **k: sent.extend(e)})(),
        target_for=lambda c, t: books, writes_back=lambda system: True, clock=lambda: T0 + timedelta(minutes=6),
    )  # fmt: skip

    # When the supplier is paid in full in the books and the target is synced
    [purchase_id] = books.purchases
    books.paid[purchase_id] = D("121.00")
    sync_targets(store.get(connection.connection_id), sync)

    # Then Banqup is told it is paid, and the sales side was never asked about F-1001
    assert [(e.payload.document_number, e.payload.status) for e in sent] == [("F-1001", "paid")]
    assert asked_for_sales == []
