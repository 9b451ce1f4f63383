"""`make chaos KOPPELING=banqup_eboekhouden`: the firm's clients' Banqup documents into e-Boekhouden.nl through seeded
faults (devkit.koppelingen.banqup.chaos). Each space books into its own administration: a purchase is an invoice
received (mutation type 1), a sale an invoice sent (type 2); e-Boekhouden keeps no originals. A purchase is paid
as a person books a payment to a supplier (type 4)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.koppelingen.banqup.chaos import Target, plug
from devkit.koppelingen.banqup.chaos_report import Booking
from devkit.koppelingen.banqup.seed import connect_eboekhouden
from devkit.koppelingen.banqup.workload import NL
from devkit.sandboxes.eboekhouden.chart import VAT_CODES
from devkit.sandboxes.eboekhouden.sandbox import API_PREFIXES, EboekhoudenSandbox

if TYPE_CHECKING:
    from devkit.koppelingen.banqup.seed import ClientSpace
    from devkit.local import LocalStack
    from devkit.sandboxes.banqup.sandbox import BanqupSandbox

DIRECTIONS = {1: "purchase", 2: "sales"}
"""Mutation types: invoice received, invoice sent."""


class Eboekhouden(Target):
    name = "eboekhouden"
    title = "e-Boekhouden"
    deliver = "DeliverEboekhoudenFunction"
    api = API_PREFIXES
    country = NL
    takes_files = False

    def sandbox(self) -> EboekhoudenSandbox:
        self.eboekhouden = EboekhoudenSandbox()
        # The live API refuses a known invoice number (MUT_019); off here, so a second booking would land and be
        # counted as a duplicate instead of the vendor hiding it.
        self.eboekhouden.refuse_duplicate_invoice_numbers = False
        return self.eboekhouden

    def connect(self, stack: LocalStack, banqup: BanqupSandbox, space: ClientSpace, connection: str) -> str:
        return connect_eboekhouden(banqup, self.eboekhouden, space, connection)

    def bookings(self, books: str) -> list[Booking]:
        """Read per row: the shared reader (banqup.report) sums a mutation over its rates."""
        return [_booking(m) for m in self.eboekhouden.mutations(books) if m["type"] in DIRECTIONS]

    def duplicates(self, books: str) -> list[str]:
        return self.eboekhouden.duplicates(books)

    def pay(self, books: str, booking: Booking, amount: Decimal) -> None:
        self.eboekhouden.pay_supplier(books, booking.number, amount, datetime.now(UTC).date().isoformat())


def _booking(mutation: dict[str, Any]) -> Booking:
    net: dict[Decimal, Decimal] = {}
    vat: dict[Decimal, Decimal] = {}
    for row in mutation["rows"]:
        code = VAT_CODES.get(row["vatCode"])
        rate = (code.rate * 100).normalize() if code and code.rate is not None else Decimal(-1)
        net[rate] = net.get(rate, Decimal(0)) + Decimal(str(row["amountExclVat"]))
        vat[rate] = vat.get(rate, Decimal(0)) + Decimal(str(row["vatAmount"]))
    number = str(mutation["invoiceNumber"])
    return Booking(number, DIRECTIONS[mutation["type"]], Decimal(str(mutation["totalAmount"])), net, vat,
                   ident=str(mutation["id"]))  # fmt: skip


CONFIG, RUN, run_chaos = plug(Eboekhouden())
