"""Hardened parsing of a UBL 2.1 document and typed look-ups on it.

The bytes come from outside (a supplier's invoice through a document inbox), so the parser expands no entity,
loads no DTD, reaches no network and refuses huge trees; a document that declares a DOCTYPE at all (the door to
billion laughs and XXE) is refused before anything is read from it, and so is one over 10 MB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from koppel.errors import InputError

MAX_BYTES = 10 * 1024 * 1024
INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
ROOTS = {f"{{{INVOICE_NS}}}Invoice": "Invoice", f"{{{CREDIT_NOTE_NS}}}CreditNote": "CreditNote"}
NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
_DOCTYPE = re.compile(rb"<!\s*DOCTYPE", re.IGNORECASE)


def _parser() -> Any:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True,
        dtd_validation=False, remove_pis=True,
    )  # fmt: skip


@dataclass(frozen=True)
class Node:
    """One element of the document, with look-ups that name the missing element when something required is absent.

    Paths are ElementPath with the ``cac:``/``cbc:`` prefixes, relative to this element."""

    element: Any
    name: str

    def first(self, path: str) -> Node | None:
        found = self.element.find(path, NS)
        return Node(found, f"{self.name}/{path}") if found is not None else None

    def all(self, path: str) -> list[Node]:
        return [Node(found, f"{self.name}/{path}") for found in self.element.findall(path, NS)]

    def required(self, path: str) -> Node:
        found = self.first(path)
        if found is None:
            raise InputError(f"UBL document: the required element {self.name}/{path} is missing")
        return found

    def text(self, path: str = "") -> str:
        """The element's text, whitespace stripped; "" when it is absent or empty."""
        found = self.first(path) if path else self
        return str(found.element.text or "").strip() if found is not None else ""

    def required_text(self, path: str) -> str:
        value = self.required(path).text()
        if not value:
            raise InputError(f"UBL document: the required element {self.name}/{path} is empty")
        return value

    def attribute(self, name: str) -> str:
        return str(self.element.get(name, "")).strip()

    def amount(self, path: str) -> Decimal | None:
        found = self.first(path)
        return found.decimal() if found is not None and found.text() else None

    def required_amount(self, path: str) -> Decimal:
        return self.required(path).decimal()

    def decimal(self) -> Decimal:
        raw = self.text()
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise InputError(f"UBL document: {self.name} is not a number: {raw[:40]!r}") from None
        if not value.is_finite():
            raise InputError(f"UBL document: {self.name} is not a finite number: {raw[:40]!r}")
        return value

    def iso_date(self, path: str) -> date | None:
        return self.required_date(path) if self.text(path) else None

    def required_date(self, path: str) -> date:
        raw = self.required_text(path)
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise InputError(f"UBL document: {self.name}/{path} is not a date (YYYY-MM-DD): {raw[:40]!r}") from None


def parse_document(data: bytes) -> Node:
    """The root element of a UBL 2.1 Invoice or CreditNote, or InputError saying what is wrong with the bytes."""
    if not isinstance(data, bytes | bytearray):
        raise InputError("UBL document: expected the file's bytes")
    if len(data) > MAX_BYTES:
        raise InputError(f"UBL document is {len(data)} bytes, over the limit of {MAX_BYTES} (10 MB): not read")
    if _DOCTYPE.search(data[:4096]):
        raise InputError("UBL document declares a DOCTYPE (entities or an external DTD): refused, not read")
    try:
        root = etree.fromstring(bytes(data), parser=_parser())
    except etree.XMLSyntaxError as error:
        raise InputError(f"UBL document is not well-formed XML: {error}") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise InputError("UBL document declares a DOCTYPE (entities or an external DTD): refused, not read")
    if not isinstance(root.tag, str) or root.tag not in ROOTS:
        raise InputError(
            f"UBL document: the root element is {root.tag!s:.120}, not a UBL 2.1 Invoice ({INVOICE_NS}) "
            f"or CreditNote ({CREDIT_NOTE_NS})"
        )
    return Node(root, ROOTS[root.tag])
