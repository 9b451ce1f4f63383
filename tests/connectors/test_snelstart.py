"""SnelStart target: golden verkoopboeking bodies, and the HTTP conversation replayed with ``responses``."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
import requests
import responses
from responses import matchers

from koppel.adapters.memory import MemoryConnectionStore
from koppel.booking import plan_booking
from koppel.connectors import ConnectorContext
from koppel.connectors.snelstart import (
    activation_url,
    after_connect,
    build_target,
    parse_activation,
    sync_ledgers,
    to_verkoopboeking,
)
from koppel.connectors.snelstart.settings import SnelstartSettings
from koppel.errors import AuthError, InputError, MappingError, PermanentError, RetryableError
from koppel.http import session_for
from koppel.model import Address, Connection, Discount, ExternalRef, Line, Party, SalesDocument
from koppel.wire import dumps as encode_json

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "snelstart"
REPO = Path(__file__).resolve().parents[2]
API = "https://b2bapi.snelstart.nl/v2"
AUTH = "https://auth.snelstart.nl/b2b/token"
KLANT = "587b43e8-c296-4267-8e43-96e7d785427f"
LEDGER_IDS = {
    "8000": "533182e2-7da0-4e61-ae41-3cdd9a6114bc",
    "8010": "d4f0aced-eb67-459f-a931-e6b6b0946ea2",
    "8030": "e2b0db73-9f0c-4a70-b8f1-5bf2d1d93cd5",
    "8050": "fea74246-d514-40b0-bacb-ffe20ddecb1f",
    "8090": "23ae5785-1ed3-497d-9338-71216da6450a",
}
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

JAN = Party(
    source_id="c-1",
    name="Jan Jansen",
    email="Jan.Jansen@Example.nl",
    phone="030 123 4567",
    billing_address=Address(street="Dorpsstraat 1", postcode="1234 AB", city="Utrecht", country_code="NL"),
)
ACME = Party(
    source_id="c-2",
    name="Acme GmbH",
    contact_name="Erika Mustermann",
    email="einkauf@acme.de",
    is_business=True,
    vat_number="DE123456789",
    coc_number="HRB 12345 B Berlin",
    iban="DE89370400440532013000",
    billing_address=Address(street="Hauptstraße 5", postcode="10115", city="Berlin", country_code="DE"),
)


def _doc(**fields) -> SalesDocument:
    base = {
        "source_id": "o-1",
        "number": "10023",
        "issue_date": date(2024, 5, 1),
        "currency": "EUR",
        "prices_include_vat": True,
        "party": JAN,
    }
    return SalesDocument.model_validate({**base, **fields})


def _line(description: str, amount: str, rate: int | None = 21, quantity: int = 1, kind: str = "goods") -> Line:
    return Line(
        kind=kind,
        description=description,
        quantity=Decimal(quantity),
        unit_price=Decimal(amount) / quantity,
        amount=Decimal(amount),
        vat_rate=None if rate is None else Decimal(rate),
    )


def order_21_with_shipping() -> SalesDocument:
    lines = (
        _line("Koffiemok", "24.20", quantity=2),
        _line("Theepot", "36.30"),
        _line("Verzending", "6.95", rate=None, kind="shipping"),
    )
    return _doc(number="10023", lines=lines, total=Decimal("67.45"))


def order_mixed_with_discount_and_fee() -> SalesDocument:
    lines = (
        _line("Koptelefoon", "121.00"),
        _line("Kookboek", "43.60", rate=9, quantity=2),
        _line("Transactiekosten iDEAL", "0.50", rate=None, kind="payment_fee"),
    )
    coupon = Discount(description="Welkomstkorting", code="WELKOM10", amount=Decimal("10.00"))
    return _doc(number="10024", lines=lines, discounts=(coupon,), total=Decimal("155.10"))


def credit_note() -> SalesDocument:
    lines = (
        _line("Koffiemok", "-24.20", quantity=2),
        _line("Verzending", "-6.95", rate=None, kind="shipping"),
    )
    return _doc(number="CR-10023", doc_type="credit_note", lines=lines, total=Decimal("-31.15"))


def intra_eu_order() -> SalesDocument:
    lines = (
        _line("Espressomachine", "750.00", rate=0, quantity=3),
        _line("Verzending", "25.00", rate=None, kind="shipping"),
    )
    return _doc(
        number="10025",
        party=ACME,
        vat_treatment="intra_eu",
        prices_include_vat=False,
        lines=lines,
        total=Decimal("775.00"),
    )


CASES = {
    "order_21_with_shipping": order_21_with_shipping,
    "order_mixed_with_discount_and_fee": order_mixed_with_discount_and_fee,
    "credit_note": credit_note,
    "intra_eu_order": intra_eu_order,
}


def _settings(**overrides) -> SnelstartSettings:
    return SnelstartSettings.model_validate({"ledger_ids": LEDGER_IDS, **overrides})


def _load(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"), parse_float=Decimal)


def _strict(schema):
    """OpenAPI 3.0 → JSON Schema, strictly: no key the spec does not name, and an optional object reference may
    be null (SnelStart's own request examples send ``kostenplaats``/``…IncassoMachtiging`` as null)."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: _strict(value) for key, value in schema.items()}
    properties = result.get("properties")
    if isinstance(properties, dict):
        result["additionalProperties"] = False
        required = set(result.get("required", []))
        for key, sub in properties.items():
            if sub.get("type") == "object" and key not in required:
                properties[key] = {"anyOf": [sub, {"type": "null"}]}
    return result


@pytest.fixture(scope="module")
def verkoopboeking_schema():
    return jsonschema.Draft7Validator(_strict(_load("verkoopboeking.schema.json")))


# --- golden translations ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
def test_booking_translates_to_the_golden_verkoopboeking(case):
    # Given a source document planned into a balanced booking
    booking = plan_booking(CASES[case]())

    # When it is translated for SnelStart and serialized as it goes on the wire
    body = to_verkoopboeking(booking, KLANT, _settings())
    sent = json.loads(encode_json(body), parse_float=Decimal)

    # Then the body is exactly the reviewed golden file
    assert sent == _load(f"{case}.json")


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_verkoopboeking_fits_the_spec_schema(case, verkoopboeking_schema):
    # Given a golden body
    body = _load(f"{case}.json")

    # When it is checked against SnelStart's VerkoopBoekingModel
    errors = [e.message for e in verkoopboeking_schema.iter_errors(body)]

    # Then SnelStart knows every field and value in it
    assert errors == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_verkoopboeking_balances_to_the_cent(case):
    # Given a golden body
    body = _load(f"{case}.json")

    # When its lines and VAT are added up
    booked = sum(r["bedrag"] for r in body["boekingsregels"]) + sum(b["btwBedrag"] for b in body["btw"])

    # Then they equal the invoice amount SnelStart shows the bookkeeper
    assert booked == body["factuurbedrag"]


def test_verkoopboeking_has_the_shape_of_snelstarts_own_example(verkoopboeking_schema):
    # Given SnelStart's own "zonder btw" request example
    example = _load("verkoopboeking.create.request.oss-zonder-btw.json")

    # When Koppel translates an order
    body = to_verkoopboeking(plan_booking(order_21_with_shipping()), KLANT, _settings())

    # Then it sends the same fields, on the booking and on each line, and the example passes the same schema check
    assert set(body) == set(example)
    assert {frozenset(r) for r in body["boekingsregels"]} == {frozenset(r) for r in example["boekingsregels"]}
    assert list(verkoopboeking_schema.iter_errors(example)) == []


def test_schema_check_refuses_a_field_snelstart_does_not_know(verkoopboeking_schema):
    # Given a golden body with a misspelt line field
    body = copy.deepcopy(_load("order_21_with_shipping.json"))
    body["boekingsregels"][0]["btwsoort"] = body["boekingsregels"][0].pop("btwSoort")

    # When it is checked
    errors = list(verkoopboeking_schema.iter_errors(body))

    # Then the check catches it (the schema test above is not vacuous)
    assert errors


def test_amounts_go_on_the_wire_as_json_numbers_with_two_decimals():
    # Given a translated order
    body = to_verkoopboeking(plan_booking(order_21_with_shipping()), KLANT, _settings())

    # When it is serialized
    text = encode_json(body)

    # Then amounts are number literals, never strings or float noise
    assert '"factuurbedrag":67.45' in text
    assert '"bedrag":20.00' in text
    assert '"btw":[{"btwSoort":"VerkopenHoog","btwBedrag":11.71}]' in text


def test_discounts_can_be_booked_on_the_revenue_ledger_of_their_rate():
    # Given a mapping that keeps discounts off the Kortingen ledger
    settings = _settings(discounts_on_own_ledger=False)

    # When an order with a discount code is translated
    body = to_verkoopboeking(plan_booking(order_mixed_with_discount_and_fee()), KLANT, settings)

    # Then each discount share lands on the revenue ledger of its rate
    discounts = [r for r in body["boekingsregels"] if r["omschrijving"] == "Korting WELKOM10"]
    assert [(r["grootboek"]["id"], r["btwSoort"]) for r in discounts] == [
        (LEDGER_IDS["8000"], "Hoog"),
        (LEDGER_IDS["8010"], "Laag"),
    ]


def test_a_product_group_can_have_its_own_revenue_ledger():
    # Given books mapped to ledger 8015 (not synced yet)
    doc = order_mixed_with_discount_and_fee()
    books = doc.lines[1].model_copy(update={"product_group": "boeken"})
    doc = doc.model_copy(update={"lines": (doc.lines[0], books, doc.lines[2])})

    # When it is translated
    body = to_verkoopboeking(plan_booking(doc), KLANT, _settings(product_group_ledgers={"boeken": 8015}))

    # Then the books line points at 8015's placeholder id
    line = next(r for r in body["boekingsregels"] if r["omschrijving"] == "2 x Kookboek")
    assert line["grootboek"]["id"] == "00000000-0000-0000-0000-000000008015"


def test_a_rate_snelstart_cannot_book_is_a_mapping_error_that_says_what_to_configure():
    # Given an order at 33 % VAT
    doc = _doc(lines=(_line("Sigaren", "13.30", rate=33),), total=Decimal("13.30"))

    # When it is translated
    with pytest.raises(MappingError) as raised:
        to_verkoopboeking(plan_booking(doc), KLANT, _settings())

    # Then the message names the rate and the setting to use
    assert "33 %" in str(raised.value)
    assert "extra_vat_rates" in str(raised.value)


def test_an_extra_rate_books_as_the_btw_soort_it_is_configured_as():
    # Given an order from 2018 at the old low rate of 6 %, and the mapping for it
    doc = _doc(issue_date=date(2018, 12, 1), lines=(_line("Kookboek", "10.60", rate=6),), total=Decimal("10.60"))

    # When it is translated
    body = to_verkoopboeking(plan_booking(doc), KLANT, _settings(extra_vat_rates={"6": "Laag"}))

    # Then it is booked as Laag, with its VAT on VerkopenLaag
    assert body["boekingsregels"][0]["btwSoort"] == "Laag"
    assert body["btw"] == [{"btwSoort": "VerkopenLaag", "btwBedrag": Decimal("0.60")}]


def test_an_intra_eu_document_with_vat_is_refused():
    # Given an intra-EU order that carries 21 % VAT
    doc = intra_eu_order().model_copy(update={"lines": (_line("Espressomachine", "750.00", rate=21),)})
    doc = doc.model_copy(update={"total": Decimal("907.50")})

    # When it is translated
    with pytest.raises(MappingError) as raised:
        to_verkoopboeking(plan_booking(doc), KLANT, _settings())

    # Then the bookkeeper is told why
    assert "intra-EU" in str(raised.value)


def test_a_long_invoice_number_keeps_its_distinguishing_end(api):
    # Given a prefix and a source number that together are longer than SnelStart's 25 characters
    _token(api)
    lookup = api.get(f"{API}/verkoopfacturen", json=[])
    doc = order_21_with_shipping().model_copy(update={"number": "AMSTERDAM-WEBWINKEL-2024-000123"})
    settings = {"ledger_ids": LEDGER_IDS, "invoice_number_prefix": "CCV-"}

    # When it is translated, and looked up before posting
    body = to_verkoopboeking(plan_booking(doc), KLANT, _settings(invoice_number_prefix="CCV-"))
    build_target(_ctx(session_for(), settings=settings)).find_booking(plan_booking(doc))

    # Then the last 25 characters are kept, the running number included, and the lookup uses the same number
    assert body["factuurnummer"] == "DAM-WEBWINKEL-2024-000123"
    assert _filter(lookup.calls[0]) == "factuurnummer eq 'DAM-WEBWINKEL-2024-000123'"


def test_wrong_settings_are_refused_when_the_target_is_built():
    # Given settings with a typo
    ctx = _ctx(requests.Session(), settings={"revenue_hight": 8001})

    # When the target is built
    with pytest.raises(InputError) as raised:
        build_target(ctx)

    # Then the message names the field
    assert "revenue_hight" in str(raised.value)


# --- HTTP conversation --------------------------------------------------------------------------------------------


def TokenShelf() -> MemoryConnectionStore:
    """The real in-memory store: versioned, single-flight token writes like the DynamoDB one."""
    return MemoryConnectionStore()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def _ctx(session, *, settings=None, store=None, secrets=None, partner=None, clock=None) -> ConnectorContext:
    connection = Connection(
        connection_id="shop-1", tenant_id="t-1", source="ccvshop", targets=("snelstart",), created_at=NOW
    )
    return ConnectorContext(
        connection=connection,
        settings={"ledger_ids": LEDGER_IDS} if settings is None else settings,
        secrets={"koppelsleutel": "ks-1"} if secrets is None else secrets,
        session=session,
        store=store,
        partner_secret=lambda: {"subscription_key": "sub-1"} if partner is None else partner,
        clock=clock or Clock(),
    )


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _token(api, value="tok-1", expires_in=3599):
    return api.post(
        AUTH,
        json={"access_token": value, "token_type": "bearer", "expires_in": expires_in},
        match=[matchers.urlencoded_params_matcher({"grant_type": "clientkey", "clientkey": "ks-1"})],
    )


def _filter(call) -> str:
    return parse_qs(urlsplit(call.request.url).query)["$filter"][0]


def test_find_party_matches_the_email_case_insensitively_and_create_is_skipped(api):
    # Given SnelStart has the customer as a supplier and as a customer, e-mail in other capitals
    _token(api)
    rows = [
        {"id": "11111111-0000-0000-0000-000000000001", "relatiecode": 7, "email": "jan.jansen@example.nl",
         "relatiesoort": ["Leverancier"]},
        {"id": "11111111-0000-0000-0000-000000000002", "relatiecode": 12, "email": "JAN.JANSEN@EXAMPLE.NL",
         "relatiesoort": ["Klant"]},
    ]  # fmt: skip
    lookup = api.get(f"{API}/relaties", json=rows)
    create = api.post(f"{API}/relaties", status=201, json={})
    target = build_target(_ctx(session_for()))

    # When the deliver step ensures the customer
    ref = target.find_party(JAN) or target.create_party(JAN)

    # Then the Klant is linked, nothing is created, and the lookup asked by e-mail with both keys
    assert ref == ExternalRef(system="snelstart", id="11111111-0000-0000-0000-000000000002", number="12")
    assert create.call_count == 0
    assert _filter(lookup.calls[0]) == "Email eq 'Jan.Jansen@Example.nl'"
    assert lookup.calls[0].request.headers["Authorization"] == "Bearer tok-1"
    assert lookup.calls[0].request.headers["Ocp-Apim-Subscription-Key"] == "sub-1"


def test_find_party_escapes_quotes_and_ignores_rows_the_filter_let_through(api):
    # Given an e-mail with an apostrophe, and an answer that does not match it
    _token(api)
    lookup = api.get(f"{API}/relaties", json=[{"id": "x", "email": "someone@else.nl", "relatiesoort": ["Klant"]}])
    target = build_target(_ctx(session_for()))

    # When the party is looked up
    found = target.find_party(JAN.model_copy(update={"email": "o'brien@example.ie"}))

    # Then the OData literal doubles the quote, and an unrelated row is not a hit
    assert _filter(lookup.calls[0]) == "Email eq 'o''brien@example.ie'"
    assert found is None


def test_a_party_without_email_is_never_looked_up(api):
    # Given a party without e-mail
    target = build_target(_ctx(session_for()))

    # When it is looked up
    found = target.find_party(JAN.model_copy(update={"email": None}))

    # Then nothing is asked and nothing is found
    assert found is None
    assert len(api.calls) == 0


COUNTRY_IDS = {"DE": "22222222-0000-0000-0000-0000000000de", "NL": "22222222-0000-0000-0000-0000000000a1"}


def test_create_party_posts_a_klant_with_its_address_and_country(api):
    # Given the administratie's countries, synced when it was connected
    _token(api)
    expected = {
        "relatiesoort": ["Klant"],
        "naam": "Acme GmbH",
        "vestigingsAdres": {
            "contactpersoon": "Erika Mustermann",
            "straat": "Hauptstraße 5",
            "postcode": "10115",
            "plaats": "Berlin",
            "land": {"id": "22222222-0000-0000-0000-0000000000de"},
        },
        "correspondentieAdres": {
            "contactpersoon": "Erika Mustermann",
            "straat": "Hauptstraße 5",
            "postcode": "10115",
            "plaats": "Berlin",
            "land": {"id": "22222222-0000-0000-0000-0000000000de"},
        },
        "email": "einkauf@acme.de",
        "btwNummer": "DE123456789",
        "kvkNummer": "HRB 12345 B",
        "iban": "DE89370400440532013000",
        "krediettermijn": 14,
    }
    create = api.post(
        f"{API}/relaties",
        status=201,
        json={"id": "33333333-0000-0000-0000-000000000001", "relatiecode": 1042, **expected},
        match=[matchers.json_params_matcher(expected)],
    )
    target = build_target(_ctx(session_for(), settings={"ledger_ids": LEDGER_IDS, "country_ids": COUNTRY_IDS}))

    # When a customer is created
    ref = target.create_party(ACME)

    # Then the body is SnelStart's RelatieModel with the synced land id, and /landen is not read while delivering
    assert ref == ExternalRef(system="snelstart", id="33333333-0000-0000-0000-000000000001", number="1042")
    assert create.call_count == 1


def test_connecting_syncs_the_chart_and_the_countries_for_deliver(api):
    # Given an administratie with its chart and countries
    _token(api)
    api.get(f"{API}/grootboeken", json=[{"id": "11111111-0000-0000-0000-000000008000", "nummer": 8000}])
    api.get(f"{API}/grootboeken", json=[])
    landen = [{"id": COUNTRY_IDS["DE"], "naam": "Duitsland", "landcodeISO": "DE", "landcode": "D"}]
    api.get(f"{API}/landen", json=landen)
    api.get(f"{API}/landen", json=[])
    # When Koppel finishes connecting
    synced = after_connect(build_target(_ctx(session_for(), settings={})))
    # Then deliver gets ledger ids and land ids as settings
    assert synced == {
        "ledger_ids": {"8000": "11111111-0000-0000-0000-000000008000"},
        "country_ids": {"DE": COUNTRY_IDS["DE"]},
    }


def test_find_booking_hit_means_the_booking_is_not_posted_again(api):
    # Given SnelStart already has the factuur (a crash after the POST)
    _token(api)
    found = api.get(
        f"{API}/verkoopfacturen",
        json=[{"id": "44444444-0000-0000-0000-000000000001", "factuurnummer": "10023",
               "verkoopBoeking": {"id": "53e9e4b7-b614-4ee5-8fc3-45127533db2b", "uri": "/verkoopboekingen/53e9"}}],
    )  # fmt: skip
    post = api.post(f"{API}/verkoopboekingen", status=201, json={})
    target = build_target(_ctx(session_for()))
    booking = plan_booking(order_21_with_shipping())

    # When the outbox resolves the PENDING row
    ref = target.find_booking(booking) or target.post_booking(booking, ExternalRef(system="snelstart", id=KLANT), "r1")

    # Then the existing booking is linked and nothing is posted
    assert ref == ExternalRef(system="snelstart", id="53e9e4b7-b614-4ee5-8fc3-45127533db2b", number="10023")
    assert _filter(found.calls[0]) == "factuurnummer eq '10023'"
    assert post.call_count == 0


def test_a_duplicate_invoice_refusal_links_the_existing_booking(api):
    # Given SnelStart refuses the number as known (BOE-0021), e.g. booked by hand after our look-up
    _token(api)
    api.post(
        f"{API}/verkoopboekingen",
        status=400,
        json=[{"errorCode": "BOE-0021", "message": "Het factuurnummer bestaat al", "details": None}],
    )
    api.get(
        f"{API}/verkoopfacturen",
        json=[{"id": "44444444-0000-0000-0000-000000000001", "factuurnummer": "10023",
               "verkoopBoeking": {"id": "53e9e4b7-b614-4ee5-8fc3-45127533db2b", "uri": "/verkoopboekingen/53e9"}}],
    )  # fmt: skip
    target = build_target(_ctx(session_for()))

    # When the booking is posted
    ref = target.post_booking(plan_booking(order_21_with_shipping()), ExternalRef(system="snelstart", id=KLANT), "r1")

    # Then the existing booking is linked instead of the record being parked
    assert ref.id == "53e9e4b7-b614-4ee5-8fc3-45127533db2b"


def test_post_booking_sends_the_golden_body_and_returns_the_new_id(api):
    # Given no factuur with this number yet
    _token(api)
    api.get(f"{API}/verkoopfacturen", json=[])
    post = api.post(f"{API}/verkoopboekingen", status=201, json={"id": "53e9e4b7-b614-4ee5-8fc3-45127533db2b"})
    target = build_target(_ctx(session_for()))
    booking = plan_booking(order_mixed_with_discount_and_fee())

    # When it is delivered
    ref = target.find_booking(booking) or target.post_booking(booking, ExternalRef(system="snelstart", id=KLANT), "r1")

    # Then SnelStart received the golden body and Koppel links the new booking
    assert json.loads(post.calls[0].request.body, parse_float=Decimal) == _load(
        "order_mixed_with_discount_and_fee.json"
    )
    assert ref == ExternalRef(system="snelstart", id="53e9e4b7-b614-4ee5-8fc3-45127533db2b", number="10024")


def test_the_token_is_fetched_once_reused_and_renewed_after_a_401(api):
    # Given a token endpoint that hands out tok-1 then tok-2, and an API that stops taking tok-1 at its third use
    first, second = _token(api, "tok-1"), _token(api, "tok-2")
    bearers: list[str] = []

    def relaties(request):
        bearers.append(request.headers["Authorization"])
        if bearers[-1] == "Bearer tok-1" and bearers.count(bearers[-1]) == 3:
            return 401, {}, json.dumps({"statusCode": 401, "message": "Access denied due to invalid token."})
        return 200, {}, "[]"

    api.add_callback(responses.GET, f"{API}/relaties", callback=relaties)
    target = build_target(_ctx(session_for()))

    # When three lookups are made
    for _ in range(3):
        target.find_party(JAN)

    # Then tok-1 was fetched once and reused, and the 401 cost one new token and one retry with it
    assert bearers == ["Bearer tok-1"] * 3 + ["Bearer tok-2"]
    assert (first.call_count, second.call_count) == (1, 1)


def test_the_token_is_renewed_a_minute_before_it_expires_and_shared_through_the_store(api):
    # Given a token store and a clock
    shelf, clock = TokenShelf(), Clock()
    first = _token(api, "tok-1", expires_in=3600)
    api.get(f"{API}/relaties", json=[])
    build_target(_ctx(session_for(), store=shelf, clock=clock)).find_party(JAN)

    # When a second worker calls 61 s before the token expires, and a third 59 s before
    clock.now = NOW + timedelta(seconds=3600 - 61)
    build_target(_ctx(session_for(), store=shelf, clock=clock)).find_party(JAN)
    api.remove(first)
    second = _token(api, "tok-2")
    clock.now = NOW + timedelta(seconds=3600 - 59)
    build_target(_ctx(session_for(), store=shelf, clock=clock)).find_party(JAN)

    # Then the stored token served the second worker, and the third renewed it and stored the new one
    assert first.call_count == 1
    assert second.call_count == 1
    assert shelf.get_token("shop-1", "snelstart").value == "tok-2"
    assert shelf.get_token("shop-1", "snelstart").version == 2


def test_a_revoked_koppelsleutel_asks_for_a_reconnect(api):
    # Given the koppelsleutel was regenerated in SnelStart
    api.post(AUTH, status=400, json={"error": "invalid_grant"})
    target = build_target(_ctx(session_for()))

    # When Koppel calls SnelStart
    with pytest.raises(AuthError) as raised:
        target.find_party(JAN)

    # Then the connection is told to reconnect
    assert "revoked or regenerated" in str(raised.value)
    assert "reconnect SnelStart" in str(raised.value)


def test_a_missing_subscription_key_is_named(api):
    # Given Koppel's partner secret lacks the subscription key
    _token(api)
    target = build_target(_ctx(session_for(), partner={}))

    # When Koppel calls SnelStart
    with pytest.raises(InputError) as raised:
        target.find_party(JAN)

    # Then the message names what to add
    assert "subscription_key" in str(raised.value)


def test_429_with_retry_after_is_retryable_after_that_long(api):
    # Given SnelStart's gateway throttles the POST
    _token(api)
    api.post(
        f"{API}/verkoopboekingen",
        status=429,
        headers={"Retry-After": "30"},
        json={"statusCode": 429, "message": "Rate limit is exceeded. Try again in 30 seconds."},
    )
    target = build_target(_ctx(session_for()))

    # When a booking is posted
    with pytest.raises(RetryableError) as raised:
        target.post_booking(plan_booking(order_21_with_shipping()), ExternalRef(system="snelstart", id=KLANT), "r1")

    # Then the queue is told to wait 30 s
    assert raised.value.retry_after == 30
    assert "Rate limit is exceeded" in str(raised.value)


def test_400_carries_snelstarts_own_message(api):
    # Given SnelStart refuses the booking with its error list
    _token(api)
    api.post(
        f"{API}/verkoopboekingen",
        status=400,
        json=[
            {"errorCode": "ALG-0103", "message": "Ongeldig ID"},
            {"errorCode": "ALG-0105", "message": "Het item is nonactief"},
        ],
    )
    target = build_target(_ctx(session_for()))

    # When a booking is posted
    with pytest.raises(PermanentError) as raised:
        target.post_booking(plan_booking(order_21_with_shipping()), ExternalRef(system="snelstart", id=KLANT), "r1")

    # Then the parked record shows SnelStart's words
    assert raised.value.vendor_message == "ALG-0103: Ongeldig ID; ALG-0105: Het item is nonactief"
    assert raised.value.status == 400


def test_sync_ledgers_pages_through_the_chart(api):
    # Given a chart of two pages
    _token(api)
    page_1 = [{"id": LEDGER_IDS["8000"], "nummer": 8000}, {"id": LEDGER_IDS["8010"], "nummer": 8010}]
    api.get(f"{API}/grootboeken", json=page_1, match=[matchers.query_param_matcher({"$top": "500", "$skip": "0"})])
    api.get(f"{API}/grootboeken", json=[], match=[matchers.query_param_matcher({"$top": "500", "$skip": "2"})])
    target = build_target(_ctx(session_for()))

    # When the connect step syncs the ledgers
    ledgers = sync_ledgers(target)

    # Then every ledger number maps to its id
    assert ledgers == {"8000": LEDGER_IDS["8000"], "8010": LEDGER_IDS["8010"]}


# --- activation ---------------------------------------------------------------------------------------------------


def test_the_koppelsleutel_webhook_becomes_an_activation():
    # Given SnelStart's webhook after the user activated the koppeling
    body = b'{"koppelSleutel": "ks-new", "actionType": "Regenerate", "referenceKey": "shop-1"}'

    # When it is parsed
    activation = parse_activation(body)

    # Then Koppel knows to replace the key of connection shop-1
    assert (activation.action, activation.credential, activation.reference) == ("regenerate", "ks-new", "shop-1")


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"koppelSleutel": "k", "actionType": "Update", "referenceKey": "r"}', b'{"actionType": "Create"}'],
)
def test_a_malformed_activation_is_refused(body):
    # Given a body that is not a koppelsleutel webhook
    # When it is parsed / Then it is refused as bad input
    with pytest.raises(InputError):
        parse_activation(body)


