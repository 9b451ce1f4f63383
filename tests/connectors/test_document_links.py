"""The console's history links a booked document to the page that opens it in the vendor's own web app: golden
addresses from a connection's settings and the id the target gave, the sandbox's address where the connection is
set up for one, and no link claimed by a vendor that publishes none (its README says why)."""

from __future__ import annotations

from pathlib import Path

import pytest

from koppel import connectors
from koppel.errors import InputError

CONNECTORS = Path(__file__).resolve().parents[2] / "layers" / "koppel" / "koppel" / "connectors"


def _link(name: str, settings: dict[str, str], external_id: str, direction: str = "sale") -> str:
    link = connectors.load(name).document_link
    assert link is not None, f"{name} claims no document links"
    return link(settings, external_id, direction)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("settings", "external_id", "direction", "expected"),
    [
        ({}, "146", "sale", "https://app.qbo.intuit.com/app/invoice?txnId=146"),
        ({}, "77", "purchase", "https://app.qbo.intuit.com/app/bill?txnId=77"),
        (
            {"app_url": "https://app.sandbox.qbo.intuit.com/"},
            "146",
            "sale",
            "https://app.sandbox.qbo.intuit.com/app/invoice?txnId=146",
        ),
        ({"app_url": "http://127.0.0.1:8765"}, "9", "purchase", "http://127.0.0.1:8765/app/bill?txnId=9"),
    ],
    ids=["sale", "purchase", "developer-sandbox", "local-sandbox"],
)
def test_a_quickbooks_document_opens_as_its_invoice_or_bill_on_the_connections_app(
    settings: dict[str, str], external_id: str, direction: str, expected: str
) -> None:
    # Given a QuickBooks connection (production, Intuit's developer sandbox or a local one) and a booked form's Id
    # When the console asks for its link
    # Then it is the page that opens that invoice or bill on the connection's own app address
    assert _link("quickbooks", settings, external_id, direction) == expected


def test_a_quickbooks_id_is_escaped_so_it_cannot_change_the_address() -> None:
    # Given an id with characters that mean something in a query string
    # When it is linked, then it stays one query value
    assert _link("quickbooks", {}, "1&companyId=2") == "https://app.qbo.intuit.com/app/invoice?txnId=1%26companyId%3D2"


def test_a_quickbooks_connection_with_a_broken_app_address_is_named_not_linked() -> None:
    # Given settings whose app address is no URL, when a link is asked for, then the setting is named
    with pytest.raises(InputError, match="app_url"):
        _link("quickbooks", {"app_url": "not a url"}, "146")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://acme.simply-crm.com", "https://acme.simply-crm.com/index.php?module=Invoice&view=Detail&record=4711"),
        (
            "https://acme.simply-crm.com/",
            "https://acme.simply-crm.com/index.php?module=Invoice&view=Detail&record=4711",
        ),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123/index.php?module=Invoice&view=Detail&record=4711"),
    ],
    ids=["crm", "trailing-slash", "local-sandbox"],
)
def test_a_simply_crm_invoice_opens_in_its_detail_view_on_the_crms_address(url: str, expected: str) -> None:
    # Given Simply CRM as the target (its own CRM or a local sandbox) and the invoice's webservice id 16x4711
    # When the console asks for its link
    # Then it is vtiger's detail view of record 4711 on that CRM
    assert _link("simplycrm", {"url": url}, "16x4711") == expected


@pytest.mark.parametrize(("external_id", "direction"), [("16x4711", "purchase"), ("4711", "sale"), ("", "sale")])
def test_simply_crm_links_nothing_it_did_not_book_as_an_invoice(external_id: str, direction: str) -> None:
    # Given a purchase (Simply CRM books none) or an id that is not vtiger's, when a link is asked for, then none
    assert _link("simplycrm", {"url": "https://acme.simply-crm.com"}, external_id, direction) == ""


@pytest.mark.parametrize("name", ["snelstart", "eboekhouden", "billy"])
def test_a_target_without_a_documented_address_claims_no_links_and_says_why(name: str) -> None:
    # Given an accounting package whose web app publishes no address for a booked document
    connector = connectors.load(name)
    # Then its descriptor claims no links, and its README's console section says so
    assert not connector.can("document_links")
    assert connector.document_link is None
    readme = (CONNECTORS / name / "README.md").read_text()
    assert "## Console" in readme
    section = readme.split("## Console", 1)[1]
    assert "no link" in section.lower() and "https://" in section
