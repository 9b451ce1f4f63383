"""Pure: Billy's VAT arithmetic, predicted before anything is sent, and the reconciliation of what Billy answered
with the booking, to the cent.

Billy computes each line's ``amount`` (net) and ``tax`` itself [V: read-only on https://www.billy.dk/api/]: with
``taxMode: excl`` VAT = net × rate, with ``incl`` net = total / (1 + rate), each rounded half up to cents per line [I:
Billy publishes no rounding rule]. Credit notes carry positive amounts [I].
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from koppel.connectors.billy.settings import rate_key
from koppel.money import ZERO, cents

if TYPE_CHECKING:
    from collections.abc import Sequence

    from koppel.booking import Booking
    from koppel.connectors.billy.mapping import Layout, Planned, TaxMode

HUNDRED = Decimal(100)


def sign(booking: Booking) -> Decimal:
    """Billy's credit notes carry positive amounts [I]: a credit note's negative booking is sent turned around."""
    return Decimal(-1) if booking.document.doc_type == "credit_note" else Decimal(1)


def expected(booking: Booking) -> dict[str, tuple[Decimal, Decimal]]:
    """Net and VAT per rate (as Billy will show them: positive on a credit note)."""
    turn = sign(booking)
    return {rate_key(t.rate): (turn * t.base, turn * t.vat) for t in booking.vat_totals}


def line_amounts(line: Planned, mode: TaxMode) -> tuple[Decimal, Decimal]:
    """(net, VAT) of one line as Billy computes it: excl: VAT = net × rate; incl: net = total / (1 + rate)."""
    total = line.total
    if mode == "incl":
        net = cents(total * HUNDRED / (HUNDRED + line.rate))
        return net, total - net
    return total, cents(total * line.rate / HUNDRED)


def predict(layout: Layout) -> dict[str, tuple[Decimal, Decimal]]:
    sums: dict[str, tuple[Decimal, Decimal]] = {}
    for line in layout.lines:
        net, vat = line_amounts(line, layout.tax_mode)
        before = sums.get(rate_key(line.rate), (ZERO, ZERO))
        sums[rate_key(line.rate)] = (before[0] + net, before[1] + vat)
    return sums


def differences(
    booking: Booking, layout: Layout, invoice: dict[str, Any], lines: Sequence[dict[str, Any]]
) -> list[str]:
    """What Billy holds against what the booking says, in words; [] when they agree to the cent."""
    goal = expected(booking)
    turn = sign(booking)
    found: list[str] = []
    if len(lines) != len(layout.lines):
        found.append(f"{len(lines)} lines where {len(layout.lines)} were sent")
    held: dict[str, tuple[Decimal, Decimal]] = {}
    ordered = sorted(lines, key=lambda line: int(line.get("priority") or 0))
    for sent, line in zip(layout.lines, ordered, strict=False):
        key = rate_key(sent.rate)
        net, vat = held.get(key, (ZERO, ZERO))
        held[key] = (net + money(line.get("amount")), vat + money(line.get("tax")))
    for key in sorted(set(goal) | set(held)):
        want, got = goal.get(key, (ZERO, ZERO)), held.get(key, (ZERO, ZERO))
        for what, wanted, holds in (("net", want[0], got[0]), ("VAT", want[1], got[1])):
            if wanted != holds:
                found.append(f"{what} at {key} % is {holds} where the booking says {wanted} ({holds - wanted:+})")
    totals = (
        ("amount", turn * booking.net_total),
        ("tax", turn * booking.vat_total),
        ("grossAmount", turn * booking.total),
    )
    for name, wanted in totals:
        holds = money(invoice.get(name))
        if holds != wanted:
            found.append(f"{name} is {holds} where the booking says {wanted} ({holds - wanted:+})")
    return found


def money(value: Any) -> Decimal:
    if value is None or isinstance(value, (bool, float)):
        return ZERO
    return Decimal(str(value))
