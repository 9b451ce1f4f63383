"""`make chaos KOPPELING=banqup_billy`: the firm's Danish clients' Banqup documents into Billy through seeded faults
(devkit.koppelingen.banqup.chaos): purchases in DKK at 25 % (Billy books purchases, not Banqup's sales), each a bill
of its supplier with the original attached. A bill is paid as a person registers a bank payment on it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from devkit.koppelingen.banqup.chaos import Target, plug
from devkit.koppelingen.banqup.chaos_report import Booking, booked
from devkit.koppelingen.banqup.report import billy_holding
from devkit.koppelingen.banqup.seed import connect_billy
from devkit.koppelingen.banqup.workload import DK
from devkit.sandboxes.billy import payments
from devkit.sandboxes.billy.sandbox import BillySandbox

if TYPE_CHECKING:
    from decimal import Decimal

    from devkit.koppelingen.banqup.seed import ClientSpace
    from devkit.local import LocalStack
    from devkit.sandboxes.banqup.sandbox import BanqupSandbox
    from devkit.sandboxes.billy.changes import Changes


class Billy(Target):
    name = "billy"
    title = "Billy"
    deliver = "DeliverBillyFunction"
    api = ("/v2",)
    country = DK

    def sandbox(self) -> BillySandbox:
        self.billy = BillySandbox()
        return self.billy

    def connect(self, stack: LocalStack, banqup: BanqupSandbox, space: ClientSpace, connection: str) -> str:
        token = f"{connection}-billy-access-token".ljust(40, "0")
        connect_billy(banqup, self.billy, space, connection, token=token)
        return token

    def bookings(self, books: str) -> list[Booking]:
        return booked(billy_holding(self.billy, books))

    def duplicates(self, books: str) -> list[str]:
        return []  # a supplier's invoice number is not unique in Billy: the run counts them per client itself

    def pay(self, books: str, booking: Booking, amount: Decimal) -> None:
        bill = next(b for b in self.billy.records("bills", books) if b["suppliersInvoiceNo"] == booking.number)

        def bank_payment(work: Changes) -> Any:
            body = {
                "entryDate": datetime.now(UTC).date().isoformat(), "cashAmount": amount, "cashSide": "credit",
                "cashAccountId": work.org.record["defaultInvoiceBankAccountId"],
                "associations": [{"subjectReference": f"bill:{bill['id']}"}],
            }  # fmt: skip
            return payments.create(work, body, "bankPayment")

        self.billy._run(books, bank_payment)


CONFIG, RUN, run_chaos = plug(Billy())
