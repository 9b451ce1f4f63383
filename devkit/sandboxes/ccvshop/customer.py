"""CCV Shop's customer block (Personalinfo) for sandbox orders, key for key as in order.get.json.

The recorded billing address has ``first_name``/``last_name``/``fax``; the recorded delivery address has not,
and carries an empty country and a null country_code when no separate delivery address was given.
"""

from __future__ import annotations

from typing import Any

_BILLING_TEMPLATE: dict[str, Any] = {
    "gender": None,
    "initials": "",
    "first_name": "",
    "last_name": "",
    "full_name": "",
    "company": "",
    "address_line_1": "",
    "address_line_2": "",
    "street": "",
    "housenumber": None,
    "housenumber_suffix": "",
    "zipcode": "",
    "city": "",
    "province": "",
    "telephone": "",
    "fax": "",
    "mobile": "",
    "comment": "",
    "country": "Nederland",
    "country_code": "NL",
}
# The recorded delivery address has no first_name/last_name/fax and an empty country when unused.
_DELIVERY_TEMPLATE: dict[str, Any] = {
    "gender": None,
    "full_name": "",
    "initials": "",
    "company": "",
    "address_line_1": "",
    "address_line_2": "",
    "street": "",
    "housenumber": None,
    "housenumber_suffix": "",
    "zipcode": "",
    "city": "",
    "province": "",
    "telephone": "",
    "mobile": "",
    "comment": "",
    "country": "",
    "country_code": None,
}
_CUSTOMER_STRINGS = [
    "email_invoice",
    "email_invoice_company",
    "email_invoice_union",
    "email",
    "customertype",
    "bankaccount",
    "iban",
    "bic",
    "bank",
    "tenname",
    "bankname",
    "btw",
    "kvk",
    "reference",
    "reservationnumber",
    "income",
    "branche",
    "branch",
    "website",
    "clubcity",
    "clubcomment",
    "clubname",
    "beurs",
    "fair",
    "stand",
    "booth",
    "carbrand",
    "cartype",
    "carweight",
]
_CUSTOMER_TAIL: dict[str, Any] = {
    "birthdate": None,
    "birthplace": "",
    "birthtime": None,
    "cardnumber": "",
    "findus": "",
    "ssnnumber": "",
    "zzppass": "",
    "costcentre": "",
}


def build_customer(customer: dict[str, Any]) -> dict[str, Any]:
    """Fill CCV's Personalinfo block from a partial dict; unknown keys are refused (they would be typos)."""
    given = dict(customer)
    billing = _address(_BILLING_TEMPLATE, given.pop("billingaddress", {}))
    delivery = _address(_DELIVERY_TEMPLATE, given.pop("deliveryaddress", {}))
    out: dict[str, Any] = {"billingaddress": billing, "deliveryaddress": delivery}
    out.update(dict.fromkeys(_CUSTOMER_STRINGS, ""))
    out["customertype"] = "b2c"
    out.update(_CUSTOMER_TAIL)
    unknown = set(given) - set(out)
    if unknown:
        raise ValueError(f"unknown customer fields: {sorted(unknown)}")
    out.update(given)
    return out


def _address(template: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    unknown = set(given) - set(template)
    if unknown:
        raise ValueError(f"unknown address fields: {sorted(unknown)}")
    address = {**template, **given}
    if not address["full_name"]:
        names = (address.get("first_name", ""), address.get("last_name", ""))
        address["full_name"] = " ".join(part for part in names if part)
    if not address["address_line_1"] and address["street"]:
        number = f"{address['housenumber'] or ''}{address['housenumber_suffix']}"
        address["address_line_1"] = f"{address['street']} {number}".strip()
    if address["street"] and not address["country"]:
        address["country"], address["country_code"] = "Nederland", "NL"
    return address
