"""SnelStart books a purchase paid when it was bought (a till receipt paid by card or cash) paid: the exact kas- or
bankboeking it sends (replayed with ``responses``), nothing paid twice when deliver runs again, and the whole path
against the loopback sandbox."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import requests
import responses

from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox
from koppel.adapters.memory import MemoryLedger
from koppel.booking import plan_booking
from koppel.connectors.snelstart import build_target
from koppel.connectors.snelstart.purchase_payment import still_to_book
from koppel.errors import MappingError
from koppel.model import ExternalRef, Payment
from koppel.services.deliver import DeliverDeps, deliver
from koppel.wire import dumps as encode_json
from tests.conformance.purchases import ISSUED, RECEIPT
from tests.connectors.test_snelstart import API, _ctx, _token

D = Decimal
SUPPLIER = ExternalRef(system="snelstart", id="9d3c2a7e-51f4-4b8e-a0c2-6f1e2d3c4b5a")
BOEKING = "4f1c9e2a-7b3d-4e5f-8a9b-0c1d2e3f4a5b"
KAS, BANK, SPAAR = (f"d0000000-0000-0000-0000-00000000{n}" for n in ("1000", "1100", "1110"))
DAGBOEKEN = [
    {"id": KAS, "nummer": 1000, "soort": "Kas", "omschrijving": "Kas", "nonactief": False},
    {"id": BANK, "nummer": 1100, "soort": "Bank", "omschrijving": "Bank", "nonactief": False},
    {"id": SPAAR, "nummer": 1110, "soort": "Bank", "omschrijving": "Spaarrekening", "nonactief": False},
    {"id": "d0000000-0000-0000-0000-000000001900", "nummer": 1900, "soort": "Memoriaal", "nonactief": False},
]


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        _token(mock)
        mock.get(f"{API}/dagboeken", json=DAGBOEKEN)
        mock.post(f"{API}/inkoopboekingen", status=201, json={"id": BOEKING})
        yield mock


def paid_by(method: str, description: str = "") -> object:
    payment = Payment(method=method, amount=D("48.40"), paid_on=ISSUED, description=description)  # type: ignore[arg-type]
    return plan_booking(RECEIPT.document.model_copy(update={"payments": (payment,)}))


def sent(mock: responses.BaseResponse) -> dict[str, object]:
    return json.loads(mock.calls[0].request.body, parse_float=Decimal)  # type: ignore[no-any-return]


def test_a_receipt_paid_by_card_is_booked_paid_with_a_bankboeking_on_the_purchase(api) -> None:
    # Given Van Dijk's till receipt BON-7731 of 48.40, paid by card ("PIN") at the counter
    bank = api.post(f"{API}/bankboekingen", status=201, json={"id": "b0000000-0000-0000-0000-000000000001"})

    # When it is booked
    ref = build_target(_ctx(requests.Session())).post_purchase(RECEIPT_BOOKING, SUPPLIER, "req-1")

    # Then a bankboeking in the first Bank dagboek pays 48.40 out and settles the new inkoopboeking with it
    assert ref.id == BOEKING
    assert sent(bank) == {
        "datum": "2026-11-20T00:00:00",
        "omschrijving": "Betaling Groothandel Van Dijk BV factuur BON-7731 (PIN)",
        "dagboek": {"id": BANK},
        "bedragUitgegeven": D("48.40"),
        "bedragOntvangen": D("0"),
        "inkoopboekingBoekingsRegels": [
            {"boekingId": {"id": BOEKING}, "omschrijving": "Betaling Groothandel Van Dijk BV factuur BON-7731 (PIN)",
             "debet": D("48.40"), "credit": D("0")},
        ],
    }  # fmt: skip
    # And nothing was read of what is open: a booking just made owes everything
    assert not [call for call in api.calls if "/inkoopfacturen" in call.request.url]


def test_cash_goes_to_the_kas_journal_and_the_setting_picks_another_bank_journal(api) -> None:
    # Given one receipt paid in cash and one by card, with bank_journal set to 1110 (the savings account)
    kas = api.post(f"{API}/kasboekingen", status=201, json={"id": "b0000000-0000-0000-0000-000000000002"})
    bank = api.post(f"{API}/bankboekingen", status=201, json={"id": "b0000000-0000-0000-0000-000000000003"})
    target = build_target(_ctx(requests.Session(), settings={"bank_journal": 1110}))

    # When both are booked
    target.post_purchase(paid_by("cash"), SUPPLIER, "req-1")
    target.post_purchase(paid_by("card"), SUPPLIER, "req-2")

    # Then the cash is a kasboeking in Kas 1000, the card a bankboeking in 1110; the dagboeken were read once
    assert (sent(kas)["dagboek"], sent(bank)["dagboek"]) == ({"id": KAS}, {"id": SPAAR})
    assert len([call for call in api.calls if call.request.url.endswith("/dagboeken")]) == 1


def test_a_journal_that_does_not_exist_or_takes_no_money_is_refused_saying_what_to_set(api) -> None:
    # Given cash_journal set to a number SnelStart does not have, and bank_journal to the memoriaal
    # When a receipt is booked, then each is refused naming the setting
    with pytest.raises(MappingError, match=r"no dagboek 1001 .*setting cash_journal"):
        build_target(_ctx(requests.Session(), settings={"cash_journal": 1001})).post_purchase(
            paid_by("cash"), SUPPLIER, "req-1"
        )
    with pytest.raises(MappingError, match=r"dagboek 1900 is a Memoriaal dagboek.*setting bank_journal"):
        build_target(_ctx(requests.Session(), settings={"bank_journal": 1900})).post_purchase(
            paid_by("card"), SUPPLIER, "req-2"
        )


@pytest.mark.parametrize(("open_", "paid"), [("0", []), ("48.40", [D("48.40")]), ("40.00", [D("40.00")])],
                         ids=["paid_already", "crash_before_the_payment", "part_paid_by_hand"])  # fmt: skip
def test_a_purchase_found_again_is_paid_only_for_what_is_still_open(api, open_: str, paid: list[Decimal]) -> None:
    # Given BON-7731 is booked already and its inkoopfactuur shows {open_} of 48.40 open
    api.get(f"{API}/relaties/{SUPPLIER.id}/inkoopboekingen", json=[{"id": BOEKING, "factuurnummer": "BON-7731"}])
    factuur = {"factuurnummer": "BON-7731", "factuurBedrag": D("48.40"), "openstaandSaldo": D(open_),
               "inkoopBoeking": {"id": BOEKING}}  # fmt: skip
    api.get(f"{API}/inkoopfacturen", body=encode_json([factuur]), content_type="application/json")
    bank = api.post(f"{API}/bankboekingen", status=201, json={"id": "b0000000-0000-0000-0000-000000000004"})

    # When deliver runs again and finds the purchase
    found = build_target(_ctx(requests.Session())).find_purchase(RECEIPT_BOOKING, SUPPLIER)

    # Then only what is still open is paid, at most once
    assert found is not None and found.id == BOEKING
    assert [json.loads(c.request.body, parse_float=Decimal)["bedragUitgegeven"] for c in bank.calls] == paid


def test_payments_shown_settled_are_not_booked_again() -> None:
    # Given a receipt paid 20.00 in cash and 28.40 by card
    cash, card = (Payment(method=m, amount=D(a), paid_on=ISSUED) for m, a in (("cash", "20.00"), ("card", "28.40")))

    # When SnelStart shows nothing, the cash, or everything settled, then the rest is what is booked
    assert still_to_book((cash, card), D(0)) == [(cash, D("20.00")), (card, D("28.40"))]
    assert still_to_book((cash, card), D("20.00")) == [(card, D("28.40"))]
    assert still_to_book((cash, card), D("48.40")) == []
    # And a refund on a credit note is the same, in negative amounts
    refund = Payment(method="card", amount=D("-48.40"), paid_on=ISSUED)
    assert still_to_book((refund,), D("-48.40")) == []


# --- against the loopback sandbox -----------------------------------------------------------------------------


def test_a_receipt_delivered_twice_is_paid_once_and_reads_paid() -> None:
    # Given an administratie in the sandbox
    with SnelstartSandbox(subscription_key="sub-1") as sandbox:
        key = sandbox.add_administratie("Inkoop BV")
        settings = {"api_base": f"{sandbox.base_url}/v2", "auth_url": f"{sandbox.base_url}/b2b/token"}
        connect = build_target(_ctx(requests.Session(), settings=settings, secrets={"koppelsleutel": key}))
        settings |= connect.after_connect()  # the chart, as connecting the administratie syncs it
        target = build_target(_ctx(requests.Session(), settings=settings, secrets={"koppelsleutel": key}))

        # When the receipt is delivered, and again after a crash lost the record of it (a fresh outbox)
        first = deliver(RECEIPT.event(), DeliverDeps(target=target, target_name="snelstart", ledger=MemoryLedger()))
        again = deliver(RECEIPT.event(), DeliverDeps(target=target, target_name="snelstart", ledger=MemoryLedger()))

        # Then it is booked once and paid once, from the Bank dagboek, and SnelStart shows nothing open
        assert (first.outcome, again.outcome) == ("posted", "found_in_target"), first.reason
        [paid] = sandbox.money_bookings(key)
        assert (paid["soort"], paid["bedragUitgegeven"]) == ("Bank", D("48.40"))
        assert first.ref is not None and dict(target.purchase_status([first.ref])) == {first.ref.id: None}


RECEIPT_BOOKING = plan_booking(RECEIPT.document)
