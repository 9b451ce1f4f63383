"""Contacts with their contact persons, and products with their prices.

[V, https://www.billy.dk/api/ contacts / contactPersons / products / productPrices]:
- contact: ``type`` ``company`` (default) | ``person``; ``name`` and ``countryId`` required; the VAT / CVR /
  tax number is ``registrationNo`` (there is no ``vatNo``); ``ean``, ``contactNo``, ``isCustomer``,
  ``isSupplier``, ``paymentTermsMode``/``paymentTermsDays``, address in ``street``, ``cityText``,
  ``zipcodeText``, ``stateText``. E-mail lives on ``contactPersons`` (``name``, ``email``, ``isPrimary``;
  either name or email must be set); setting ``contactPersons`` on a contact replaces the existing ones.
- product: ``name`` required, ``accountId`` and ``salesTaxRulesetId`` default (to the organization's sales
  account / ruleset [I which ones]), ``productNo``, ``suppliersProductNo``, ``isArchived``; ``prices`` embedded
  on create as ``[{unitPrice, currencyId}]`` — a product record does not carry its prices [V, a live record
  pasted by kenashkov/billy-dk]; they are ``productPrices`` (``include=product.prices:embed``). Setting
  ``prices`` replaces them [I, as for contactPersons]. The live record's ``inventoryAccountId``,
  ``isInInventory``, ``imageId``, ``imageUrl`` are kept [V].
[I]: ``paymentTermsDays`` (listed required) defaults to the organization's; a contact in use on an invoice
can't be deleted (422); deleting a contact deletes its persons, a product its prices.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devkit.sandboxes.billy.schema import WRITABLE
from devkit.sandboxes.billy.wire import invalid, money

if TYPE_CHECKING:
    from devkit.sandboxes.billy.changes import Changes
    from devkit.sandboxes.billy.store import Record


def save_contact(work: Changes, body: dict[str, Any], cid: str, contact: Record | None = None) -> Record:
    if contact is None:
        contact = {
            "id": work.store.new_id(), "organizationId": work.org.id, "type": "company",
            "createdTime": work.store.now(), "name": None, "countryId": None, "street": None, "cityId": None,
            "cityText": None, "stateId": None, "stateText": None, "zipcodeId": None, "zipcodeText": None,
            "contactNo": None, "phone": None, "fax": None, "currencyId": None, "registrationNo": None, "ean": None,
            "localeId": None, "isCustomer": True, "isSupplier": False, "paymentTermsMode": None,
            "paymentTermsDays": None, "accessCode": None, "emailAttachmentDeliveryMode": None, "isArchived": False,
        }  # fmt: skip
    merged = {**contact, **{k: v for k, v in body.items() if k in WRITABLE["contacts"]}}
    missing = {k: "This field is required." for k in ("name", "countryId") if merged.get(k) in (None, "")}
    if missing:
        raise invalid(f"{next(iter(missing))} is required.", missing, cid)
    if work.org.get("countries", merged["countryId"]) is None:
        raise invalid("Unknown country.", {"countryId": "Unknown country."}, cid)
    if merged["type"] not in ("company", "person"):
        raise invalid("type must be company or person.", {"type": "Invalid value."}, cid)
    if merged["paymentTermsDays"] is None:
        merged["paymentTermsDays"] = work.org.record["paymentTermsDays"]
    contact.update(merged)
    work.put("contacts", contact)
    if "contactPersons" in body:
        persons = body["contactPersons"] or []
        for old in work.org.children("contactPersons", "contactId", contact["id"]):
            work.delete("contactPersons", old["id"])
        for person in persons:
            save_person(work, {**person, "contactId": contact["id"]}, cid)
    return contact


def save_person(work: Changes, body: dict[str, Any], cid: str, person: Record | None = None) -> Record:
    if person is None:
        person = {"id": work.store.new_id(), "contactId": None, "isPrimary": False, "name": None, "email": None}
    merged = {**person, **{k: v for k, v in body.items() if k in WRITABLE["contactPersons"]}}
    if work.org.get("contacts", merged["contactId"]) is None:
        raise invalid("The contact does not exist.", {"contactId": "Unknown contact."}, cid)
    if not merged["name"] and not merged["email"]:
        raise invalid("Either name or email must be set.", {"name": "Name or email is required."}, cid)
    person.update(merged)
    return work.put("contactPersons", person)


def delete_contact(work: Changes, ident: str) -> None:
    if any(i["contactId"] == ident for i in work.org.table("invoices").values()):
        raise invalid("The contact has invoices and can't be deleted.", {"id": "In use."}, "contact")
    for person in work.org.children("contactPersons", "contactId", ident):
        work.delete("contactPersons", person["id"])
    work.delete("contacts", ident)


def save_product(work: Changes, body: dict[str, Any], cid: str, product: Record | None = None) -> Record:
    settings = work.org.record
    if product is None:
        product = {
            "id": work.store.new_id(), "organizationId": work.org.id, "name": None, "description": None,
            "accountId": settings["defaultSalesAccountId"], "inventoryAccountId": None, "productNo": None,
            "suppliersProductNo": None, "salesTaxRulesetId": settings["defaultSalesTaxRulesetId"],
            "isArchived": False, "isInInventory": False, "imageId": None, "imageUrl": None,
        }  # fmt: skip
    merged = {**product, **{k: v for k, v in body.items() if k in WRITABLE["products"]}}
    if merged["name"] in (None, ""):
        raise invalid("name is required.", {"name": "This field is required."}, cid)
    if work.org.get("accounts", merged["accountId"]) is None:
        raise invalid("Unknown account.", {"accountId": "Unknown account."}, cid)
    if work.org.get("salesTaxRulesets", merged["salesTaxRulesetId"]) is None:
        raise invalid("Unknown sales tax ruleset.", {"salesTaxRulesetId": "Unknown ruleset."}, cid)
    product.update(merged)
    work.put("products", product)
    if "prices" in body:
        for old in work.org.children("productPrices", "productId", product["id"]):
            work.delete("productPrices", old["id"])
        for price in body["prices"] or []:
            save_price(work, {**price, "productId": product["id"]}, cid)
    return product


def save_price(work: Changes, body: dict[str, Any], cid: str, price: Record | None = None) -> Record:
    if price is None:
        price = {"id": work.store.new_id(), "productId": None, "unitPrice": None, "currencyId": None}
    merged = {**price, **{k: v for k, v in body.items() if k in WRITABLE["productPrices"]}}
    if work.org.get("products", merged["productId"]) is None:
        raise invalid("The product does not exist.", {"productId": "Unknown product."}, cid)
    if work.org.get("currencies", merged["currencyId"]) is None:
        raise invalid("Unknown currency.", {"currencyId": "Unknown currency."}, cid)
    merged["unitPrice"] = money(merged["unitPrice"], "unitPrice", cid)
    price.update(merged)
    return work.put("productPrices", price)


def delete_product(work: Changes, ident: str) -> None:
    if any(line["productId"] == ident for line in work.org.table("invoiceLines").values()):
        raise invalid("The product is used on invoices and can't be deleted.", {"id": "In use."}, "product")
    for price in work.org.children("productPrices", "productId", ident):
        work.delete("productPrices", price["id"])
    work.delete("products", ident)
