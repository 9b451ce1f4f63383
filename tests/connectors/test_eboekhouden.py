"""e-Boekhouden target: golden mutation bodies (pure), refusals a person can act on, and the conversation with a
real EboekhoudenSandbox over HTTP (relations, exactly-once bookings, till payments, sessions, errors, open items)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
import requests

from devkit.sandboxes.eboekhouden.sandbox import EboekhoudenSandbox
from koppel import wire
from koppel.adapters.memory import MemoryConnectionStore, MemoryLedger
from koppel.booking import plan_booking
from koppel.connectors import ConnectorContext
from koppel.connectors.eboekhouden import EboekhoudenSettings, EboekhoudenTarget, after_connect, build_target
from koppel.connectors.eboekhouden.mapping import invoice_mutation, payment_mutation
from koppel.connectors.eboekhouden.vat_basis import predicted_totals
from koppel.errors import AuthError, InputError, MappingError, RetryableError
from koppel.http import session_for
from koppel.model import Address, Discount, DocumentEvent, Line, Party, PartyEvent, Payment, SalesDocument
from koppel.preview import preview
from koppel.services.deliver import DeliverDeps, deliver
from tests.connectors.bizzcloud_builders import connection, preview_move

if TYPE_CHECKING:
    from collections.abc import Iterator

D = Decimal
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LEDGER_IDS = {
    "1000": 11, "1100": 12, "1300": 13, "8000": 80, "8010": 81, "8015": 815, "8020": 82, "8030": 83,
    "8040": 84, "8050": 85, "8060": 86, "8070": 87, "8090": 89,
}  # fmt: skip
SETTINGS = EboekhoudenSettings(ledger_ids=LEDGER_IDS)
JAN = Party(
    source_id="7",
    code="D1001",
    name="Bakkerij Jansen",
    email="Info@Jansen.nl",
    is_business=True,
    billing_address=Address(street="Dorpsstraat 1", postcode="1234 AB", city="Utrecht", country_code="NL"),
)
ACME = Party(name="Acme GmbH", is_business=True, vat_number="DE123456789", billing_address=Address(country_code="DE"))


def _line(text: str, amount: str, rate: int, quantity: int = 1, kind: str = "goods", group: str = "") -> Line:
    return Line(
        kind=kind,
        description=text,
        quantity=D(quantity),
        unit_price=D(amount) / quantity,
        amount=D(amount),
        vat_rate=D(rate),
        product_group=group,
    )


def _doc(lines: list[Line], total: str, *, incl: bool = False, **fields: Any) -> SalesDocument:
    base: dict[str, Any] = {
        "source_id": "1",
        "number": "F2026-0007",
        "issue_date": date(2026, 11, 20),
        "currency": "EUR",
        "prices_include_vat": incl,
        "party": JAN,
        "lines": tuple(lines),
        "total": D(total),
    }
    return SalesDocument.model_validate(base | fields)


def _ex_invoice(**fields: Any) -> SalesDocument:
    """3 x 19.99 at 21 % (59.97 + 12.59) and 20.00 at 9 % (+ 1.80): 94.36."""
    return _doc([_line("T-shirt", "59.97", 21, 3), _line("Roman", "20.00", 9)], "94.36", **fields)


def _till_sale() -> SalesDocument:
    """Paid at the till: 24.20 (21 %) + 10.90 (9 %) incl. VAT = 35.10, in cash 15.00 and by PIN 20.10."""
    paid = date(2026, 11, 20)
    return _doc(
        [_line("T-shirt", "24.20", 21), _line("Roman", "10.90", 9)],
        "35.10",
        incl=True,
        number="Shop/0001",
        party=Party(code="KASSA", name="Kassaverkoop"),
        is_paid=True,
        payments=(
            Payment(method="cash", amount=D("15.00"), paid_on=paid, description="Cash"),
            Payment(method="card", amount=D("20.10"), paid_on=paid, description="PIN"),
        ),
    )


def _rows(*rows: tuple[int, str, str, str]) -> list[dict[str, Any]]:
    return [{"ledgerId": i, "vatCode": c, "amount": D(a), "description": t} for i, c, a, t in rows]


def _header(basis: str, rows: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    head = {"type": 2, "date": "2026-11-20", "description": "Factuur F2026-0007", "ledgerId": 13, "relationId": 7}
    return head | {"invoiceNumber": "F2026-0007", "termOfPayment": 14, "inExVat": basis, "rows": rows} | fields


# -- golden translations ----------------------------------------------------------------------------------------------
def test_an_invoice_at_21_and_9_percent_excl_vat_is_one_ex_mutation_with_a_row_per_rate() -> None:
    # Given an invoice with prices excl. VAT  When it is translated  Then the rows carry the net amounts
    body = invoice_mutation(plan_booking(_ex_invoice()), 7, SETTINGS)
    rows = _rows((80, "HOOG_VERK_21", "59.97", "3 x T-shirt"), (81, "LAAG_VERK_9", "20.00", "Roman"))
    assert body == _header("EX", rows)
    assert predicted_totals(body["rows"], "EX") == (D("94.36"), D("14.39"))


def test_a_document_with_prices_incl_vat_is_booked_on_its_gross_amounts() -> None:
    doc = _doc([_line("T-shirt", "24.20", 21), _line("Roman", "10.90", 9)], "35.10", incl=True, reference="PO-12")
    body = invoice_mutation(plan_booking(doc), 7, SETTINGS)
    rows = _rows((80, "HOOG_VERK_21", "24.20", "T-shirt"), (81, "LAAG_VERK_9", "10.90", "Roman"))
    assert body == _header("IN", rows, paymentReference="PO-12")


def test_a_credit_note_books_negative_amounts_on_the_same_ledgers() -> None:
    doc = _doc([_line("T-shirt", "-59.97", 21, -3), _line("Roman", "-20.00", 9, -1)], "-94.36", doc_type="credit_note")
    body = invoice_mutation(plan_booking(doc), 7, SETTINGS)
    rows = _rows((80, "HOOG_VERK_21", "-59.97", "3 x T-shirt"), (81, "LAAG_VERK_9", "-20.00", "Roman"))
    assert body == _header("EX", rows)
    assert predicted_totals(body["rows"], "EX") == (D("-94.36"), D("-14.39"))


@pytest.mark.parametrize(
    ("treatment", "ledger", "code"), [("intra_eu", 83, "BI_EU_VERK"), ("export", 84, "BU_EU_VERK")]
)
def test_zero_rated_foreign_sales_book_on_their_own_ledger_and_vat_code(treatment: str, ledger: int, code: str) -> None:
    doc = _doc(
        [_line("Machine", "1000.00", 0), _line("Verzending", "25.00", 0, kind="shipping")],
        "1025.00",
        party=ACME,
        vat_treatment=treatment,
    )
    body = invoice_mutation(plan_booking(doc), 7, SETTINGS)
    assert [(r["ledgerId"], r["vatCode"], r["amount"]) for r in body["rows"]] == [
        (ledger, code, D("1000.00")),
        (ledger, code, D("25.00")),
    ]


def test_shipping_and_an_order_discount_go_on_their_own_ledgers() -> None:
    # Given a shipping ledger in the mapping (by default shipping follows its rate's revenue ledger, since
    # e-Boekhouden's standard chart has none for it); 50.00 + 5.00 shipping - 10.00 discount = 45.00 net at 21 %
    doc = _doc(
        [_line("T-shirt", "50.00", 21), _line("Verzending", "5.00", 21, kind="shipping")],
        "54.45",
        discounts=(Discount(description="Zomerkorting", code="ZOMER", amount=D("10.00")),),
    )
    body = invoice_mutation(plan_booking(doc), 7, SETTINGS.model_copy(update={"shipping": "8050"}))
    assert [(r["ledgerId"], r["amount"], r["description"]) for r in body["rows"]] == [
        (80, D("50.00"), "T-shirt"),
        (85, D("5.00"), "Verzending"),
        (89, D("-10.00"), "Korting ZOMER"),
    ]
    assert predicted_totals(body["rows"], body["inExVat"])[0] == D("54.45")
    # And without that setting, shipping books on the revenue ledger of its rate
    default = invoice_mutation(plan_booking(doc), 7, SETTINGS)
    assert [r["ledgerId"] for r in default["rows"]] == [80, 80, 89]


def test_a_product_group_books_on_its_mapped_revenue_ledger() -> None:
    settings = SETTINGS.model_copy(update={"product_group_ledgers": {"Boeken": "8015"}})
    doc = _doc([_line("T-shirt", "59.97", 21, 3, group="Kleding"), _line("Roman", "20.00", 9, group="Boeken")], "94.36")
    body = invoice_mutation(plan_booking(doc), 7, settings)
    assert [r["ledgerId"] for r in body["rows"]] == [80, 815]


def test_when_per_row_vat_of_the_own_basis_is_a_cent_off_the_gross_basis_is_chosen() -> None:
    # Given two 21 % lines of 10.02 on two ledgers: the document's VAT is 21 % of 20.04 = 4.21 (24.25 in all),
    # but e-Boekhouden rounding each EX row (2.10 + 2.10) would book 24.24.
    doc = _doc([_line("T-shirt", "10.02", 21), _line("Verzending", "10.02", 21, kind="shipping")], "24.25")
    booking = plan_booking(doc)
    assert predicted_totals(_rows((80, "HOOG_VERK_21", "10.02", ""), (85, "HOOG_VERK_21", "10.02", "")), "EX")[0] == D(
        "24.24"
    )
    # When it is translated  Then IN is chosen, with the booked VAT inside each gross row
    body = invoice_mutation(booking, 7, SETTINGS)
    assert body["inExVat"] == "IN"
    assert [r["amount"] for r in body["rows"]] == [D("12.13"), D("12.12")]
    assert predicted_totals(body["rows"], "IN") == (D("24.25"), D("4.21"))


def test_a_till_payment_is_a_type_3_mutation_from_its_money_ledger_against_the_debtors() -> None:
    doc = _till_sale()
    assert payment_mutation(doc, doc.payments[0], 7, SETTINGS) == {
        "type": 3,
        "date": "2026-11-20",
        "description": "Cash Shop/0001",
        "ledgerId": 11,
        "relationId": 7,
        "invoiceNumber": "Shop/0001",
        "inExVat": "EX",
        "rows": [
            {"ledgerId": 13, "vatCode": "GEEN", "amount": D("15.00"), "description": "Cash Shop/0001",
             "invoiceNumber": "Shop/0001"}
        ],
    }  # fmt: skip
    assert payment_mutation(doc, doc.payments[1], 7, SETTINGS)["ledgerId"] == 12


# -- refusals ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("doc", "settings", "words"),
    [
        (_doc([_line("Boek", "20.00", 7)], "21.40", vat_treatment="oss"), SETTINGS, "book it by hand"),
        (_doc([_line("Boek", "20.00", 6)], "21.20"), SETTINGS, "VAT rate 6 %"),
        (_ex_invoice(currency="USD"), SETTINGS, "books euros only"),
        (_ex_invoice(number="2026-A"), SETTINGS, "ends with a digit"),
    ],
    ids=["oss", "six-percent", "usd", "number-without-digit"],
)
def test_a_document_e_boekhouden_cannot_take_is_refused_with_what_to_do(
    doc: SalesDocument, settings: EboekhoudenSettings, words: str
) -> None:
    with pytest.raises(MappingError, match=words):
        invoice_mutation(plan_booking(doc), 7, settings)


def test_a_ledger_missing_from_the_administration_is_named_with_where_to_add_it() -> None:
    settings = SETTINGS.model_copy(update={"ledger_ids": {k: v for k, v in LEDGER_IDS.items() if k != "8010"}})
    with pytest.raises(MappingError, match=r"ledger 8010 does not exist.*Grootboekrekeningen"):
        invoice_mutation(plan_booking(_ex_invoice()), 7, settings)


def test_a_payment_method_without_a_ledger_names_the_setting_to_add() -> None:
    settings = SETTINGS.model_copy(update={"payment_ledgers": {"cash": "1000"}})
    doc = _till_sale()
    with pytest.raises(MappingError, match=r"paid by card.*payment_ledgers.*\"card\""):
        payment_mutation(doc, doc.payments[1], 7, settings)


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"source": "Koppel-pp-cli"}, "source"),
        ({"payment_term_days": -1}, "payment_term_days"),
        ({"debtor": "1"}, "debtor"),
    ],
)
def test_wrong_settings_are_refused_naming_the_field(settings: dict[str, Any], field: str) -> None:
    ctx = ConnectorContext(connection=connection(), settings=settings, secrets={}, session=requests.Session())
    with pytest.raises(InputError, match=field):
        build_target(ctx)


# -- against the sandbox ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sandbox() -> Iterator[EboekhoudenSandbox]:
    server = EboekhoudenSandbox()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def eb(sandbox: EboekhoudenSandbox) -> EboekhoudenSandbox:
    sandbox.reset()
    return sandbox


@pytest.fixture
def api(eb: EboekhoudenSandbox) -> str:
    return eb.add_administration("Shop BV")


def _ctx(
    eb: EboekhoudenSandbox, api_token: str, store: MemoryConnectionStore | None = None, **settings: Any
) -> ConnectorContext:
    return ConnectorContext(
        connection=connection(),
        settings={"api_base": eb.base_url, **settings},
        secrets={"api_token": api_token},
        session=session_for(retries=0, timeout=(3, 10)),
        store=store if store is not None else MemoryConnectionStore(),
    )


def _target(eb: EboekhoudenSandbox, api_token: str, store: MemoryConnectionStore | None = None) -> EboekhoudenTarget:
    """A connected target: the chart synced by after_connect, as deliver gets it."""
    store = store if store is not None else MemoryConnectionStore()
    ids = after_connect(build_target(_ctx(eb, api_token, store)))
    return build_target(_ctx(eb, api_token, store, **ids))


def _deps(target: EboekhoudenTarget) -> DeliverDeps:
    return DeliverDeps(target=target, target_name="eboekhouden", ledger=MemoryLedger())


def _event(doc: SalesDocument, kind: str = "invoice.created") -> DocumentEvent:
    return DocumentEvent(
        event_id=f"bizzcloud:doc:{doc.number}",
        tenant_id="t-1",
        connection_id="shop-1",
        source="bizzcloud",
        occurred_at=NOW,
        kind=kind,
        payload=doc,
    )


def _post_as_someone_else(eb: EboekhoudenSandbox, api_token: str, body: dict[str, Any]) -> requests.Response:
    token = eb.open_session(api_token)
    headers = {"Authorization": token, "Content-Type": "application/json"}
    return requests.post(f"{eb.base_url}/v1/mutation", data=wire.dumps(body), headers=headers, timeout=5)


def test_after_connect_gives_every_ledger_code_with_the_administrations_id(eb: EboekhoudenSandbox, api: str) -> None:
    ids = after_connect(build_target(_ctx(eb, api)))["ledger_ids"]
    assert ids == {ledger["code"]: eb.ledger_id(api, ledger["code"]) for ledger in eb.ledgers(api)}
    assert {"1000", "1100", "1300", "8000", "8010"} <= ids.keys()


def test_a_relation_is_found_by_its_code(eb: EboekhoudenSandbox, api: str) -> None:
    eb.add_relation(api, "Jansen (elders)", code="D1000", type="B")
    wanted = eb.add_relation(api, "Bakkerij Jansen", code="D1001", type="B")
    found = _target(eb, api).find_party(JAN)
    assert found is not None and (found.id, found.number) == (str(wanted["id"]), "D1001")


def test_a_relation_is_found_by_e_mail_whatever_its_case(eb: EboekhoudenSandbox, api: str) -> None:
    wanted = eb.add_relation(api, "Bakkerij Jansen", code="R0042", type="B", emailAddress="info@jansen.NL")
    found = _target(eb, api).find_party(JAN.model_copy(update={"code": ""}))
    assert found is not None and found.id == str(wanted["id"])


def test_an_absent_customer_is_created_once_for_two_invoices(eb: EboekhoudenSandbox, api: str) -> None:
    deps = _deps(_target(eb, api))
    assert deliver(_event(_ex_invoice()), deps).outcome == "posted"
    assert deliver(_event(_ex_invoice(number="F2026-0008", source_id="2")), deps).outcome == "posted"
    relations = eb.relations(api)
    assert [(r["code"], r["name"], r["emailAddress"], r["country"]) for r in relations] == [
        ("D1001", "Bakkerij Jansen", "Info@Jansen.nl", "NL")
    ]
    assert {m["relationId"] for m in eb.mutations(api)} == {relations[0]["id"]}


def test_a_changed_customer_updates_the_relation_keeping_its_code(eb: EboekhoudenSandbox, api: str) -> None:
    deps = _deps(_target(eb, api))

    def changed(party: Party, n: int) -> PartyEvent:
        return PartyEvent(
            event_id=f"bizzcloud:res.partner:7:{n}", tenant_id="t-1", connection_id="shop-1", source="bizzcloud",
            occurred_at=NOW, kind="party.updated", payload=party,
        )  # fmt: skip

    assert deliver(changed(JAN, 1), deps).outcome == "party_created"
    moved = JAN.model_copy(update={"billing_address": Address(street="Markt 2", city="Zeist", country_code="NL")})
    assert deliver(changed(moved, 2), deps).outcome == "party_updated"
    [relation] = eb.relations(api)
    assert (relation["code"], relation["address"], relation["city"]) == ("D1001", "Markt 2", "Zeist")


@pytest.mark.parametrize("refuse_duplicates", [True, False])
def test_an_invoice_delivered_twice_is_booked_once(eb: EboekhoudenSandbox, api: str, refuse_duplicates: bool) -> None:
    # Given e-Boekhouden either refuses a known invoice number or takes it again
    eb.refuse_duplicate_invoice_numbers = refuse_duplicates
    target = _target(eb, api)
    # When the same invoice is delivered twice, the second time without Koppel's memory of the first
    first = deliver(_event(_ex_invoice()), _deps(target))
    second = deliver(_event(_ex_invoice()), _deps(target))
    # Then the second finds the first and e-Boekhouden holds one mutation, with its own totals equal to ours
    assert (first.outcome, second.outcome) == ("posted", "found_in_target")
    assert first.entry is not None and second.entry is not None
    assert first.entry.external_id == second.entry.external_id
    [mutation] = eb.mutations(api)
    assert (mutation["type"], mutation["totalAmount"], mutation["totalVat"]) == (2, D("94.36"), D("14.39"))
    assert eb.duplicates(api) == []


def test_a_refused_known_invoice_number_links_the_mutation_already_there(eb: EboekhoudenSandbox, api: str) -> None:
    # Given the invoice was booked by someone else after deliver's look-up (find_booking) and before its POST
    target = _target(eb, api)
    booking = plan_booking(_ex_invoice())
    party = target.create_party(JAN)
    body = invoice_mutation(booking, int(party.id), target.settings)
    existing = _post_as_someone_else(eb, api, body).json()["id"]
    # When Koppel posts it  Then e-Boekhouden's refusal (MUT_019) links the existing mutation
    ref = target.post_booking(booking, party, "req-1")
    assert ref.id == str(existing)
    assert len(eb.mutations(api)) == 1
    again = _post_as_someone_else(eb, api, body)
    assert again.status_code == 400 and again.json()["code"] == "MUT_019"


def test_an_invoice_booked_by_hand_between_look_up_and_post_is_linked_not_parked(
    eb: EboekhoudenSandbox, api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given e-Boekhouden refuses known invoice numbers (MUT_019, as the live API does) and the invoice is booked by
    # hand just after deliver's look-up missed it
    target = _target(eb, api)
    posted_by_hand: list[int] = []

    def look_up_then_someone_books(booking: Any) -> None:
        party = target.find_party(JAN) or target.create_party(JAN)
        body = invoice_mutation(booking, int(party.id), target.settings)
        posted_by_hand.append(_post_as_someone_else(eb, api, body).json()["id"])

    monkeypatch.setattr(target, "find_booking", look_up_then_someone_books)
    # When deliver posts it
    result = deliver(_event(_ex_invoice()), _deps(target))
    # Then the refusal links the mutation booked by hand: not parked, no second mutation
    assert result.outcome == "posted" and result.entry is not None
    assert result.entry.external_id == str(posted_by_hand[0])
    assert len(eb.mutations(api)) == 1 and eb.duplicates(api) == []


def test_a_field_e_boekhouden_refuses_parks_the_document_with_its_code_and_message(
    eb: EboekhoudenSandbox, api: str
) -> None:
    # Given the revenue ledger Koppel books on was removed from the administration after connecting
    target = _target(eb, api)
    admin = eb.administration(api)
    revenue = next(i for i, ledger in admin.ledgers.items() if ledger["code"] == "8000")
    del admin.ledgers[revenue]
    # When the invoice is delivered
    result = deliver(_event(_ex_invoice()), _deps(target))
    # Then it is parked with e-Boekhouden's own code for an unknown row ledger, and nothing is booked
    assert result.outcome == "parked"
    assert "MUT_104" in (result.reason or "")
    assert [m for m in eb.mutations(api) if m["type"] == 2] == []


def test_a_till_sale_whose_payments_were_lost_in_a_crash_is_completed_with_only_them(
    eb: EboekhoudenSandbox, api: str
) -> None:
    # Given the invoice mutation and the cash payment of a till sale were posted before a crash
    target = _target(eb, api)
    doc = _till_sale()
    relation = eb.add_relation(api, "Kassaverkoop", code="KASSA", type="P")
    _post_as_someone_else(eb, api, invoice_mutation(plan_booking(doc), relation["id"], target.settings))
    _post_as_someone_else(eb, api, payment_mutation(doc, doc.payments[0], relation["id"], target.settings))
    # When the sale is delivered again
    result = deliver(_event(doc, "order.completed"), _deps(target))
    # Then only the PIN payment is added, and nothing of it is left open
    assert result.outcome == "posted"
    assert [(m["type"], m["totalAmount"], m["ledgerId"]) for m in eb.mutations(api)] == [
        (2, D("35.10"), eb.ledger_id(api, "1300")),
        (3, D("15.00"), eb.ledger_id(api, "1000")),
        (3, D("20.10"), eb.ledger_id(api, "1100")),
    ]
    assert len(eb.relations(api)) == 1
    assert list(target.payment_status(["Shop/0001"])) == [("Shop/0001", None)]
    assert deliver(_event(doc, "order.completed"), _deps(target)).outcome == "found_in_target"


def test_the_basis_choice_makes_e_boekhoudens_own_totals_equal_the_document(eb: EboekhoudenSandbox, api: str) -> None:
    # Given the shipping ledger (not in the default chart) was added, as the refusal without it says to
    eb.add_ledger(api, "8050", "Verzendkosten")
    doc = _doc([_line("T-shirt", "10.02", 21), _line("Verzending", "10.02", 21, kind="shipping")], "24.25")
    assert deliver(_event(doc), _deps(_target(eb, api))).outcome == "posted"
    [mutation] = eb.mutations(api)
    assert (mutation["inExVat"], mutation["totalAmount"], mutation["totalVat"]) == ("IN", D("24.25"), D("4.21"))


def test_a_session_ended_by_e_boekhouden_is_renewed_once(eb: EboekhoudenSandbox, api: str) -> None:
    store = MemoryConnectionStore()
    target = _target(eb, api, store)
    assert target.find_party(JAN) is None
    first = store.get_token("shop-1", "eboekhouden")
    assert first is not None
    ended = requests.delete(f"{eb.base_url}/v1/session", headers={"Authorization": first.value}, timeout=5)
    assert ended.status_code == 200
    # When the next call meets a 401  Then a new session is opened, stored, and the call succeeds
    assert target.find_party(JAN) is None
    renewed = store.get_token("shop-1", "eboekhouden")
    assert renewed is not None and renewed.value != first.value and renewed.version == first.version + 1


def test_a_session_refused_again_after_renewal_is_an_auth_error_not_a_loop(eb: EboekhoudenSandbox, api: str) -> None:
    # Given the session was ended and every new one is over before it is used
    store = MemoryConnectionStore()
    target = _target(eb, api, store)
    token = store.get_token("shop-1", "eboekhouden")
    assert token is not None
    requests.delete(f"{eb.base_url}/v1/session", headers={"Authorization": token.value}, timeout=5)
    eb.session_ttl = 0
    seen = eb.requests_seen
    # When a call is made  Then it ends as an AuthError after one renewal, instead of opening sessions forever
    with pytest.raises(AuthError):
        target.find_party(JAN)
    assert eb.requests_seen - seen <= 5


@pytest.mark.parametrize("token", ["0123456789ABCDEF", "revoked"])
def test_an_unknown_or_revoked_api_token_says_reconnect(eb: EboekhoudenSandbox, api: str, token: str) -> None:
    if token == "revoked":
        token = api
        eb.sessions.access_tokens.pop(api)
    with pytest.raises(AuthError, match=r"reconnect e-Boekhouden\.nl"):
        build_target(_ctx(eb, token)).find_party(JAN)


@pytest.mark.parametrize(("fault", "wait"), [("throttle", 7), ("error", None)], ids=["429", "503"])
def test_a_throttle_or_an_outage_is_retryable_after_the_vendors_wait(
    eb: EboekhoudenSandbox, api: str, fault: str, wait: int | None
) -> None:
    target = _target(eb, api)
    eb.faults.retry_after = 7
    eb.faults.queue(fault, 1)
    with pytest.raises(RetryableError, match="429" if wait else "503") as raised:
        target.find_party(JAN)
    assert raised.value.retry_after == wait


def test_payment_status_goes_from_open_to_partially_paid_to_paid(eb: EboekhoudenSandbox, api: str) -> None:
    target = _target(eb, api)
    deliver(_event(_ex_invoice()), _deps(target))

    def status() -> tuple[str, Decimal] | None:
        [(number, found)] = list(target.payment_status(["F2026-0007"]))
        assert number == "F2026-0007"
        return None if found is None else (found.status, found.amount_open)

    assert status() == ("open", D("94.36"))
    eb.pay(api, "F2026-0007", "50.00", "2026-11-25")
    assert status() == ("partially_paid", D("44.36"))
    eb.pay(api, "F2026-0007", "44.36", "2026-11-30")
    assert status() is None
    assert list(target.payment_status(["F2026-9999"])) == [("F2026-9999", None)]


def test_preview_shows_the_relation_and_the_mutation_with_codes_for_ids_and_no_session() -> None:
    calls = preview("bizzcloud", "eboekhouden", preview_move())
    assert [(c["method"], c["path"]) for c in calls if c["method"] == "POST"] == [
        ("POST", "/v1/relation"),
        ("POST", "/v1/mutation"),
    ]
    assert not any(c["path"].startswith("/v1/session") for c in calls)
    relation = next(c["body"] for c in calls if c["path"] == "/v1/relation")
    assert (relation["code"], relation["name"], relation["type"]) == ("D1001", "Bakkerij Jansen", "B")
    mutation = next(c["body"] for c in calls if c["path"] == "/v1/mutation")
    assert (mutation["ledgerId"], mutation["invoiceNumber"], mutation["inExVat"]) == (1300, "INV/2026/00001", "EX")
    assert [(r["ledgerId"], r["vatCode"], r["amount"]) for r in mutation["rows"]] == [
        (8000, "HOOG_VERK_21", D("59.97")),
        (8010, "LAAG_VERK_9", D("22.46")),
    ]


def test_a_document_mixing_included_and_excluded_taxes_books_odoos_vat_to_the_cent() -> None:
    # Given an invoice with a line at 21 % excl. (1549.17 → VAT 325.33) and a price-included 21 % line of 1.01
    # (Odoo: net 0.83, VAT 0.18, where 0.83 × 21 % rounds to 0.17): neither basis alone gives Odoo's VAT 325.51
    doc = _doc([_line("Fietsen", "1549.17", 21), _line("Bel", "0.83", 21)], "1875.51", total_vat=D("325.51"))
    booking = plan_booking(doc)

    # When it is translated
    body = invoice_mutation(booking, 7, SETTINGS)

    # Then e-Boekhouden's own per-row computation gives Odoo's total and VAT exactly, with the same net on 8000
    assert predicted_totals(body["rows"], body["inExVat"]) == (D("1875.51"), D("325.51"))
    net = sum(r["amount"] for r in body["rows"]) if body["inExVat"] == "EX" else None
    assert net in (D("1550.00"), None)
    assert {r["ledgerId"] for r in body["rows"]} == {80}
