"""The SnelStart sandbox, driven over real HTTP on 127.0.0.1 the way a connector would drive SnelStart."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from devkit.sandboxes.snelstart.chart import STANDARD_CHART, land_id
from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox
from devkit.sandboxes.snelstart.schema import dumps  # Decimal amounts as JSON numbers, as the connector sends them

if TYPE_CHECKING:
    from collections.abc import Iterator

SUBSCRIPTION_KEY = "partner-subscription-key"
SAMPLE = "verkoopboeking.create.request.oss-zonder-btw.json"
SAMPLE_DIRS = (Path(__file__).resolve().parents[1] / "fixtures" / "snelstart",)  # the vendor's own samples


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def server() -> Iterator[SnelstartSandbox]:
    """One server for the module (stopping one takes half a second); every test gets it reset."""
    sandbox = SnelstartSandbox(subscription_key=SUBSCRIPTION_KEY)
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(server: SnelstartSandbox, clock: Clock) -> SnelstartSandbox:
    server.reset()
    server.clock = clock
    return server


def api(sandbox: SnelstartSandbox, koppelsleutel: str) -> requests.Session:
    """A session as a connector holds it: a token from the auth endpoint plus the partner's subscription key."""
    token = requests.post(
        f"{sandbox.base_url}/b2b/token", data={"grant_type": "clientkey", "clientkey": koppelsleutel}, timeout=5
    ).json()["access_token"]
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}", "Ocp-Apim-Subscription-Key": SUBSCRIPTION_KEY})
    return session


