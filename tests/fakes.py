"""Fakes of the vendor-facing ports (in-memory), in the cosmicpython style: real behaviour, no mocks.

The storage ports have real in-memory implementations in koppel.adapters.memory; these are the
source and target sides."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from koppel.errors import PermanentError, RetryableError
from koppel.model import (
    Address,
    Connection,
    DocumentEvent,
    ExternalRef,
    Line,
    Party,
    PaymentStatus,
    SalesDocument,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from koppel.booking import Booking
    from koppel.connectors.contract import AttachedFile
    from koppel.model import HubEvent
    from koppel.ports import DeadLetter, PolledRecord, WebhookNotice

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def a_connection(**changes: object) -> Connection:
    base = Connection(
        connection_id="demo-shop",
        tenant_id="bakkerij-jansen",
        source="fakeshop",
        targets=("fakebooks",),
        created_at=T0,
    )
    return base.model_copy(update=changes)


def a_document(number: str = "1001", *, email: str = "j.jansen@example.nl", **changes: object) -> SalesDocument:
    base = SalesDocument(
        source_id=number,
        number=number,
        issue_date=T0.date(),
        currency="EUR",
        prices_include_vat=True,
        party=Party(name="Jan Jansen", email=email, billing_address=Address(street="Voorbeeldstraat 3")),
        lines=(
            Line(
                description="Koffiebonen 1 kg",
                quantity=Decimal(2),
                unit_price=Decimal("24.95"),
                amount=Decimal("49.90"),
                vat_rate=Decimal(9),
            ),
            Line(kind="shipping", description="Verzendkosten", unit_price=Decimal("5.95"), amount=Decimal("5.95")),
        ),
        total=Decimal("55.85"),
    )
    return base.model_copy(update=changes)


def an_event(number: str = "1001", connection: Connection | None = None, **doc_changes: object) -> DocumentEvent:
    connection = connection or a_connection()
    return DocumentEvent(
        event_id=f"fakeshop:order:{number}:completed",
        tenant_id=connection.tenant_id,
        connection_id=connection.connection_id,
        source="fakeshop",
        occurred_at=T0,
        kind="order.completed",
        payload=a_document(number, **doc_changes),
    )


@dataclass
class FakeBooks:
    """A target that keeps an administration in memory and can be told to fail."""

    name: ClassVar[str] = "fakebooks"
    relations: dict[str, Party] = field(default_factory=dict)
    bookings: dict[str, Booking] = field(default_factory=dict)
    posted_numbers: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    fail_next_post: Exception | None = None
    commit_then_fail: bool = False
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def find_party(self, party: Party) -> ExternalRef | None:
        self.calls.append("find_party")
        for rid, known in self.relations.items():
            if known.email and party.email and known.email.lower() == party.email.lower():
                return ExternalRef(system=self.name, id=rid)
        return None

    def create_party(self, party: Party) -> ExternalRef:
        self.calls.append("create_party")
        rid = f"rel-{next(self._ids)}"
        self.relations[rid] = party
        return ExternalRef(system=self.name, id=rid)

    def update_party(self, ref: ExternalRef, party: Party) -> None:
        self.calls.append("update_party")
        self.relations[ref.id] = party

    def find_booking(self, booking: Booking) -> ExternalRef | None:
        self.calls.append("find_booking")
        for bid, known in self.bookings.items():
            if known.document.number == booking.document.number:
                return ExternalRef(system=self.name, id=bid, number=known.document.number)
        return None

    def post_booking(self, booking: Booking, party: ExternalRef, request_id: str) -> ExternalRef:
        self.calls.append("post_booking")
        if self.fail_next_post is not None and not self.commit_then_fail:
            error, self.fail_next_post = self.fail_next_post, None
            raise error
        bid = f"vb-{next(self._ids)}"
        self.bookings[bid] = booking
        self.posted_numbers.append(booking.document.number)
        if self.fail_next_post is not None:
            error, self.fail_next_post = self.fail_next_post, None
            raise error
        return ExternalRef(system=self.name, id=bid, number=booking.document.number)


def a_timeout_after_commit() -> RetryableError:
    return RetryableError("fakebooks did not answer in time")


def a_validation_error() -> PermanentError:
    return PermanentError("fakebooks rejected the booking: grootboek 8000 bestaat niet", status=400)


@dataclass
class FakeShop:
    """A source whose records are set by the test."""

    name: ClassVar[str] = "fakeshop"
    records: list[PolledRecord] = field(default_factory=list)
    webhook_events: dict[str, list[HubEvent]] = field(default_factory=dict)
    polled_windows: list[tuple[datetime, datetime]] = field(default_factory=list)
    secret: str = "s3cret"

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, url: str) -> None:
        from koppel.errors import SignatureError

        if headers.get("x-signature") != self.secret:
            raise SignatureError("x-signature does not match the webhook secret")

    def parse_webhook(self, body: bytes) -> WebhookNotice:
        import json

        from koppel.errors import InputError
        from koppel.ports import WebhookNotice

        try:
            data = json.loads(body)
            return WebhookNotice(entity="order", record_id=str(data["id"]))
        except (ValueError, KeyError, TypeError) as error:
            raise InputError(f"webhook body is not an order notice: {error}") from error

    hydrations: int = 0
    """How often the shop was asked to re-read a record (each read costs the shop's API budget)."""
    missing: set[str] = field(default_factory=set)
    """Record ids the shop answers 404 for."""
    busy: bool = False

    def hydrate(self, notice: WebhookNotice) -> list[HubEvent]:
        self.hydrations += 1
        if self.busy:
            raise RetryableError("the shop answered 503")
        if notice.record_id in self.missing:
            raise PermanentError(f"the shop answered 404: order {notice.record_id} does not exist")
        return list(self.webhook_events.get(notice.record_id, []))

    def poll(self, since: datetime, until: datetime) -> Iterator[PolledRecord]:
        self.polled_windows.append((since, until))
        yield from (r for r in self.records if since <= r.changed_at < until)


@dataclass
class FakePurchaseBooks(FakeBooks):
    """An administration that also books purchases (suppliers by VAT number, then name) and keeps attached files."""

    suppliers: dict[str, Party] = field(default_factory=dict)
    purchases: dict[str, tuple[str, Booking]] = field(default_factory=dict)
    """Purchase id → (supplier id, booking)."""
    files: dict[str, list[tuple[str, bytes]]] = field(default_factory=dict)
    paid: dict[str, Decimal] = field(default_factory=dict)

    def find_supplier(self, party: Party) -> ExternalRef | None:
        self.calls.append("find_supplier")
        for key in ("vat_number", "coc_number", "name"):
            wanted = getattr(party, key)
            for sid, known in self.suppliers.items():
                if wanted and getattr(known, key) == wanted:
                    return ExternalRef(system=self.name, id=sid)
        return None

    def create_supplier(self, party: Party) -> ExternalRef:
        self.calls.append("create_supplier")
        sid = f"sup-{next(self._ids)}"
        self.suppliers[sid] = party
        return ExternalRef(system=self.name, id=sid)

    def find_purchase(self, booking: Booking, supplier: ExternalRef) -> ExternalRef | None:
        self.calls.append("find_purchase")
        for pid, (sid, known) in self.purchases.items():
            if sid == supplier.id and known.document.number == booking.document.number:
                return ExternalRef(system=self.name, id=pid, number=known.document.number)
        return None

    def post_purchase(self, booking: Booking, supplier: ExternalRef, request_id: str) -> ExternalRef:
        self.calls.append("post_purchase")
        if self.fail_next_post is not None and not self.commit_then_fail:
            error, self.fail_next_post = self.fail_next_post, None
            raise error
        pid = f"pu-{next(self._ids)}"
        self.purchases[pid] = (supplier.id, booking)
        if self.fail_next_post is not None:
            error, self.fail_next_post = self.fail_next_post, None
            raise error
        return ExternalRef(system=self.name, id=pid, number=booking.document.number)

    def attach(self, ref: ExternalRef, file: AttachedFile) -> None:
        held = self.files.setdefault(ref.id, [])
        if all(name != file.filename for name, _ in held):
            held.append((file.filename, file.data))

    def purchase_status(self, purchases: Sequence[ExternalRef]) -> Iterator[tuple[str, PaymentStatus | None]]:
        for ref in purchases:
            _, booking = self.purchases[ref.id]
            paid = self.paid.get(ref.id, Decimal(0))
            if paid >= booking.total:
                yield ref.id, None
                continue
            state = "partially_paid" if paid else "open"
            yield ref.id, PaymentStatus(
                document_number=booking.document.number, status=state, amount_open=booking.total - paid,
                currency=booking.document.currency, updated_at=T0,
            )  # fmt: skip


@dataclass
class MemoryDeadLetters:
    letters: dict[str, list[DeadLetter]] = field(default_factory=dict)
    moved: list[str] = field(default_factory=list)

    def list(self, target: str) -> list[DeadLetter]:
        return list(self.letters.get(target, []))

    def requeue(self, target: str, letters: Sequence[DeadLetter]) -> int:
        for letter in letters:
            self.letters[target].remove(letter)
            self.moved.append(letter.message_id)
        return len(letters)
