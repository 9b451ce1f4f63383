"""A UBL party (cac:AccountingSupplierParty/cac:Party or the customer's) as a canonical Party, and its country."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from koppel.errors import InputError
from koppel.model import Address, Party

if TYPE_CHECKING:
    from koppel.ubl.parse import Node

_COUNTRY = re.compile(r"^[A-Z]{2}$")
VAT_PREFIX_COUNTRY = {"EL": "GR"}
"""A VAT id starts with the country's VAT prefix, which is its ISO code except for Greece (EL)."""


def read_party(party: Node, *, iban: str = "") -> Party:
    name = party.text("cac:PartyName/cbc:Name") or party.text("cac:PartyLegalEntity/cbc:RegistrationName")
    if not name:
        raise InputError(
            f"UBL document: {party.name} has neither cac:PartyName/cbc:Name nor "
            "cac:PartyLegalEntity/cbc:RegistrationName"
        )
    vat_number = vat_id(party)
    coc_number = party.text("cac:PartyLegalEntity/cbc:CompanyID")
    return Party(
        name=name,
        contact_name=party.text("cac:Contact/cbc:Name"),
        email=party.text("cac:Contact/cbc:ElectronicMail") or None,
        phone=party.text("cac:Contact/cbc:Telephone"),
        is_business=bool(vat_number or coc_number),
        vat_number=vat_number,
        coc_number=coc_number,
        iban=iban,
        billing_address=_address(party),
    )


def vat_id(party: Node) -> str:
    """The party's VAT id: the cac:PartyTaxScheme whose scheme is VAT (another scheme is a tax registration)."""
    for scheme in party.all("cac:PartyTaxScheme"):
        if scheme.text("cac:TaxScheme/cbc:ID").upper() == "VAT" and scheme.text("cbc:CompanyID"):
            return scheme.text("cbc:CompanyID").replace(" ", "")
    return ""


def payee_iban(root: Node) -> str:
    """The account the supplier wants to be paid on (the first PaymentMeans that names one)."""
    for means in root.all("cac:PaymentMeans"):
        account = means.text("cac:PayeeFinancialAccount/cbc:ID").replace(" ", "").upper()
        if account:
            return account
    return ""


def address_country(party: Node) -> str | None:
    return _country(party.text("cac:PostalAddress/cac:Country/cbc:IdentificationCode"))


def vat_id_country(party: Node) -> str | None:
    prefix = vat_id(party)[:2].upper()
    return _country(VAT_PREFIX_COUNTRY.get(prefix, prefix))


def seller_country(party: Node) -> str | None:
    """Whose VAT a seller charges: the country of its VAT id, else (no VAT id) of its address."""
    return vat_id_country(party) or address_country(party)


def buyer_country(party: Node) -> str | None:
    """Where the buyer is established: its address, else the country of its VAT id."""
    return address_country(party) or vat_id_country(party)


def _address(party: Node) -> Address:
    street = " ".join(
        part
        for part in (
            party.text("cac:PostalAddress/cbc:StreetName"),
            party.text("cac:PostalAddress/cbc:AdditionalStreetName"),
        )
        if part
    )
    return Address(
        street=street,
        postcode=party.text("cac:PostalAddress/cbc:PostalZone"),
        city=party.text("cac:PostalAddress/cbc:CityName"),
        country_code=address_country(party),
    )


def _country(code: str) -> str | None:
    code = code.strip().upper()
    return code if _COUNTRY.match(code) else None