def decimal_json(response: requests.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def vendor_sample() -> dict[str, Any]:
    for folder in SAMPLE_DIRS:
        if (folder / SAMPLE).is_file():
            sample: dict[str, Any] = json.loads((folder / SAMPLE).read_text(encoding="utf-8"), parse_float=Decimal)
            return sample
    raise FileNotFoundError(f"{SAMPLE} not found in {SAMPLE_DIRS}")


def balanced_booking(
    sandbox: SnelstartSandbox, key: str, klant_id: str, factuurnummer: str = "CCV-10023"
) -> dict[str, Any]:
    return {
        "factuurnummer": factuurnummer,
        "factuurdatum": "2024-05-01T00:00:00",
        "klant": {"id": klant_id},
        "omschrijving": "Webshop order 10023",
        "factuurbedrag": Decimal("81.46"),
        "betalingstermijn": 14,
        "boekingsregels": [
            {
                "omschrijving": "Artikel X",
                "grootboek": {"id": sandbox.grootboek_id(key, 8000)},
                "bedrag": Decimal("67.32"),
                "btwSoort": "Hoog",
            },
        ],
        "btw": [{"btwSoort": "VerkopenHoog", "btwBedrag": Decimal("14.14")}],
    }


def post_booking(
    session: requests.Session, sandbox: SnelstartSandbox, body: dict[str, Any], **kwargs: Any
) -> requests.Response:
    return session.post(
        f"{sandbox.base_url}/v2/verkoopboekingen",
        data=dumps(body),
        headers={"Content-Type": "application/json"},
        timeout=kwargs.pop("timeout", 5),
        **kwargs,
    )


# -- auth ---------------------------------------------------------------------------------------------------------
def test_token_flow_gives_a_bearer_token_that_opens_the_api_until_it_expires(
    sandbox: SnelstartSandbox, clock: Clock
) -> None:
    # Given an administratie and its koppelsleutel
    key = sandbox.add_administratie("Bakkerij De Korst")

    # When the connector swaps the key for a token
    answer = requests.post(
        f"{sandbox.base_url}/b2b/token", data={"grant_type": "clientkey", "clientkey": key}, timeout=5
    )

    # Then it gets an OAuth token answer that opens the API
    assert answer.status_code == 200
    assert answer.json()["token_type"] == "bearer"
    assert answer.json()["expires_in"] == 3599
    headers = {
        "Authorization": f"Bearer {answer.json()['access_token']}",
        "Ocp-Apim-Subscription-Key": SUBSCRIPTION_KEY,
    }
    assert requests.get(f"{sandbox.base_url}/v2/landen", headers=headers, timeout=5).status_code == 200

    # And once its lifetime has passed the same token is refused
    clock.now += 3600
    expired = requests.get(f"{sandbox.base_url}/v2/landen", headers=headers, timeout=5)
    assert expired.status_code == 401
    assert expired.json()["statusCode"] == 401


def test_token_endpoint_refuses_unknown_keys_and_other_grant_types(sandbox: SnelstartSandbox) -> None:
    # Given a sandbox with one administratie
    key = sandbox.add_administratie("Bakkerij De Korst")
    url = f"{sandbox.base_url}/b2b/token"

    # When the key is wrong, or the grant type is not clientkey
    unknown = requests.post(url, data={"grant_type": "clientkey", "clientkey": "not-a-key"}, timeout=5)
    wrong_grant = requests.post(url, data={"grant_type": "client_credentials", "clientkey": key}, timeout=5)

    # Then both are 400 in OAuth's error shape
    assert (unknown.status_code, unknown.json()) == (400, {"error": "invalid_grant"})
    assert (wrong_grant.status_code, wrong_grant.json()) == (400, {"error": "unsupported_grant_type"})


def test_api_refuses_calls_without_the_partner_subscription_key(sandbox: SnelstartSandbox) -> None:
    # Given a valid token
    key = sandbox.add_administratie("Bakkerij De Korst")
    token = sandbox.issue_token(key)
    url = f"{sandbox.base_url}/v2/relaties"

    # When the subscription key is missing, wrong, or sent as the query parameter
    missing = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    wrong = requests.get(url, headers={"Authorization": f"Bearer {token}", "Ocp-Apim-Subscription-Key": "x"}, timeout=5)
    in_query = requests.get(
        url, params={"subscription-key": SUBSCRIPTION_KEY}, headers={"Authorization": f"Bearer {token}"}, timeout=5
    )

    # Then Azure API Management's 401 says which is wrong, and the query form is accepted
    assert missing.status_code == 401
    assert missing.json()["message"].startswith("Access denied due to missing subscription key")
    assert wrong.status_code == 401
    assert "invalid subscription key" in wrong.json()["message"]
    assert in_query.status_code == 200


# -- relaties, landen, grootboeken --------------------------------------------------------------------------------
def test_relation_is_created_and_found_by_email_whatever_its_case(sandbox: SnelstartSandbox) -> None:
    # Given a connected administratie
    key = sandbox.add_administratie("Bakkerij De Korst")
    session = api(sandbox, key)

    # When a customer is created with a Belgian address
    created = session.post(
        f"{sandbox.base_url}/v2/relaties",
        timeout=5,
        json={
            "relatiesoort": ["Klant"],
            "naam": "Jan Jansen",
            "email": "Jan.Jansen@Example.NL",
            "vestigingsAdres": {
                "straat": "Grote Markt 1",
                "postcode": "1000",
                "plaats": "Brussel",
                "land": {"id": land_id("BE")},
            },
        },
    )

    # Then it is stored with an id, a uri, the first relatiecode and the country reference
    assert created.status_code == 201
    relatie = created.json()
    assert relatie["uri"] == f"/relaties/{relatie['id']}"
    assert relatie["relatiecode"] == 1
    assert relatie["vestigingsAdres"]["land"] == {"id": land_id("BE"), "uri": f"/landen/{land_id('BE')}"}

    # And a look-up by e-mail in another case finds it, as SQL Server's collation does
    for expression in (
        "Email eq 'jan.jansen@example.nl'",
        "email eq 'JAN.JANSEN@EXAMPLE.NL' and Relatiecode eq 1",
        "contains(Naam,'jansen')",
    ):
        found = session.get(f"{sandbox.base_url}/v2/relaties", params={"$filter": expression}, timeout=5)
        assert [r["id"] for r in found.json()] == [relatie["id"]], expression
    assert (
        session.get(
            f"{sandbox.base_url}/v2/relaties", params={"$filter": "Email eq 'other@example.nl'"}, timeout=5
        ).json()
        == []
    )


def test_relation_create_and_filters_that_snelstart_refuses(sandbox: SnelstartSandbox) -> None:
    # Given a connected administratie
    key = sandbox.add_administratie("Bakkerij De Korst")
    session = api(sandbox, key)

    # When a relation breaks the model, or a filter names an unknown property
    too_long = session.post(
        f"{sandbox.base_url}/v2/relaties",
        timeout=5,
        json={"relatiesoort": ["Klant"], "naam": "N" * 51, "kvkNummer": "1" * 13},
    )
    bad_filter = session.get(f"{sandbox.base_url}/v2/relaties", params={"$filter": "Nonsense eq 'x'"}, timeout=5)

    # Then both are 400 and say what is wrong
    assert too_long.status_code == 400
    messages = " ".join(error["message"] for error in too_long.json())
    assert "naam" in messages
    assert "kvkNummer" in messages
    assert bad_filter.status_code == 400
    assert "Could not find a property named 'Nonsense'" in bad_filter.json()["Message"]


def test_odata_v3_filters_work_and_v4_only_forms_can_be_refused(sandbox: SnelstartSandbox) -> None:
    # Given a customer and a sandbox that parses filters as an OData v3 server would
    key = sandbox.add_administratie("Bakkerij De Korst")
    sandbox.add_relatie(key, "Jan Jansen", email="jan@example.nl")
    session = api(sandbox, key)
    url = f"{sandbox.base_url}/v2/relaties"
    sandbox.odata_v3_only = True

    # When the connector filters in v3 style and in v4-only style
    v3 = [
        session.get(url, params={"$filter": expression}, timeout=5)
        for expression in ("substringof('jansen', Naam) eq true", "ModifiedOn gt datetime'2023-01-01T00:00:00'")
    ]
    v4 = [
        session.get(url, params={"$filter": expression}, timeout=5)
        for expression in ("contains(Naam,'jansen')", "ModifiedOn gt 2023-01-01T00:00:00Z")
    ]

    # Then the v3 forms find the customer and the v4-only forms are refused as a v3 server would
    assert [len(answer.json()) for answer in v3] == [1, 1]
    assert [answer.status_code for answer in v4] == [400, 400]


def test_landen_and_standard_chart_are_seeded(sandbox: SnelstartSandbox) -> None:
    # Given a new administratie
    key = sandbox.add_administratie("Bakkerij De Korst")
    session = api(sandbox, key)

    # When the connector reads countries and revenue ledgers
    landen = session.get(f"{sandbox.base_url}/v2/landen", timeout=5).json()
    omzet = session.get(
        f"{sandbox.base_url}/v2/grootboeken", timeout=5, params={"$filter": "nummer ge 8000 and nummer le 8090"}
    ).json()

    # Then the EU and main partners are there, and the 8000-range has a ledger per VAT treatment
    assert {"NL", "BE", "DE", "FR", "GB", "US", "AT", "PL"} <= {land["landcodeISO"] for land in landen}
    assert set(landen[0]) == {"id", "uri", "naam", "landcode", "landcodeISO"}
    by_number = {g["nummer"]: g for g in omzet}
    assert {8000, 8010, 8020, 8030, 8040, 8050, 8060, 8070, 8090} <= set(by_number)
    assert by_number[8000]["grootboekfunctie"] == "VerkopenOmzetHoog"
    assert by_number[8000]["btwSoort"] == ["Hoog"]
    assert by_number[8000]["rekeningCode"] == "WinstEnVerlies"
    assert sandbox.grootboek_id(key, 1300) != sandbox.grootboek_id(sandbox.add_administratie("Ander BV"), 1300)
    assert len(STANDARD_CHART) == len(session.get(f"{sandbox.base_url}/v2/grootboeken", timeout=5).json())


def test_paging_with_top_and_skip_and_the_500_cap(sandbox: SnelstartSandbox) -> None:
    # Given an administratie with the standard chart
    key = sandbox.add_administratie("Bakkerij De Korst")
    session = api(sandbox, key)
    url = f"{sandbox.base_url}/v2/grootboeken"

    # When pages are read
    first = session.get(url, params={"$top": 5}, timeout=5).json()
    second = session.get(url, params={"$top": 5, "$skip": 5}, timeout=5).json()
    too_many = session.get(url, params={"$top": 501}, timeout=5)

    # Then the pages follow each other, and $top above 500 is refused
    assert len(first) == len(second) == 5
    assert first[-1]["nummer"] < second[0]["nummer"]
    assert too_many.status_code == 400


# -- verkoopboekingen and verkoopfacturen ------------------------------------------------------------------------
def test_vendor_example_booking_is_accepted_once_its_references_exist(sandbox: SnelstartSandbox) -> None:
    # Given SnelStart's own OSS example, with its klant and grootboeken seeded under the example's ids
    body = vendor_sample()
    key = sandbox.add_administratie("Bakkerij De Korst")
    sandbox.add_relatie(key, "Client Français", id=body["klant"]["id"])
    omzet_oss, btw_oss = body["boekingsregels"]
    sandbox.add_grootboek(
        key,
        8077,
        "Omzet OSS Frankrijk",
        id=omzet_oss["grootboek"]["id"],
        btw_soort=("Geen",),
        grootboekfunctie="InstallatieTeleverkoopBinnenEUgeen",
    )
    sandbox.add_grootboek(
        key, 1585, "Af te dragen btw Frankrijk (OSS)", id=btw_oss["grootboek"]["id"], btw_soort=("Geen",)
    )
    session = api(sandbox, key)

    # When it is posted
    answer = post_booking(session, sandbox, body)

    # Then it is booked with an id and uri, amounts exact
    assert answer.status_code == 201, answer.text
    booked = decimal_json(answer)
    assert booked["uri"] == f"/verkoopboekingen/{booked['id']}"
    assert booked["factuurbedrag"] == Decimal("5505.80")
    assert [r["bedrag"] for r in booked["boekingsregels"]] == [Decimal("4588.17"), Decimal("917.63")]
    assert session.get(f"{sandbox.base_url}/v2{booked['uri']}", timeout=5).json()["factuurnummer"] == "100008"
    assert [b["id"] for b in sandbox.bookings(key)] == [booked["id"]]


def test_unbalanced_booking_is_refused_naming_the_difference(sandbox: SnelstartSandbox) -> None:
    # Given a booking whose total is one cent more than its lines plus VAT
    key = sandbox.add_administratie("Bakkerij De Korst")
    klant = sandbox.add_relatie(key, "Jan Jansen", email="jan@example.nl")
    body = balanced_booking(sandbox, key, klant["id"]) | {"factuurbedrag": Decimal("81.47")}

    # When it is posted
    answer = post_booking(api(sandbox, key), sandbox, body)

    # Then SnelStart's error list explains it and nothing is booked
    assert answer.status_code == 400
    [error] = answer.json()
    assert set(error) == {"errorCode", "message", "details"}
    assert "verschil 0.01" in error["message"]
    assert sandbox.bookings(key) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"factuurnummer": "F" * 26}, "factuurnummer"),
        ({"klant": None}, "klant"),
        ({"btw": [{"btwSoort": "VerkopenSuperHoog", "btwBedrag": Decimal("14.14")}]}, "btwSoort"),
    ],
)
def test_booking_that_breaks_the_spec_model_is_refused(
    sandbox: SnelstartSandbox, change: dict[str, Any], field: str
) -> None:
    # Given an otherwise valid booking with one field breaking VerkoopBoekingModel
    key = sandbox.add_administratie("Bakkerij De Korst")
    klant = sandbox.add_relatie(key, "Jan Jansen")
    body = balanced_booking(sandbox, key, klant["id"]) | change

    # When it is posted
    answer = post_booking(api(sandbox, key), sandbox, body)

    # Then it is a 400 that names the field
    assert answer.status_code == 400
    assert any(field in error["message"] for error in answer.json())


