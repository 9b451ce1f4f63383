"""create / update / revise / delete on records, with vtiger's checks in vtiger's order [V, ``Create.php``,
``Update.php``, ``Revise.php``, ``Delete.php``, ``EntityMeta.php``]:

1. the id must name a record of a known module (``INVALID_ID_ATTRIBUTE`` "Id specified is incorrect") that
   exists (``RECORD_NOT_FOUND`` "Record you are trying to access is not found");
2. references must point at the module the field refers to (``REFERENCE_INVALID`` "Invalid reference
   specified for <field>"); the owner must be a user (``ACCESS_DENIED`` "Cannot assign record to the given
   user");
3. mandatory fields must have a value (``MANDATORY_FIELDS_MISSING`` "<field> does not have a value"): all of
   them on create and update, only those sent on revise.
``update`` replaces the record (fields not sent become empty [V, vtiger's documented difference from revise]);
an Invoice update without ``LineItems`` is handled as a revise [V]. Non-editable fields (numbers, times,
``modifiedby``) are ignored when sent [V].
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.simplycrm import inventory
from devkit.sandboxes.simplycrm.schema import CURRENCY_PREFIX
from devkit.sandboxes.simplycrm.store import visible
from devkit.sandboxes.simplycrm.wire import (
    ACCESS_DENIED,
    BAD_ID,
    DENIED,
    INTERNAL_SERVER_ERROR,
    INVALID_ID_ATTRIBUTE,
    MANDATORY_FIELDS_MISSING,
    NOT_FOUND,
    RECORD_NOT_FOUND,
    REFERENCE_INVALID,
    VtigerError,
    decimal,
    fixed,
    timestamp,
)

if TYPE_CHECKING:
    from devkit.sandboxes.simplycrm.schema import Module
    from devkit.sandboxes.simplycrm.store import Store

WRITABLE = ("Contacts", "Accounts", "Products", "Invoice")


def element_of(raw: Any) -> dict[str, Any]:
    try:
        element = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as error:
        raise VtigerError(INTERNAL_SERVER_ERROR, "Unknown Error while processing request") from error
    if not isinstance(element, dict):
        raise VtigerError(MANDATORY_FIELDS_MISSING, "Mandatory field does not have a value")
    return element


def writable_module(store: Store, name: str) -> Module:
    if name not in WRITABLE:
        raise VtigerError(ACCESS_DENIED, DENIED)
    return store.modules[name]


def existing(store: Store, webservice_id: Any) -> tuple[Module, dict[str, Any]]:
    found = store.module_of(str(webservice_id or ""))
    if found is None:
        raise VtigerError(INVALID_ID_ATTRIBUTE, BAD_ID)
    record = store.get(str(webservice_id))
    if record is None:
        raise VtigerError(RECORD_NOT_FOUND, NOT_FOUND)
    return found[0], record


def _check(store: Store, module: Module, element: dict[str, Any], *, partial: bool) -> None:
    for spec in module.fields:
        value = element.get(spec.name)
        if spec.type == "reference" and value not in (None, "") and spec.editable:
            if spec.refers_to == ("Currency",) and str(value).startswith(CURRENCY_PREFIX + "x"):
                continue  # currencies are not records the sandbox keeps
            target = store.module_of(str(value))
            if target is None or target[0].name not in spec.refers_to:
                raise VtigerError(REFERENCE_INVALID, f"Invalid reference specified for {spec.name}")
        if spec.type == "owner" and value not in (None, ""):
            target = store.module_of(str(value))
            if target is None or target[0].name != "Users" or store.get(str(value)) is None:
                raise VtigerError(ACCESS_DENIED, "Cannot assign record to the given user")
    for spec in module.fields:
        if not spec.mandatory or (partial and spec.name not in element):
            continue
        if element.get(spec.name) in (None, ""):
            raise VtigerError(MANDATORY_FIELDS_MISSING, f"{spec.name} does not have a value")


def _apply(module: Module, record: dict[str, Any], element: dict[str, Any]) -> None:
    for spec in module.fields:
        if spec.name in element and spec.editable and spec.name != "id":
            value = element[spec.name]
            if spec.places is not None and value not in (None, ""):
                value = fixed(decimal(value, spec.name), spec.places)
            record[spec.name] = "" if value is None else str(value)


def create(store: Store, module_name: str, element: dict[str, Any], user_id: str, now: float) -> dict[str, Any]:
    module = writable_module(store, module_name)
    _check(store, module, element, partial=False)
    if module.name == "Invoice" and not element.get("LineItems"):
        raise VtigerError(MANDATORY_FIELDS_MISSING, "Mandatory Fields Missing..")
    crmid = store.next_crmid()
    record: dict[str, Any] = {spec.name: spec.default or "" for spec in module.fields}
    record |= {"_owner": element.get("assigned_user_id"), "_deleted": False}
    if module.name == "Invoice":
        record |= {"hdnTaxType": "group", "conversion_rate": "1.000", "currency_id": f"{CURRENCY_PREFIX}x1"}
    _apply(module, record, element)
    if module.number_field:
        record[module.number_field] = store.next_number(module)
    record |= {"createdtime": timestamp(now), "id": f"{module.id_prefix}x{crmid}"}
    store.touch(record, now, user_id)
    if module.name == "Invoice":
        _set_lines(store, record, element["LineItems"])
    store.put(module, crmid, record)
    return shown(store, record)


def change(store: Store, element: dict[str, Any], user_id: str, now: float, *, partial: bool) -> dict[str, Any]:
    module, record = existing(store, element.get("id"))
    writable_module(store, module.name)
    if module.name == "Invoice" and not element.get("LineItems"):
        partial = True  # vtiger's inventory update falls back to revise
    _check(store, module, element, partial=partial)
    if not partial:
        for spec in module.fields:
            if spec.editable and spec.name not in element and spec.name != "id":
                record[spec.name] = spec.default or ""
    _apply(module, record, element)
    record["_owner"] = record.get("assigned_user_id")
    if module.name == "Invoice" and element.get("LineItems"):
        _set_lines(store, record, element["LineItems"])
    elif module.name == "Invoice":  # the lines stay as they are; the totals follow a changed discount or tax type
        record |= inventory.totals(record, store.lines.get(int(record["id"].partition("x")[2]), []))
    store.touch(record, now, user_id)
    return shown(store, record)


def _set_lines(store: Store, invoice: dict[str, Any], items: list[dict[str, Any]]) -> None:
    products: dict[str, dict[str, Any]] = {}
    for item in items:
        product = store.get(str(item.get("productid") or ""))
        if product is None or not str(item.get("productid")).startswith(store.modules["Products"].id_prefix + "x"):
            raise VtigerError(REFERENCE_INVALID, "Invalid reference specified for productid")
        products[str(item["productid"])] = product
    first = store.take_line_ids(len(items))
    lines = inventory.build_lines(items, invoice["id"], products, first)
    store.lines[int(invoice["id"].partition("x")[2])] = lines
    invoice |= inventory.totals(invoice, lines)


def shown(store: Store, record: dict[str, Any]) -> dict[str, Any]:
    """A record as retrieve answers it; an Invoice carries its ``LineItems`` and the first line's productid."""
    body = visible(record)
    if record["id"].startswith(store.modules["Invoice"].id_prefix + "x"):
        lines = store.lines.get(int(record["id"].partition("x")[2]), [])
        body |= {"LineItems": [dict(line) for line in lines], "productid": lines[0]["productid"] if lines else ""}
    return body
