"""The SnelStart sandbox's dagboeken, kasboekingen and bankboekingen over real HTTP on loopback: money booked on a
purchase lowers what its inkoopfactuur shows open, and what SnelStart would refuse is refused in its shape."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox
from tests.devkit.test_snelstart_sandbox import SUBSCRIPTION_KEY, decimal_json
from tests.devkit.test_snelstart_sandbox_purchases import Account

if TYPE_CHECKING:
    from collections.abc import Iterator

D = Decimal


@pytest.fixture(scope="module")
def running() -> Iterator[SnelstartSandbox]:
    with SnelstartSandbox(subscription_key=SUBSCRIPTION_KEY) as sandbox:
        yield sandbox


@pytest.fixture
def account(running: SnelstartSandbox) -> Account:
    running.reset()
    return Account(running)


def betaling(account: Account, soort: str, boeking: str, **changes: Any) -> dict[str, Any]:
    dagboeken = decimal_json(account.http.get(account.url("/dagboeken"), timeout=5))
    [dagboek] = [d for d in dagboeken if d["soort"] == soort]
    body = {
        "datum": "2026-11-20T00:00:00",
        "omschrijving": "PIN Van Dijk",
        "dagboek": {"id": dagboek["id"]},
        "bedragUitgegeven": D("121.00"),
        "bedragOntvangen": D("0"),
        "inkoopboekingBoekingsRegels": [{"boekingId": {"id": boeking}, "debet": D("121.00"), "credit": D("0")}],
    }
    return body | changes


def open_of(account: Account) -> Decimal:
    [factuur] = decimal_json(account.http.get(account.url("/inkoopfacturen"), timeout=5))
    return Decimal(factuur["openstaandSaldo"])


@pytest.mark.parametrize(("path", "soort"), [("/bankboekingen", "Bank"), ("/kasboekingen", "Kas")])
def test_money_paid_on_a_purchase_leaves_nothing_open(account: Account, path: str, soort: str) -> None:
    # Given a purchase of 121.00, all open
    boeking = decimal_json(account.post("/inkoopboekingen", account.inkoopboeking()))["id"]

    # When 121.00 is paid on it from the {soort} dagboek
    paid = account.post(path, betaling(account, soort, boeking))

    # Then it is kept and listed, and the inkoopfactuur shows nothing open
    assert paid.status_code == 201, paid.text
    assert [b["id"] for b in decimal_json(account.http.get(account.url(path), timeout=5))] == [decimal_json(paid)["id"]]
    assert open_of(account) == 0


@pytest.mark.parametrize(
    ("path", "soort", "change", "refusal"),
    [
        ("/bankboekingen", "Kas", {}, "BNK-9002"),
        ("/bankboekingen", "Bank", {"bedragUitgegeven": D("120.00")}, "BNK-9005"),
        ("/kasboekingen", "Kas", {"inkoopboekingBoekingsRegels": [
            {"boekingId": {"id": "6f9619ff-8b86-d011-b42d-00cf4fc964ff"}, "debet": D("121.00")}]}, "KAS-9003"),
        ("/kasboekingen", "Kas", {"dagboek": None}, "KAS-9000"),
    ],
    ids=["cash_journal_on_the_bank", "unbalanced", "unknown_purchase", "no_journal"],
)  # fmt: skip
def test_a_payment_snelstart_would_not_take_is_refused(
    account: Account, path: str, soort: str, change: dict[str, Any], refusal: str
) -> None:
    # Given a purchase of 121.00
    boeking = decimal_json(account.post("/inkoopboekingen", account.inkoopboeking()))["id"]

    # When a payment with a fault is posted
    answer = account.post(path, betaling(account, soort, boeking, **change))

    # Then it is refused with its code and the purchase is still open in full
    assert answer.status_code == 400
    assert refusal in [problem["errorCode"] for problem in decimal_json(answer)]
    assert open_of(account) == D("121.00")