def test_booking_on_unknown_customer_or_ledger_is_refused(sandbox: SnelstartSandbox) -> None:
    # Given a booking for a customer of another administratie
    key, other = sandbox.add_administratie("Bakkerij De Korst"), sandbox.add_administratie("Ander BV")
    stranger = sandbox.add_relatie(other, "Klant van een ander")
    body = balanced_booking(sandbox, key, stranger["id"])
    body["boekingsregels"][0]["grootboek"] = {"id": sandbox.grootboek_id(other, 8000)}

    # When it is posted to the first administratie
    answer = post_booking(api(sandbox, key), sandbox, body)

    # Then both references are reported as unknown here
    assert answer.status_code == 400
    messages = " ".join(error["message"] for error in answer.json())
    assert "klant" in messages
    assert "grootboek" in messages


def test_booking_creates_an_invoice_found_by_number_and_paid_down(sandbox: SnelstartSandbox) -> None:
    # Given a booked sale
    key = sandbox.add_administratie("Bakkerij De Korst")
    klant = sandbox.add_relatie(key, "Jan Jansen")
    session = api(sandbox, key)
    booked = post_booking(session, sandbox, balanced_booking(sandbox, key, klant["id"], "CCV-10023")).json()

    # When the invoice is looked up by its number
    url = f"{sandbox.base_url}/v2/verkoopfacturen"
    [factuur] = decimal_json(session.get(url, params={"$filter": "factuurnummer eq 'CCV-10023'"}, timeout=5))

    # Then it is open for the full amount and points at the customer and the booking
    assert factuur["factuurBedrag"] == factuur["openstaandSaldo"] == Decimal("81.46")
    assert factuur["relatie"]["id"] == klant["id"]
    assert factuur["verkoopBoeking"] == {"id": booked["id"], "uri": booked["uri"]}
    assert factuur["vervalDatum"].startswith("2024-05-15")
    assert "81.46" in session.get(url, timeout=5).text  # a number in its own digits, no float noise

    # And a payment lowers the open balance
    sandbox.pay("CCV-10023", Decimal("81.46"))
    [paid] = decimal_json(session.get(url, params={"$filter": "factuurnummer eq 'CCV-10023'"}, timeout=5))
    assert paid["openstaandSaldo"] == Decimal("0.00")


