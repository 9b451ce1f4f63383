"""UBL documents Koppel refuses, and why: unsafe XML, not a UBL invoice, sums that do not hold, unbookable VAT."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from koppel.errors import InputError, MappingError, UnbalancedDocumentError
from koppel.ubl import read_ubl
from koppel.ubl.parse import MAX_BYTES

D = Decimal
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ubl"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def read(text: str | bytes) -> object:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return read_ubl(data, ours="buyer", source_id="banqup:test")


@pytest.mark.parametrize("name", ["billion-laughs.xml", "xxe.xml"])
def test_a_document_with_a_doctype_is_refused_unread(name: str) -> None:
    # Given a billion-laughs or an XXE (file:///etc/passwd) document
    # When it is read
    with pytest.raises(InputError) as refused:
        read(fixture(name))
    # Then it is refused for its DOCTYPE, and nothing of the entities (or the password file) shows
    assert "DOCTYPE" in str(refused.value)
    assert "lol" not in str(refused.value)
    assert "root:" not in str(refused.value)


@pytest.mark.parametrize("name", ["billion-laughs.xml", "xxe.xml"])
def test_a_doctype_hidden_in_utf16_is_refused_too(name: str) -> None:
    # Given the same attacks in UTF-16, where the bytes do not spell "<!DOCTYPE"
    data = fixture(name).replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    # When it is read
    with pytest.raises(InputError) as refused:
        read(data)
    # Then the parser expands nothing and the document is refused
    assert "root:" not in str(refused.value)


def test_a_document_over_10_mb_is_refused_before_parsing() -> None:
    # Given a well-formed invoice padded past 10 MB with a long note
    padded = fixture("prepaid.xml").replace("<cbc:Note>", "<cbc:Note>" + "x" * MAX_BYTES)
    # When it is read
    with pytest.raises(InputError) as refused:
        read(padded)
    # Then the size is what is wrong
    assert "10 MB" in str(refused.value)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"%PDF-1.7 not xml at all", "not well-formed XML"),
        (b"", "not well-formed XML"),
        (b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>', "not a UBL 2.1 Invoice"),
        (b"<Invoice/>", "not a UBL 2.1 Invoice"),
    ],
)
def test_not_xml_or_a_wrong_root_is_refused(data: bytes, says: str) -> None:
    # Given bytes that are not XML, or XML that is not a UBL 2.1 Invoice or CreditNote
    # When they are read
    with pytest.raises(InputError) as refused:
        read(data)
    # Then the refusal says which
    assert says in str(refused.value)


@pytest.mark.parametrize(
    ("element", "named"),
    [
        ("<cbc:IssueDate>2026-12-01</cbc:IssueDate>", "Invoice/cbc:IssueDate"),
        ("<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>", "Invoice/cbc:DocumentCurrencyCode"),
        ('<cbc:PriceAmount currencyID="EUR">3.10</cbc:PriceAmount>', "cac:Price/cbc:PriceAmount"),
    ],
)
def test_a_missing_required_element_is_named(element: str, named: str) -> None:
    # Given an invoice without one of its required elements
    text = fixture("prepaid.xml")
    assert element in text
    # When it is read
    with pytest.raises(InputError) as refused:
        read(text.replace(element, ""))
    # Then the refusal names the element
    assert named in str(refused.value)


def test_a_tax_subtotal_off_by_five_cents_is_unbalanced() -> None:
    # Given an invoice whose 21 % subtotal states 17.17 VAT on 81.50 (21 % is 17.12)
    # When it is read
    with pytest.raises(UnbalancedDocumentError) as refused:
        read(fixture("unbalanced-subtotal.xml"))
    # Then it is refused naming the rule and both figures, with the difference
    assert refused.value.difference == D("0.05")
    assert "BR-CO-17" in str(refused.value)
    assert "17.17" in str(refused.value)
    assert "17.12" in str(refused.value)


@pytest.mark.parametrize(
    ("old", "new", "rule", "difference"),
    [
        (
            '372.00</cbc:LineExtensionAmount>\n        <cbc:TaxExclusiveAmount',
            '372.10</cbc:LineExtensionAmount>\n        <cbc:TaxExclusiveAmount',
            "BR-CO-10",
            D("0.10"),
        ),
        ('<cbc:PayableAmount currencyID="EUR">350.12', '<cbc:PayableAmount currencyID="EUR">350.11', "BR-CO-16",
         D("-0.01")),
        ('<cbc:TaxInclusiveAmount currencyID="EUR">450.12', '<cbc:TaxInclusiveAmount currencyID="EUR">450.13',
         "BR-CO-15", D("0.01")),
    ],
)  # fmt: skip
def test_a_total_that_does_not_add_up_names_its_rule(old: str, new: str, rule: str, difference: Decimal) -> None:
    # Given an invoice with one of its totals changed
    text = fixture("prepaid.xml")
    assert old in text
    # When it is read
    with pytest.raises(UnbalancedDocumentError) as refused:
        read(text.replace(old, new))
    # Then the refusal names the EN 16931 rule that failed and by how much
    assert rule in str(refused.value)
    assert refused.value.difference == difference


@pytest.mark.parametrize("code", ["L", "M"])
def test_canary_islands_and_ceuta_taxes_are_a_mapping_error(code: str) -> None:
    # Given an invoice in category L (IGIC) or M (IPSI)
    text = fixture("reverse-charge-ae.xml").replace("<cbc:ID>AE</cbc:ID>", f"<cbc:ID>{code}</cbc:ID>")
    # When it is read
    with pytest.raises(MappingError) as refused:
        read(text)
    # Then the refusal says which tax Koppel does not book
    assert f"{code} (" in str(refused.value)


def test_greek_vat_prefix_el_is_greece() -> None:
    # Given a supplier whose VAT id carries the Greek prefix EL, charging VAT to a Dutch buyer
    text = fixture("german-vat-de.xml").replace("DE123456789", "EL094014201")
    # When it is read
    doc = read_ubl(text.encode("utf-8"), ours="buyer", source_id="banqup:el")
    # Then the foreign VAT is Greece's
    assert doc.vat_country == "GR"


def test_seller_without_a_vat_id_is_placed_by_its_address() -> None:
    # Given the German supplier without a VAT id (only its German address)
    start = fixture("german-vat-de.xml").index("<cac:PartyTaxScheme>")
    end = fixture("german-vat-de.xml").index("</cac:PartyTaxScheme>") + len("</cac:PartyTaxScheme>")
    text = fixture("german-vat-de.xml")[:start] + fixture("german-vat-de.xml")[end:]
    # When it is read
    doc = read_ubl(text.encode("utf-8"), ours="buyer", source_id="banqup:noid")
    # Then its address decides, and the party is still a business by its registration number
    assert doc.vat_country == "DE"
    assert (doc.party.vat_number, doc.party.is_business) == ("", True)
