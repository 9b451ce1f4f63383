"""e-Boekhouden.nl books suppliers' invoices: golden "invoice received" mutations, suppliers found by VAT number,
then KvK, then name, exactly once under the supplier's invoice number whichever uniqueness rule e-Boekhouden applies,
the vendor's refusals parked in its words, a receipt paid at the counter booked paid (once), and the preview of an
empty administration."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
import requests

from devkit.sandboxes.eboekhouden.sandbox import EboekhoudenSandbox
from koppel import connectors
from koppel.adapters.memory import MemoryConnectionStore, MemoryLedger
from koppel.booking import plan_booking
from koppel.connectors import ConnectorContext
from koppel.connectors.contract import PurchaseStatusReader, PurchaseTarget
from koppel.connectors.eboekhouden import EboekhoudenBooks, EboekhoudenSettings, after_connect, build_target
from koppel.connectors.eboekhouden.purchase_mapping import payment_sent_mutation, payments_due, purchase_mutation
from koppel.errors import MappingError
from koppel.model import Line, Payment
from koppel.preview import EmptyAccountAdapter, PlaceholderSecrets
from koppel.services.deliver import DeliverDeps, deliver
from tests.conformance.purchases import BY_NAME, DE_STEIGER, RECEIPT, SCHMIDT, VAN_DIJK, purchase
from tests.connectors.bizzcloud_builders import connection
from tests.connectors.test_eboekhouden import _ctx

if TYPE_CHECKING:
    from collections.abc import Iterator

    from koppel.model import DocumentEvent, Party, SalesDocument
    from koppel.services.deliver import DeliveryResult

D = Decimal
SETTINGS = EboekhoudenSettings(ledger_ids={"1000": 10, "1100": 11, "1110": 12, "1600": 16, "4000": 40, "7000": 70,
                                           "4998": 49})  # fmt: skip


def _rows(*rows: tuple[int, str, str, str]) -> list[dict[str, Any]]:
    return [{"ledgerId": i, "vatCode": c, "amount": D(a), "description": t} for i, c, a, t in rows]


# -- golden translations ----------------------------------------------------------------------------------------------
def test_a_suppliers_invoice_at_21_and_9_percent_is_one_invoice_received_with_purchase_codes() -> None:
    # Given Van Dijk's F-1001: 100.00 at 21 % and 50.00 at 9 %, due in 30 days
    booking = plan_booking(BY_NAME["domestic_two_rates"].document)

    # When it is translated for supplier relation 7
    body = purchase_mutation(booking, 7, "F-1001", SETTINGS)

    # Then it is exactly this request: type 1 on the creditors ledger, the net amounts on the costs ledger
    assert body == {
        "type": 1,
        "date": "2026-11-20",
        "description": "Groothandel Van Dijk BV F-1001",
        "ledgerId": 16,
        "relationId": 7,
        "invoiceNumber": "F-1001",
        "termOfPayment": 30,
        "inExVat": "EX",
        "rows": _rows((40, "HOOG_INK_21", "100.00", "Kantoorartikelen"), (40, "LAAG_INK_9", "50.00", "Koffie en thee")),
    }


@pytest.mark.parametrize(
    ("case", "codes"),
    [
        ("standard_and_exempt", ["HOOG_INK_21", "GEEN"]),
        ("domestic_reverse_charge", ["VERL_INK"]),
        ("intra_eu_acquisition", ["BI_EU_INK"]),
        ("credit_note", ["HOOG_INK_21"]),
    ],
)
def test_each_vat_category_takes_e_boekhoudens_own_purchase_code(case: str, codes: list[str]) -> None:
    # Given a supplier's invoice of that kind  When it is translated
    doc = BY_NAME[case].document
    body = purchase_mutation(plan_booking(doc), 7, doc.number, SETTINGS)

    # Then each line carries the code e-Boekhouden books (or self-assesses) that VAT with, amounts as on the invoice
    assert [r["vatCode"] for r in body["rows"]] == codes
    assert [r["amount"] for r in body["rows"]] == [line.amount for line in doc.lines]


def test_an_import_from_outside_the_eu_and_a_cost_group_book_on_their_own_code_and_ledger() -> None:
    # Given a US supplier's invoice for goods for resale (cost group "inkoop", mapped to 7000), category G
    goods = Line(description="Handelsgoederen", unit_price=D(200), amount=D(200), vat_rate=D(0), product_group="inkoop")
    doc = purchase("INV-77", [goods], "200.00", party=SCHMIDT, vat_treatment="export")
    settings = SETTINGS.model_copy(update={"purchase_group_ledgers": {"inkoop": "7000"}})

    # When it is translated  Then the line is an import (BU_EU_INK) on 7000
    [row] = purchase_mutation(plan_booking(doc), 7, "INV-77/7", settings)["rows"]
    assert (row["ledgerId"], row["vatCode"], row["amount"]) == (70, "BU_EU_INK", D("200.00"))


def test_foreign_vat_is_refused_by_default_and_booked_as_a_cost_once_a_ledger_is_mapped() -> None:
    # Given Schmidt's F-1003 charging German VAT: 19.00 on 100.00
    booking = plan_booking(BY_NAME["foreign_vat"].document)

    # When it is translated with the default mapping  Then it is refused, naming the country, the rate and the setting
    with pytest.raises(MappingError, match=r"F-1003 charges DE VAT \(19 %\).*foreign_vat_ledger"):
        purchase_mutation(booking, 7, "F-1003", SETTINGS)

    # And with a ledger for foreign VAT the German VAT is a cost there, with no Dutch VAT to deduct
    body = purchase_mutation(booking, 7, "F-1003", SETTINGS.model_copy(update={"foreign_vat_ledger": "4998"}))
    assert [(r["ledgerId"], r["vatCode"], r["amount"]) for r in body["rows"]] == [
        (40, "GEEN", D("100.00")),
        (49, "GEEN", D("19.00")),
    ]


def test_a_rate_e_boekhouden_has_no_purchase_code_for_is_refused_saying_what_to_do() -> None:
    # Given a Dutch supplier's invoice at 6 % (an old rate)
    doc = BY_NAME["domestic_two_rates"].document
    old = doc.model_copy(update={"lines": (doc.lines[0].model_copy(update={"vat_rate": D(6)}),), "total": D("106.00"),
                                 "total_vat": D("6.00")})  # fmt: skip

    # When it is translated  Then the refusal names the rate and the setting
    with pytest.raises(MappingError, match=r"6 % VAT.*purchase_vat_codes"):
        purchase_mutation(plan_booking(old), 7, "F-1001", SETTINGS)


def test_a_receipt_paid_by_card_is_paid_from_the_bank_with_an_invoice_payment_sent() -> None:
    # Given Van Dijk's till receipt BON-7731 (48.40), paid by card ("PIN") when it was handed over
    doc = RECEIPT.document
    [pin] = doc.payments

    # When its payment is translated for supplier relation 7
    body = payment_sent_mutation(doc, pin, pin.amount, 7, "BON-7731", SETTINGS)

    # Then it is exactly this request: type 4 from bank 1100, one row paying BON-7731 off the creditors ledger
    assert body == {
        "type": 4,
        "date": "2026-11-20",
        "description": "PIN BON-7731",
        "ledgerId": 11,
        "relationId": 7,
        "invoiceNumber": "BON-7731",
        "inExVat": "EX",
        "rows": [
            {"ledgerId": 16, "vatCode": "GEEN", "amount": D("48.40"), "description": "PIN BON-7731",
             "invoiceNumber": "BON-7731"},
        ],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("method", "purchase_payment_ledgers", "money_ledger"),
    [("cash", {}, 10), ("card", {"card": "1110"}, 12), ("other", {}, 11)],
)
def test_a_supplier_is_paid_from_the_ledger_of_the_method(
    method: str, purchase_payment_ledgers: dict[str, str], money_ledger: int
) -> None:
    # Given a receipt paid in cash, by card with its own bank account mapped for suppliers, or otherwise
    doc = RECEIPT.document
    payment = doc.payments[0].model_copy(update={"method": method})
    settings = SETTINGS.model_copy(update={"purchase_payment_ledgers": purchase_payment_ledgers})

    # When it is translated  Then the money leaves that ledger (cash 1000 Kas; the rest as the till's, 1100)
    assert payment_sent_mutation(doc, payment, payment.amount, 7, doc.number, settings)["ledgerId"] == money_ledger


def test_a_method_without_a_ledger_is_refused_naming_the_setting() -> None:
    # Given a mapping that names no ledger for card payments
    settings = SETTINGS.model_copy(update={"payment_ledgers": {"cash": "1000"}})
    [pin] = RECEIPT.document.payments

    # When the receipt's payment is translated  Then it is refused, saying which setting to complete
    with pytest.raises(MappingError, match=r"BON-7731 was paid by card.*purchase_payment_ledgers"):
        payment_sent_mutation(RECEIPT.document, pin, pin.amount, 7, "BON-7731", settings)


def test_only_what_is_not_in_the_books_yet_is_paid_and_never_more_than_is_open() -> None:
    # Given a receipt of 50.00 paid 30.00 by card and 20.00 in cash
    card = Payment(method="card", amount=D("30.00"), paid_on=RECEIPT.document.issue_date)
    cash = card.model_copy(update={"method": "cash", "amount": D("20.00")})

    # Then with nothing paid both are due; with the card payment booked only the cash; when paid in full nothing
    assert payments_due([card, cash], D(0), D("50.00")) == [(card, D("30.00")), (cash, D("20.00"))]
    assert payments_due([card, cash], D("30.00"), D("20.00")) == [(cash, D("20.00"))]
    assert payments_due([card, cash], D("50.00"), D(0)) == []
    # And a payment made by hand in between leaves only what is still open to pay
    assert payments_due([card, cash], D("40.00"), D("10.00")) == [(cash, D("10.00"))]
    # And a refund received (negative) is paid back the same way
    refund = [card.model_copy(update={"amount": D("-30.00")})]
    assert payments_due(refund, D(0), D("-30.00")) == [(refund[0], D("-30.00"))]


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
    return eb.add_administration("Klant van het kantoor BV")


def _target(eb: EboekhoudenSandbox, api_token: str, **settings: Any) -> EboekhoudenBooks:
    """A connected target (the chart synced), with this mapping."""
    store = MemoryConnectionStore()
    ids = after_connect(build_target(_ctx(eb, api_token, store, **settings)))
    return build_target(_ctx(eb, api_token, store, **settings, **ids))


def _deliver(target: EboekhoudenBooks, doc: SalesDocument) -> DeliveryResult:
    event = BY_NAME["domestic_two_rates"].event().model_copy(update={"event_id": f"t:{doc.number}", "payload": doc})
    return deliver(event, DeliverDeps(target=target, target_name="eboekhouden", ledger=MemoryLedger()))


def test_the_built_target_books_purchases() -> None:
    # Given e-Boekhouden's descriptor  Then it claims purchases, and what it builds takes them
    descriptor = connectors.load("eboekhouden")
    assert descriptor.can("purchase_booking") and descriptor.can("purchase_status_reader")
    assert not descriptor.can("attachments")
    assert issubclass(EboekhoudenBooks, PurchaseTarget) and issubclass(EboekhoudenBooks, PurchaseStatusReader)


def test_a_supplier_is_found_by_vat_number_then_kvk_number_then_name(eb: EboekhoudenSandbox, api: str) -> None:
    # Given three relations: one with Van Dijk's name, one with its KvK number, one with its VAT number (spelled
    # with dots)
    by_name = eb.add_relation(api, "groothandel van  dijk bv")["id"]
    by_coc = eb.add_relation(api, "VD Utrecht", companyRegistrationNumber="12345678")["id"]
    by_vat = eb.add_relation(api, "Van Dijk", vatNumber="NL 0012.34.567.B01")["id"]

    def found(party: Party) -> int | None:
        ref = _target(eb, api).find_supplier(party)
        return None if ref is None else int(ref.id)

    # When Van Dijk is looked up with all its keys, then without its VAT number, then by name alone
    # Then the VAT number wins, then the KvK number, then the name (whitespace and case aside)
    assert found(VAN_DIJK) == by_vat
    assert found(VAN_DIJK.model_copy(update={"vat_number": ""})) == by_coc
    assert found(VAN_DIJK.model_copy(update={"vat_number": "", "coc_number": ""})) == by_name
    assert found(DE_STEIGER) is None


def test_a_new_supplier_is_created_with_its_vat_kvk_iban_address_and_e_mail(eb: EboekhoudenSandbox, api: str) -> None:
    # When Van Dijk's invoice is delivered to an administration without it
    assert _deliver(_target(eb, api), BY_NAME["domestic_two_rates"].document).outcome == "posted"

    # Then the relation holds what the invoice says of the supplier
    [relation] = eb.relations(api)
    held = {k: relation[k] for k in ("type", "name", "vatNumber", "companyRegistrationNumber", "iban", "emailAddress")}
    assert held == {
        "type": "B",
        "name": "Groothandel Van Dijk BV",
        "vatNumber": "NL001234567B01",
        "companyRegistrationNumber": "12345678",
        "iban": "NL91ABNA0417164300",
        "emailAddress": "facturen@vandijk.example",
    }
    assert (relation["address"], relation["postalCode"], relation["city"]) == ("Industrieweg 4", "3542 AD", "Utrecht")


@pytest.mark.parametrize(("per_supplier", "schmidts_number"), [(False, "F-1001/{id}"), (True, "F-1001")])
def test_one_number_from_two_suppliers_is_booked_twice_and_found_again_under_either_rule(
    eb: EboekhoudenSandbox, api: str, per_supplier: bool, schmidts_number: str
) -> None:
    # Given e-Boekhouden holding invoice numbers unique per administration, or per supplier
    eb.purchase_numbers_unique_per_relation = per_supplier
    van_dijk, schmidt = BY_NAME["domestic_two_rates"].document, BY_NAME["intra_eu_acquisition"].document

    # When both suppliers' F-1001 are delivered, and then delivered again by a worker that lost its ledger
    first = [_deliver(_target(eb, api), doc) for doc in (van_dijk, schmidt)]
    again = [_deliver(_target(eb, api), doc) for doc in (van_dijk, schmidt)]

    # Then each is booked once; Schmidt's under its own number where e-Boekhouden allows, else keyed to Schmidt
    assert [r.outcome for r in first] == ["posted", "posted"], [r.reason for r in first]
    assert [r.outcome for r in again] == ["found_in_target", "found_in_target"]
    relation = {r["name"]: r["id"] for r in eb.relations(api)}[SCHMIDT.name]
    numbers = sorted(m["invoiceNumber"] for m in eb.mutations(api))
    assert numbers == sorted(["F-1001", schmidts_number.format(id=relation)])


def test_a_supplier_number_without_a_final_digit_is_booked_keyed_to_the_supplier(
    eb: EboekhoudenSandbox, api: str
) -> None:
    # Given a supplier whose invoice numbers end with a letter, which e-Boekhouden does not take as they are
    doc = BY_NAME["domestic_two_rates"].document.model_copy(update={"number": "2026-0042-A"})

    # When it is delivered twice  Then it is booked once, as <number>/<relation id>
    assert _deliver(_target(eb, api), doc).outcome == "posted"
    assert _deliver(_target(eb, api), doc).outcome == "found_in_target"
    [relation] = eb.relations(api)
    assert [m["invoiceNumber"] for m in eb.mutations(api)] == [f"2026-0042-A/{relation['id']}"]


def test_a_refusal_by_e_boekhouden_is_parked_in_its_own_words(eb: EboekhoudenSandbox, api: str) -> None:
    # Given a mapping that books purchases on the bank ledger 1100, which e-Boekhouden does not take as a cost row
    target = _target(eb, api, purchase_ledger="1100")

    # When a supplier's invoice is delivered
    result = _deliver(target, BY_NAME["domestic_two_rates"].document)

    # Then it is parked with e-Boekhouden's code and message, and nothing is booked
    assert result.outcome == "parked"
    assert "MUT_106: Ledger 1100 (FIN) cannot be a row ledger here" in result.reason
    assert eb.mutations(api) == []


def test_what_is_still_to_be_paid_of_booked_purchases_is_read_by_mutation_id(eb: EboekhoudenSandbox, api: str) -> None:
    # Given two purchases booked through Koppel: Van Dijk's F-1001 (175.50) and De Steiger's 2026-077 (1,000.00)
    target = _target(eb, api)
    refs = [_deliver(target, BY_NAME[name].document).ref for name in ("domestic_two_rates", "domestic_reverse_charge")]
    assert all(refs)
    van_dijk, de_steiger = [ref for ref in refs if ref is not None]

    def status() -> dict[str, tuple[str, Decimal] | None]:
        read = dict(_target(eb, api).purchase_status([van_dijk, de_steiger]))
        return {ident: None if s is None else (s.status, s.amount_open) for ident, s in read.items()}

    # Then both are open in full
    assert status() == {van_dijk.id: ("open", D("175.50")), de_steiger.id: ("open", D("1000.00"))}

    # When Van Dijk is paid in part and De Steiger in full  Then that is what is read back
    eb.pay_supplier(api, "F-1001", "100.00", "2026-11-25")
    eb.pay_supplier(api, "2026-077", "1000.00", "2026-11-25")
    assert status() == {van_dijk.id: ("partially_paid", D("75.50")), de_steiger.id: None}

    # And a purchase deleted in e-Boekhouden is reported deleted, with nothing open
    eb.delete_mutation(api, int(van_dijk.id))
    assert status()[van_dijk.id] == ("deleted", D("0"))


def _payments(eb: EboekhoudenSandbox, api: str) -> list[tuple[str, Decimal]]:
    """What the payments sent pay: the invoice number each row names, and its amount."""
    return [(r["invoiceNumber"], r["amount"]) for m in eb.mutations(api) if m["type"] == 4 for r in m["rows"]]


def test_a_receipt_paid_at_the_counter_is_booked_paid_once(eb: EboekhoudenSandbox, api: str) -> None:
    # Given Van Dijk's till receipt, paid by card when it was handed over
    doc = RECEIPT.document

    # When it is delivered, and delivered again by a worker that lost its ledger (a crash after the vendor committed)
    first = _deliver(_target(eb, api), doc)
    again = _deliver(_target(eb, api), doc)

    # Then the invoice received and its payment are booked once, and nothing is left to pay the supplier
    assert (first.outcome, again.outcome) == ("posted", "found_in_target"), (first.reason, again.reason)
    assert first.ref is not None and again.ref == first.ref
    assert [m["type"] for m in eb.mutations(api)] == [1, 4]
    assert _payments(eb, api) == [("BON-7731", D("48.40"))]
    assert dict(_target(eb, api).purchase_status([first.ref])) == {first.ref.id: None}


@pytest.mark.parametrize(("paid_by_hand", "koppel_pays"), [(None, "48.40"), ("20.00", "28.40"), ("48.40", None)])
def test_a_receipt_booked_without_its_payment_is_paid_what_is_still_open(
    eb: EboekhoudenSandbox, api: str, paid_by_hand: str | None, koppel_pays: str | None
) -> None:
    # Given the receipt booked, but its payment not (a crash in between), and perhaps paid in part or whole by hand
    target = _target(eb, api)
    unpaid = RECEIPT.document.model_copy(update={"payments": ()})
    assert _deliver(target, unpaid).outcome == "posted"
    if paid_by_hand:
        eb.pay_supplier(api, "BON-7731", paid_by_hand, "2026-11-21")
    by_hand = [("BON-7731", D(paid_by_hand))] if paid_by_hand else []

    # When the receipt with its payment is delivered again, twice
    results = [_deliver(_target(eb, api), RECEIPT.document) for _ in range(2)]

    # Then the same invoice received is linked, only what was still open is paid, once, and no second invoice exists
    assert {r.ref for r in results} == {results[0].ref}
    assert results[1].outcome == "found_in_target"
    assert [m["type"] for m in eb.mutations(api)].count(1) == 1
    assert _payments(eb, api) == by_hand + ([("BON-7731", D(koppel_pays))] if koppel_pays else [])
    ref = results[0].ref
    assert ref is not None and dict(_target(eb, api).purchase_status([ref])) == {ref.id: None}


# -- koppel preview ---------------------------------------------------------------------------------------------------
def test_a_purchase_previews_against_an_empty_administration() -> None:
    # Given the empty administration `koppel preview` plays, with the default mapping
    account = connectors.load("eboekhouden").preview_account
    assert account is not None
    adapter = EmptyAccountAdapter(credential_paths=account.credential_paths, answer=account.answer)
    session = requests.Session()
    session.mount("https://", adapter)
    ctx = ConnectorContext(connection=connection(), settings=account.settings(), secrets=PlaceholderSecrets(),
                           session=session)  # fmt: skip
    event: DocumentEvent = BY_NAME["domestic_two_rates"].event()

    # When Van Dijk's invoice is delivered through it
    result = deliver(event, DeliverDeps(target=build_target(ctx), target_name="eboekhouden", ledger=MemoryLedger()))

    # Then the supplier is looked for and created, the purchase looked for under both numbers it may hold, and
    # posted, with codes for ledger ids
    assert result.outcome == "posted", result.reason
    calls = [(c["method"], c["path"]) for c in adapter.recorded]
    assert calls == [
        ("GET", "/v1/relation?limit=500&offset=0"),
        ("POST", "/v1/relation"),
        ("GET", "/v1/mutation?invoiceNumber=F-1001&type=1&limit=100"),
        ("GET", "/v1/mutation?invoiceNumber=F-1001/1&type=1&limit=100"),
        ("POST", "/v1/mutation"),
    ]
    mutation = adapter.recorded[-1]["body"]
    assert (mutation["type"], mutation["ledgerId"], mutation["invoiceNumber"]) == (1, 1600, "F-1001")
    assert [(r["ledgerId"], r["vatCode"]) for r in mutation["rows"]] == [(4000, "HOOG_INK_21"), (4000, "LAAG_INK_9")]