def test_invoices_changed_since_a_moment_are_found_with_modified_on(sandbox: SnelstartSandbox, clock: Clock) -> None:
    # Given one invoice booked before and one after a watermark
    key = sandbox.add_administratie("Bakkerij De Korst")
    klant = sandbox.add_relatie(key, "Jan Jansen")
    session = api(sandbox, key)
    post_booking(session, sandbox, balanced_booking(sandbox, key, klant["id"], "OLD-1"))
    clock.now += 600
    post_booking(session, sandbox, balanced_booking(sandbox, key, klant["id"], "NEW-1"))

    # When the poller asks for changes after a watermark between the two (22:13:20 and 22:23:20 UTC)
    watermark = "2023-11-14T22:20:00Z"
    changed = session.get(
        f"{sandbox.base_url}/v2/verkoopfacturen", params={"$filter": f"modifiedOn gt {watermark}"}, timeout=5
    ).json()

    # Then only the newer invoice comes back
    assert [f["factuurnummer"] for f in changed] == ["NEW-1"]


def test_duplicate_invoice_numbers_are_booked_and_counted(sandbox: SnelstartSandbox) -> None:
    # Given one sale
    key = sandbox.add_administratie("Bakkerij De Korst")
    klant = sandbox.add_relatie(key, "Jan Jansen")
    session = api(sandbox, key)
    body = balanced_booking(sandbox, key, klant["id"], "CCV-10023")

    # When it is posted twice, as a retry after a lost answer would
    statuses = [post_booking(session, sandbox, body).status_code for _ in range(2)]

    # Then SnelStart books both and the sandbox reports the double booking
    assert statuses == [201, 201]
    assert sandbox.duplicates(key) == ["CCV-10023"]
    assert (
        len(
            session.get(
                f"{sandbox.base_url}/v2/verkoopfacturen", params={"$filter": "factuurnummer eq 'CCV-10023'"}, timeout=5
            ).json()
        )
        == 2
    )


