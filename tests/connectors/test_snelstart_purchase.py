"""SnelStart as a purchase target: golden inkoopboeking bodies, the supplier look-up order, attachments, payment
status and errors in SnelStart's words (the HTTP conversation replayed with ``responses``), and ``koppel preview``'s
empty administratie."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from devkit.sandboxes.snelstart.schema import INKOOPBOEKING_MODEL, schema_errors
from koppel import connectors
from koppel.adapters.memory import MemoryFileStore, MemoryLedger
from koppel.booking import plan_booking
from koppel.connectors import ConnectorContext
from koppel.connectors.contract import AttachedFile
from koppel.connectors.snelstart import CONNECTOR, build_target, to_inkoopboeking
from koppel.connectors.snelstart.settings import SnelstartSettings
from koppel.errors import MappingError
from koppel.model import ExternalRef
from koppel.preview import EmptyAccountAdapter, PlaceholderSecrets
from koppel.services.deliver import DeliverDeps, deliver
from koppel.wire import dumps as encode_json
from tests.conformance.purchases import BY_NAME, VAN_DIJK
from tests.connectors.test_snelstart import API, Clock, _ctx, _filter, _token

D = Decimal
SUPPLIER = "9d3c2a7e-51f4-4b8e-a0c2-6f1e2d3c4b5a"
BOEKING = "4f1c9e2a-7b3d-4e5f-8a9b-0c1d2e3f4a5b"


def ledger(number: int) -> dict[str, str]:
    """The placeholder id of an unsynced ledger spells its number (SnelstartSettings.ledger_id)."""
    return {"id": f"00000000-0000-0000-0000-{number:012d}"}


def body_of(case: str, **settings: object) -> dict[str, object]:
    booking = plan_booking(BY_NAME[case].document)
    return dict(to_inkoopboeking(booking, SUPPLIER, SnelstartSettings.model_validate(settings)))


GOLDEN = {
    "domestic_two_rates": {
        "factuurnummer": "F-1001",
        "factuurdatum": "2026-11-20T00:00:00",
        "leverancier": {"id": SUPPLIER},
        "omschrijving": "Groothandel Van Dijk BV factuur F-1001",
        "factuurbedrag": D("175.50"),
        "boekingsregels": [
            {"omschrijving": "Kantoorartikelen", "grootboek": ledger(7000), "bedrag": D("100.00"), "btwSoort": "Hoog"},
            {"omschrijving": "Koffie en thee", "grootboek": ledger(7010), "bedrag": D("50.00"), "btwSoort": "Laag"},
        ],
        "btw": [
            {"btwSoort": "InkopenHoog", "btwBedrag": D("21.00")},
            {"btwSoort": "InkopenLaag", "btwBedrag": D("4.50")},
        ],
    },
    "standard_and_exempt": {
        "factuurnummer": "F-1002",
        "factuurdatum": "2026-11-20T00:00:00",
        "leverancier": {"id": SUPPLIER},
        "omschrijving": "Groothandel Van Dijk BV factuur F-1002",
        "factuurbedrag": D("175.20"),
        "boekingsregels": [
            {"omschrijving": "Printerpapier", "grootboek": ledger(7000), "bedrag": D("120.00"), "btwSoort": "Hoog"},
            {"omschrijving": "Cursus boekhouden", "grootboek": ledger(7020), "bedrag": D("30.00"), "btwSoort": "Geen"},
        ],
        "btw": [{"btwSoort": "InkopenHoog", "btwBedrag": D("25.20")}],
    },
    "domestic_reverse_charge": {
        "factuurnummer": "2026-077",
        "factuurdatum": "2026-11-20T00:00:00",
        "leverancier": {"id": SUPPLIER},
        "omschrijving": "Bouwbedrijf De Steiger factuur 2026-077",
        "factuurbedrag": D("1000.00"),
        "boekingsregels": [
            {
                "omschrijving": "Metselwerk week 47",
                "grootboek": ledger(7050),
                "bedrag": D("1000.00"),
                "btwSoort": "Geen",
            }
        ],
        "btw": [{"btwSoort": "InkopenVerlegd", "btwBedrag": D("0.00")}],
    },
    "intra_eu_acquisition": {
        "factuurnummer": "F-1001",
        "factuurdatum": "2026-11-20T00:00:00",
        "leverancier": {"id": SUPPLIER},
        "omschrijving": "Bürobedarf Schmidt GmbH factuur F-1001",
        "factuurbedrag": D("200.00"),
        "boekingsregels": [{"omschrijving": "Bureaustoelen", "grootboek": ledger(7030), "bedrag": D("200.00")}],
        "btw": [],
    },
    "credit_note": {
        "factuurnummer": "C-0042",
        "factuurdatum": "2026-11-20T00:00:00",
        "leverancier": {"id": SUPPLIER},
        "omschrijving": "Groothandel Van Dijk BV factuur C-0042",
        "factuurbedrag": D("-48.40"),
        "boekingsregels": [
            {
                "omschrijving": "Retour kantoorartikelen",
                "grootboek": ledger(7000),
                "bedrag": D("-40.00"),
                "btwSoort": "Hoog",
            },
        ],
        "btw": [{"btwSoort": "InkopenHoog", "btwBedrag": D("-8.40")}],
    },
}


@pytest.mark.parametrize("case", sorted(GOLDEN))
def test_a_purchase_translates_to_the_golden_inkoopboeking_that_fits_the_spec(case: str) -> None:
    # Given a supplier's invoice, booked with the default mapping
    # When it is translated
    body = body_of(case)

    # Then it is exactly the golden body, which SnelStart's InkoopboekingModel takes
    assert body == GOLDEN[case]
    assert schema_errors(INKOOPBOEKING_MODEL, body) == []


def test_foreign_vat_is_refused_naming_the_country_or_booked_as_a_cost_where_a_ledger_is_set() -> None:
    # Given Schmidt's invoice charging German VAT (19 % on 100.00)
    # When it is translated with the default mapping, then it is refused saying what to do
    with pytest.raises(MappingError, match=r"F-1003 charges DE VAT \(19 %\).*map a ledger for foreign VAT"):
        body_of("foreign_vat")

    # And with a ledger for foreign VAT, the German VAT is a cost line on it and nothing is reclaimed
    body = body_of("foreign_vat", foreign_vat_ledger=4600)
    assert body["boekingsregels"] == [
        {"omschrijving": "Messestand Köln", "grootboek": ledger(7020), "bedrag": D("100.00"), "btwSoort": "Geen"},
        {"omschrijving": "DE btw 19 % (niet aftrekbaar)", "grootboek": ledger(4600), "bedrag": D("19.00"),
         "btwSoort": "Geen"},
    ]  # fmt: skip
    assert (body["btw"], body["factuurbedrag"]) == ([], D("119.00"))


def test_a_cost_group_books_on_its_own_ledger() -> None:
    # Given office supplies mapped to 4500 Kantoorkosten
    doc = BY_NAME["domestic_two_rates"].document
    lines = (doc.lines[0].model_copy(update={"product_group": "kantoor"}), doc.lines[1])
    booking = plan_booking(doc.model_copy(update={"lines": lines}))

    # When it is translated
    body = to_inkoopboeking(booking, SUPPLIER, SnelstartSettings(cost_group_ledgers={"kantoor": 4500}))

    # Then that line goes to 4500 and the other keeps its rate's ledger
    assert [regel["grootboek"] for regel in body["boekingsregels"]] == [ledger(4500), ledger(7010)]


# --- HTTP conversation --------------------------------------------------------------------------------------------


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def relatie(naam: str, **fields: object) -> dict[str, object]:
    return {"id": SUPPLIER, "relatiecode": 7, "naam": naam, "relatiesoort": ["Leverancier"], **fields}


def test_a_supplier_is_looked_up_by_vat_number_then_kvk_then_name(api) -> None:
    # Given an administratie that knows Van Dijk only by name
    _token(api)
    answers = {"BtwNummer": [], "KvkNummer": [], "Naam": [relatie("groothandel van dijk bv")]}
    api.add_callback(
        responses.GET, f"{API}/relaties",
        callback=lambda request: (200, {}, json.dumps(answers[_filter_of(request.url)])),
    )  # fmt: skip

    # When the supplier is looked up
    found = build_target(_ctx(requests.Session())).find_supplier(VAN_DIJK)

    # Then VAT number, KvK and name were asked in that order, and the name's match is the supplier
    asked = [_filter(call) for call in api.calls if "/relaties" in call.request.url]
    assert asked == ["BtwNummer eq 'NL001234567B01'", "KvkNummer eq '12345678'", "Naam eq 'Groothandel Van Dijk BV'"]
    assert found == ExternalRef(system="snelstart", id=SUPPLIER, number="7")


def test_a_vat_number_spelled_differently_is_the_same_supplier_and_a_stray_row_is_not(api) -> None:
    # Given SnelStart answers the VAT filter with a row of another number and Van Dijk's, written with dots and spaces
    _token(api)
    stray = relatie("Ander BV", id="0b5e7c1d-2f3a-4b6c-9d8e-7f6a5b4c3d2e", btwNummer="NL009999999B01")
    api.get(f"{API}/relaties", json=[stray, relatie("Van Dijk", btwNummer="nl 0012.34.567.B01")])

    # When the supplier is looked up
    found = build_target(_ctx(requests.Session())).find_supplier(VAN_DIJK)

    # Then Van Dijk is found with one question
    assert found is not None and found.id == SUPPLIER
    assert len([call for call in api.calls if "/relaties" in call.request.url]) == 1


def test_a_new_supplier_is_a_leverancier_with_its_iban_vat_kvk_address_email_and_term(api) -> None:
    # Given an empty administratie
    _token(api)
    api.post(f"{API}/relaties", status=201, json=relatie("Groothandel Van Dijk BV"))

    # When Van Dijk is created
    build_target(_ctx(requests.Session())).create_supplier(VAN_DIJK)

    # Then SnelStart gets a Leverancier with everything the invoice said about it, due after 30 days
    sent = json.loads(api.calls[-1].request.body)
    assert sent["relatiesoort"] == ["Leverancier"]
    assert (sent["iban"], sent["btwNummer"], sent["kvkNummer"], sent["email"], sent["krediettermijn"]) == (
        "NL91ABNA0417164300", "NL001234567B01", "12345678", "facturen@vandijk.example", 30,
    )  # fmt: skip
    address = sent["vestigingsAdres"]
    assert (address["straat"], address["postcode"], address["plaats"]) == ("Industrieweg 4", "3542 AD", "Utrecht")


def test_an_error_from_snelstart_is_parked_in_its_own_words(api) -> None:
    # Given a known supplier and an administratie whose cost ledger 7000 is non-actief
    _token(api)
    api.get(f"{API}/relaties", json=[relatie("Groothandel Van Dijk BV", btwNummer="NL001234567B01")])
    api.get(f"{API}/relaties/{SUPPLIER}/inkoopboekingen", json=[])
    refusal = [{"errorCode": "BOE-9005", "message": "boekingsregels[0].grootboek: grootboek 7000 is non-actief."}]
    api.post(f"{API}/inkoopboekingen", status=400, json=refusal)
    deps = DeliverDeps(target=build_target(_ctx(requests.Session())), target_name="snelstart", ledger=MemoryLedger())

    # When Van Dijk's invoice is delivered
    result = deliver(BY_NAME["domestic_two_rates"].event(), deps)

    # Then it is parked showing SnelStart's code and message
    assert result.outcome == "parked"
    assert "BOE-9005: boekingsregels[0].grootboek: grootboek 7000 is non-actief." in result.reason


def test_a_purchase_already_booked_for_this_supplier_is_found_by_its_number(api) -> None:
    # Given the supplier holds F-1001 and F-1002 (another supplier's F-1001 is not listed under this one)
    _token(api)
    held = [{"id": "11111111-2222-3333-4444-555555555555", "factuurnummer": "F-1002"},
            {"id": BOEKING, "factuurnummer": "F-1001"}]  # fmt: skip
    api.get(f"{API}/relaties/{SUPPLIER}/inkoopboekingen", json=held)

    # When F-1001 is looked up for this supplier
    booking = plan_booking(BY_NAME["domestic_two_rates"].document)
    found = build_target(_ctx(requests.Session())).find_purchase(booking, ExternalRef(system="snelstart", id=SUPPLIER))

    # Then it is that booking
    assert found == ExternalRef(system="snelstart", id=BOEKING, number="F-1001")


def test_a_file_the_booking_holds_is_not_uploaded_again(api) -> None:
    # Given a booking that holds F-1001.pdf already
    _token(api)
    api.get(f"{API}/documenten/Inkoopboekingen/{BOEKING}", json=[{"fileName": "F-1001.pdf", "id": SUPPLIER}])
    upload = api.post(f"{API}/documenten/Inkoopboekingen", json={"id": SUPPLIER})
    target = build_target(_ctx(requests.Session()))
    ref = ExternalRef(system="snelstart", id=BOEKING)

    # When the PDF and the UBL are attached
    target.attach(ref, AttachedFile("F-1001.pdf", "application/pdf", b"%PDF"))
    target.attach(ref, AttachedFile("F-1001.xml", "application/xml", b"<Invoice/>"))

    # Then only the UBL is uploaded, base64-encoded, for this booking
    assert upload.call_count == 1
    sent = json.loads(upload.calls[0].request.body)
    assert sent == {"content": base64.b64encode(b"<Invoice/>").decode(), "fileName": "F-1001.xml",
                    "parentIdentifier": BOEKING}  # fmt: skip


def test_what_is_still_to_be_paid_of_booked_purchases_is_read_from_the_inkoopfacturen(api) -> None:
    # Given three booked purchases: one open and overdue, one partly paid, one paid; and one deleted in SnelStart
    _token(api)
    ids = ["a0000000-0000-0000-0000-00000000000" + str(i) for i in range(4)]
    rows = [_factuur("F-1", ids[0], "121.00", "121.00", "2026-11-01"), _factuur("F-2", ids[1], "100.00", "40.00"),
            _factuur("F-3", ids[2], "50.00", "0")]  # fmt: skip
    api.add_callback(
        responses.GET, f"{API}/inkoopfacturen",
        callback=lambda request: (200, {}, encode_json(rows if "skip=0" in request.url else [])),
    )  # fmt: skip
    clock = Clock()
    clock.now = datetime(2026, 12, 1, tzinfo=UTC)

    # When their status is read
    target = build_target(_ctx(requests.Session(), clock=clock))
    status = dict(target.purchase_status([ExternalRef(system="snelstart", id=i, number=f"F-{n}") for n, i in
                                          enumerate(ids, 1)]))  # fmt: skip

    # Then the first is overdue in full, the second partly paid, the third paid (None), the fourth deleted
    assert (status[ids[0]].status, status[ids[0]].amount_open, status[ids[0]].due_date) == (
        "overdue", D("121.00"), date(2026, 11, 1),
    )  # fmt: skip
    assert (status[ids[1]].status, status[ids[1]].amount_open) == ("partially_paid", D("40.00"))
    assert status[ids[2]] is None
    assert status[ids[3]].status == "deleted"


def _factuur(number: str, boeking: str, total: str, open_: str, due: str = "2026-12-20") -> dict[str, object]:
    return {"factuurnummer": number, "factuurBedrag": D(total), "openstaandSaldo": D(open_),
            "vervalDatum": f"{due}T00:00:00", "inkoopBoeking": {"id": boeking}}  # fmt: skip


def _filter_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["$filter"][0].split(" ")[0]


# --- koppel preview -----------------------------------------------------------------------------------------------


def test_a_purchase_previews_into_an_empty_administratie() -> None:
    # Given SnelStart's empty administratie as koppel preview plays it, and Van Dijk's invoice with its PDF
    account = CONNECTOR.preview_account
    assert account is not None
    adapter = EmptyAccountAdapter(credential_paths=account.credential_paths, answer=account.answer)
    session = requests.Session()
    session.mount("https://", adapter)
    connection = _ctx(session).connection
    ctx = ConnectorContext(connection=connection, settings=account.settings(), secrets=PlaceholderSecrets(),
                           session=session, partner_secret=PlaceholderSecrets)  # fmt: skip
    files = MemoryFileStore()
    pdf = files.put("preview", "F-1001.pdf", "application/pdf", b"%PDF-1.4 F-1001")
    case = BY_NAME["domestic_two_rates"]
    event = case.event().model_copy(update={"payload": case.document.model_copy(update={"attachments": (pdf,)})})
    deps = DeliverDeps(target=connectors.build_target("snelstart", ctx), target_name="snelstart",
                       ledger=MemoryLedger(), files=files)  # fmt: skip

    # When it is delivered
    result = deliver(event, deps)

    # Then the supplier is looked up (found nowhere) and created, the purchase booked, the PDF uploaded
    assert result.outcome == "posted", result.reason
    calls = [(r["method"], r["path"].removeprefix("/v2").split("?")[0]) for r in adapter.recorded]
    assert calls == [
        ("GET", "/relaties"), ("GET", "/relaties"), ("GET", "/relaties"), ("POST", "/relaties"),
        ("GET", "/relaties/00000000-0000-0000-0001-000000000001/inkoopboekingen"), ("POST", "/inkoopboekingen"),
        ("GET", "/documenten/Inkoopboekingen/00000000-0000-0000-0001-000000000002"),
        ("POST", "/documenten/Inkoopboekingen"),
    ]  # fmt: skip
    [booked] = [r["body"] for r in adapter.recorded if r["path"].endswith("/inkoopboekingen") and r["body"]]
    assert booked["boekingsregels"] == GOLDEN["domestic_two_rates"]["boekingsregels"]


def test_a_new_supplier_takes_the_term_its_invoice_gives(api) -> None:
    # Given an empty administratie and a supplier whose invoice falls due 14 days after it was issued
    _token(api)
    api.post(f"{API}/relaties", status=201, json=relatie("Groothandel Van Dijk BV"))

    # When Van Dijk is created from that invoice
    build_target(_ctx(requests.Session())).create_supplier(VAN_DIJK.model_copy(update={"payment_term_days": 14}))

    # Then its krediettermijn is 14 days, so SnelStart's due date is the invoice's own
    assert json.loads(api.calls[-1].request.body)["krediettermijn"] == 14
