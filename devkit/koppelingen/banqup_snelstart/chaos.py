"""`make chaos KOPPELING=banqup_snelstart`: the firm's clients' Banqup documents into SnelStart through seeded faults
(devkit.koppelingen.banqup.chaos). Each space is activated in its own administratie: purchases become inkoopboekingen
with the original attached as a document, sales verkoopboekingen. A purchase is paid as a bank booking pays it: its
inkoopfactuur's openstaandSaldo goes down."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devkit.koppelingen.banqup.chaos import Target, plug
from devkit.koppelingen.banqup.chaos_report import Booking, booked
from devkit.koppelingen.banqup.report import snelstart_holding
from devkit.koppelingen.banqup.seed import connect_snelstart
from devkit.koppelingen.banqup.workload import NL
from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox

if TYPE_CHECKING:
    from decimal import Decimal

    from devkit.koppelingen.banqup.seed import ClientSpace
    from devkit.local import LocalStack
    from devkit.sandboxes.banqup.sandbox import BanqupSandbox


class Snelstart(Target):
    name = "snelstart"
    title = "SnelStart"
    deliver = "DeliverSnelstartFunction"
    api = ("/v2",)
    country = NL

    def sandbox(self) -> SnelstartSandbox:
        self.snelstart = SnelstartSandbox(subscription_key="koppel-partner-subscription-key")
        return self.snelstart

    def connect(self, stack: LocalStack, banqup: BanqupSandbox, space: ClientSpace, connection: str) -> str:
        from koppel import bootstrap
        from koppel.settings import StoreSettings

        connect_snelstart(stack, banqup, self.snelstart, space, connection)
        store = bootstrap.connection_store(StoreSettings.load())
        return store.get_secrets(connection, "snelstart")["koppelsleutel"]

    def bookings(self, books: str) -> list[Booking]:
        with self.snelstart._lock:
            return booked(snelstart_holding(self.snelstart, books))

    def duplicates(self, books: str) -> list[str]:
        return self.snelstart.duplicates(books)

    def pay(self, books: str, booking: Booking, amount: Decimal) -> None:
        s = self.snelstart
        with s._lock:
            admin = s.administratie(books)
            factuur = next(f for f in admin.inkoopfacturen.values() if f["factuurnummer"] == booking.number)
            admin.settle(factuur, amount, s._now())


CONFIG, RUN, run_chaos = plug(Snelstart())