def test_duplicate_refusal_mode_answers_boe_0021(sandbox: SnelstartSandbox) -> None:
    # Given a sandbox set to refuse a second booking with the same invoice number, as some clients report
    key = sandbox.add_administratie("Bakkerij De Korst")
    klant = sandbox.add_relatie(key, "Jan Jansen")
    session = api(sandbox, key)
    requests.post(f"{sandbox.base_url}/_sandbox/settings", json={"refuse_duplicates": True}, timeout=5)
    body = balanced_booking(sandbox, key, klant["id"], "CCV-10023")

    # When the same sale is posted twice
    first, second = post_booking(session, sandbox, body), post_booking(session, sandbox, body)

    # Then the second is refused with BOE-0021 and only one booking exists
    assert first.status_code == 201
    assert second.status_code == 400
    assert second.json()[0]["errorCode"] == "BOE-0021"
    assert sandbox.duplicates(key) == []


# -- faults, limits, activation -------------------------------------------------------------------------------
def test_forced_throttle_answers_429_with_retry_after(sandbox: SnelstartSandbox) -> None:
    # Given a sandbox told to throttle the next call
    key = sandbox.add_administratie("Bakkerij De Korst")
    session = api(sandbox, key)
    sandbox.faults.update({"retry_after": 7})
    sandbox.faults.queue("throttle")

    # When the connector calls
    answer = session.get(f"{sandbox.base_url}/v2/relaties", timeout=5)

    # Then it gets APIM's 429 with Retry-After, and the next call goes through
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "7"
    assert answer.json() == {"statusCode": 429, "message": "Rate limit is exceeded. Try again in 7 seconds."}
    assert session.get(f"{sandbox.base_url}/v2/relaties", timeout=5).status_code == 200


