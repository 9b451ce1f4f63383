"""Banqup's write-back against the sandbox: what the accounting package says was paid lands on the Banqup file as
mark-as-paid tasks (purchases) or a payment status (sales), and a repeat finds nothing left to do."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from koppel.connectors.banqup import BanqupWriteBack, build_target
from koppel.errors import PermanentError
from koppel.model import PaymentStatus
from tests.connectors.test_banqup import PDF, T0, UBL, fresh_world, running_sandbox  # noqa: F401 (its fixtures)

if TYPE_CHECKING:
    from tests.connectors.test_banqup import World

D = Decimal


def status(file_id: str, state: str, amount_open: str, days: int = 1) -> PaymentStatus:
    return PaymentStatus(
        document_number="Snippet1", source_id=file_id, status=state, amount_open=D(amount_open), currency="EUR",
        updated_at=T0 + timedelta(days=days),
    )  # fmt: skip


def writer(world: World) -> BanqupWriteBack:
    return build_target(world.context())


def marks(world: World) -> list[tuple[str, dict[str, object]]]:
    return [(change["action"], change["body"]) for change in world.sandbox.paid_marks()]


def test_a_purchase_is_marked_paid_in_part_then_in_full_and_a_repeat_does_nothing(world: World) -> None:
    # Given a supplier's invoice of 1656.25 EUR in Banqup, booked in the accounting package
    file_id = world.add(UBL, folder="PURCHASES")
    banqup = writer(world)

    # When the books show 1000.00 paid, then all of it, then the same again
    banqup.apply_payment_status(status(file_id, "partially_paid", "656.25", days=3))
    banqup.apply_payment_status(status(file_id, "paid", "0", days=9))
    ref = banqup.apply_payment_status(status(file_id, "paid", "0", days=9))

    # Then Banqup got the part, then the rest, as exact amounts with their payment dates, and nothing the third time
    assert world.sent == [
        ("mark-as-paid", b'{"amount":1000.00,"paymentDate":"2026-11-23"}'),
        ("mark-as-paid", b'{"amount":656.25,"paymentDate":"2026-11-29"}'),
    ]
    assert world.sandbox.documents[file_id].payment_status == "FULLY_PAID"
    assert ref.system == "banqup" and ref.id == file_id


def test_a_payment_undone_in_the_books_marks_the_purchase_unpaid_then_paid_for_what_remains(world: World) -> None:
    # Given a purchase Banqup holds as paid 1000.00 of 1656.25
    file_id = world.add(UBL, folder="PURCHASES")
    banqup = writer(world)
    banqup.apply_payment_status(status(file_id, "partially_paid", "656.25"))

    # When the books now show only 600.00 paid (a payment was reversed)
    banqup.apply_payment_status(status(file_id, "partially_paid", "1056.25", days=2))

    # Then Banqup is marked unpaid and then paid 600.00, so it shows what the books show
    assert [action for action, _ in marks(world)] == ["mark-as-paid", "mark-as-unpaid", "mark-as-paid"]
    assert world.sandbox.documents[file_id].paid == D("600.00")


def test_a_sales_invoice_gets_its_payment_status_once(world: World) -> None:
    # Given a sales invoice of 1656.25 EUR
    file_id = world.add(UBL, folder="SALES")
    banqup = writer(world)

    # When the customer paid 500.00, then everything, then the status is carried back again
    banqup.apply_payment_status(status(file_id, "partially_paid", "1156.25"))
    banqup.apply_payment_status(status(file_id, "paid", "0"))
    banqup.apply_payment_status(status(file_id, "paid", "0"))

    # Then Banqup got a partial payment with its amount, then fully paid, and nothing more
    assert world.sent == [
        ("payment-status", b'{"paymentStatus":"PARTIALLY_PAID","amount":500.00}'),
        ("payment-status", b'{"paymentStatus":"FULLY_PAID"}'),
    ]


def test_a_part_payment_of_a_file_without_an_amount_due_is_refused_saying_what_to_do(world: World) -> None:
    # Given a purchase PDF Banqup read no total from
    file_id = world.add(PDF, folder="PURCHASES")

    # When the books show part of it paid  Then it is refused: Banqup has no amount to subtract from
    with pytest.raises(PermanentError, match=r"knows no amount due for Snippet1.*mark it in Banqup by hand"):
        writer(world).apply_payment_status(status(file_id, "partially_paid", "10.00"))
    assert marks(world) == []