def test_the_activation_link_carries_our_reference_and_return_url():
    # Given Koppel's app name, return page and connection reference
    # When the link is built
    url = activation_url("https://app.koppel.nl/connected?c=shop-1", "shop-1", {"app_short_name": "koppel"}, {})

    # Then it is SnelStart's activation page with both values encoded
    assert url == (
        "https://web.snelstart.nl/couplings/activate/koppel"
        "?successUrl=https%3A%2F%2Fapp.koppel.nl%2Fconnected%3Fc%3Dshop-1&referenceKey=shop-1"
    )


# --- fixtures stay true to the vendor's files -----------------------------------------------------------------------


def test_the_stored_schema_is_the_specs_model():
    # Given the schema kept in tests/fixtures/snelstart and the vendor's spec (copied verbatim into devkit/specs)
    spec = REPO / "devkit/specs/snelstart/snelstart-b2b-api-v2.openapi.yaml"

    # When they are compared with the originals
    import yaml

    spec_text = spec.read_text(encoding="utf-8")
    schemas = yaml.load(spec_text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["components"]["schemas"]
    name = "SnelStart.B2B.Api.V2.Models.VerkoopBoekingen.VerkoopBoekingModel"
    stored = {k: v for k, v in _load("verkoopboeking.schema.json").items() if k != "$comment"}

    # Then the schema is the spec's model with its references filled in
    assert stored == _inline(schemas[name], schemas)


def _inline(node, schemas):
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(schemas[node["$ref"].rsplit("/", 1)[-1]], schemas)
        return {key: _inline(value, schemas) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, schemas) for item in node]
    return node