def test_commit_then_hang_books_although_the_client_times_out(sandbox: SnelstartSandbox) -> None:
    # Given a sandbox that will hang after committing the next request
    key = sandbox.add_administratie("Bakkerij De Korst")
    klant = sandbox.add_relatie(key, "Jan Jansen")
    session = api(sandbox, key)
    sandbox.faults.update({"hang_seconds": 0.6})
    sandbox.faults.queue("commit_then_hang")

    # When the connector posts with a short timeout
    with pytest.raises(requests.Timeout):
        post_booking(session, sandbox, balanced_booking(sandbox, key, klant["id"]), timeout=0.2)

    # Then the booking exists anyway: the lost answer a connector must reconcile by invoice number
    assert [b["factuurnummer"] for b in sandbox.bookings(key)] == ["CCV-10023"]


def test_rate_limit_is_per_administratie(sandbox: SnelstartSandbox) -> None:
    # Given one administratie limited to 2 calls per second and one without a limit
    limited, free = sandbox.add_administratie("Druk BV"), sandbox.add_administratie("Rustig BV")
    sandbox.set_rate_limit(limited, per_second=2)
    busy, calm = api(sandbox, limited), api(sandbox, free)

    # When each makes three calls within the same second
    busy_codes = [busy.get(f"{sandbox.base_url}/v2/landen", timeout=5) for _ in range(3)]
    calm_codes = [calm.get(f"{sandbox.base_url}/v2/landen", timeout=5).status_code for _ in range(3)]

    # Then only the limited one is throttled, with a Retry-After
    assert [r.status_code for r in busy_codes] == [200, 200, 429]
    assert busy_codes[-1].headers["Retry-After"] == "1"
    assert calm_codes == [200, 200, 200]


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def do_POST(self) -> None:
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    server = HTTPServer(("127.0.0.1", 0), type("Receiver", (_Receiver,), {"received": received}))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/snelstart/conn-1", received
    server.shutdown()
    server.server_close()


