"""`make chaos KOPPELING=banqup_quickbooks`: the firm's clients' Banqup documents into QuickBooks Online through seeded
faults (devkit.koppelingen.banqup.chaos). Each space is its own company with Dutch VAT codes, connected by the owner's
consent: purchases become Bills (credit notes VendorCredits) with the original attached, sales Invoices. A bill is
paid with a BillPayment from the company's bank account: its Balance goes down."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devkit.koppelingen.banqup.chaos import Target, plug
from devkit.koppelingen.banqup.chaos_report import Booking, booked
from devkit.koppelingen.banqup.report import quickbooks_holding
from devkit.koppelingen.banqup.seed import connect_quickbooks
from devkit.koppelingen.banqup.workload import NL
from devkit.sandboxes.quickbooks.sandbox import API_PREFIXES, QuickbooksSandbox

if TYPE_CHECKING:
    from decimal import Decimal

    from devkit.koppelingen.banqup.seed import ClientSpace
    from devkit.local import LocalStack
    from devkit.sandboxes.banqup.sandbox import BanqupSandbox


class Quickbooks(Target):
    name = "quickbooks"
    title = "QuickBooks Online"
    deliver = "DeliverQuickbooksFunction"
    api = API_PREFIXES
    country = NL

    def sandbox(self) -> QuickbooksSandbox:
        self.quickbooks = QuickbooksSandbox()
        authorize = self.quickbooks.oauth.authorize

        def newest_company(request: Any, realm: str | None, now: float) -> Any:
            """The owner picks the client's own company on the consent screen: the one just added (the sandbox
            picks the first one added unless the request names a realmId, which the start link does not)."""
            return authorize(request, next(reversed(self.quickbooks.companies), realm), now)

        self.quickbooks.oauth.authorize = newest_company  # type: ignore[method-assign]
        return self.quickbooks

    def connect(self, stack: LocalStack, banqup: BanqupSandbox, space: ClientSpace, connection: str) -> str:
        return connect_quickbooks(stack, banqup, self.quickbooks, space, connection)

    def bookings(self, books: str) -> list[Booking]:
        return booked(quickbooks_holding(self.quickbooks, books))

    def duplicates(self, books: str) -> list[str]:
        return self.quickbooks.duplicates(books)

    def pay(self, books: str, booking: Booking, amount: Decimal) -> None:
        with self.quickbooks._lock:
            bills = self.quickbooks.company(books).table("Bill").values()
            bill_id = next(b["Id"] for b in bills if b.get("DocNumber") == booking.number)
        self.quickbooks.pay_bill(books, bill_id, amount)  # a BillPayment, as the company's own screens make it


CONFIG, RUN, run_chaos = plug(Quickbooks())