def test_activation_posts_the_koppelsleutel_to_the_partner_webhook(
    sandbox: SnelstartSandbox, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    # Given a partner app registered with its webhook
    webhook_url, received = receiver
    sandbox.register_app("koppel", webhook_url)

    # When a user opens the activation page
    page = requests.get(
        f"{sandbox.base_url}/couplings/activate/koppel",
        allow_redirects=False,
        timeout=5,
        params={"successUrl": "https://koppel.example/connected", "referenceKey": "conn-1"},
    )

    # Then the user is sent back and the partner received a working koppelsleutel
    assert page.status_code == 302
    assert page.headers["Location"] == "https://koppel.example/connected"
    [created] = received
    assert created["actionType"] == "Create"
    assert created["referenceKey"] == "conn-1"
    first_key = created["koppelSleutel"]
    assert api(sandbox, first_key).get(f"{sandbox.base_url}/v2/relaties", timeout=5).status_code == 200

    # And regenerating sends a new key and retires the old one, deleting retires the new one
    second_key = sandbox.regenerate("conn-1")
    sandbox.deactivate("conn-1")
    assert [(m["actionType"], m["koppelSleutel"]) for m in received[1:]] == [
        ("Regenerate", second_key),
        ("Delete", second_key),
    ]
    for key in (first_key, second_key):
        refused = requests.post(
            f"{sandbox.base_url}/b2b/token", data={"grant_type": "clientkey", "clientkey": key}, timeout=5
        )
        assert refused.json() == {"error": "invalid_grant"}


def test_control_endpoints_show_state_and_reset(sandbox: SnelstartSandbox) -> None:
    # Given an administratie created over the control API
    created = requests.post(
        f"{sandbox.base_url}/_sandbox/administraties", json={"naam": "Via HTTP BV"}, timeout=5
    ).json()

    # When the state is read and then reset
    state = requests.get(f"{sandbox.base_url}/_sandbox/state", timeout=5).json()
    requests.post(f"{sandbox.base_url}/_sandbox/reset", timeout=5)

    # Then the state listed it, and after the reset its key no longer works
    assert [a["naam"] for a in state["administraties"]] == ["Via HTTP BV"]
    refused = requests.post(
        f"{sandbox.base_url}/b2b/token",
        timeout=5,
        data={"grant_type": "clientkey", "clientkey": created["koppelsleutel"]},
    )
    assert refused.status_code == 400


def test_a_second_koppelsleutel_opens_the_same_administratie(sandbox: SnelstartSandbox) -> None:
    # Given an administratie and a second, fixed key to it (as a recorded activation carries one)
    first = sandbox.add_administratie("Demo B.V.")
    second = sandbox.add_koppelsleutel(first, "recorded-koppelsleutel")
    # When a token is asked with the second key
    answer = requests.post(
        f"{sandbox.base_url}/b2b/token", data={"grant_type": "clientkey", "clientkey": second}, timeout=5
    )
    # Then it is handed out, for the same administratie
    assert second == "recorded-koppelsleutel"
    assert answer.status_code == 200
    assert sandbox.administratie(second) is sandbox.administratie(first)
