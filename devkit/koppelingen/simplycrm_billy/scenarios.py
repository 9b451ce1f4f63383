"""The workload of Simply CRM ↔ Billy, from one seeded generator: what a Danish bakery supplier's office does.

Records are made on both sides: organizations and contacts (found by e-mail) and products (by product number:
Simply CRM numbers its own, PRO1, ...), a share of them on both sides already with the same natural key (Koppel
must link those, never duplicate them).
Then waves of changes on records both sides hold: ``before`` the next poll, the same field changed differently on
both sides (a conflict Simply CRM must win) and different fields changed on each side (both must survive); and
``during`` the poll, from another thread, edits on one side and deletions on either side. Approved CRM invoices at
25 % VAT are made for organizations the CRM holds; booked invoices are paid in Billy. ``Made`` keeps what was done.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.koppelingen.simplycrm_billy.seed import line

if TYPE_CHECKING:
    from collections.abc import Callable

    from devkit.sandboxes.billy.sandbox import BillySandbox
    from devkit.sandboxes.simplycrm.sandbox import SimplyCrmSandbox

CRM, BILLY = "simplycrm", "billy"
KINDS = ("organization", "contact", "product")
CITIES = (("København Ø", "2100"), ("Aarhus C", "8000"), ("Odense C", "5000"), ("Aalborg", "9000"), ("Vejle", "7100"))
STREETS = ("Strandvejen", "Havnegade", "Nørregade", "Vestergade", "Åboulevarden", "Klostergade")
FIRST = ("Mette", "Jonas", "Sofie", "Anders", "Freja", "Lars", "Ida", "Mikkel", "Emma", "Søren")
LAST = ("Holm", "Berg", "Lund", "Nielsen", "Jensen", "Madsen", "Kjær", "Dahl", "Skov", "Bak")
TRADES = ("Bageri", "Kaffe", "Konditori", "Café", "Kantine", "Bistro")
GOODS = ("Stenovn", "Dejælter", "Hæveskab", "Bageplade", "Ovnkursus", "Røremaskine")
EDITABLE: dict[str, dict[str, tuple[str, str]]] = {
    "organization": {
        "name": ("accountname", "name"), "phone": ("phone", "phone"), "street": ("bill_street", "street"),
        "city": ("bill_city", "cityText"), "postcode": ("bill_code", "zipcodeText"),
    },
    "contact": {
        "phone": ("phone", "phone"), "street": ("mailingstreet", "street"), "city": ("mailingcity", "cityText"),
        "postcode": ("mailingzip", "zipcodeText"),
    },
    "product": {"description": ("description", "description"), "unit_price": ("unit_price", "prices")},
}  # fmt: skip
"""Per kind, the canonical fields a person edits, as (Simply CRM's field, Billy's field)."""
PLURAL = {"organization": "contacts", "contact": "contacts", "product": "products"}


@dataclass
class Planned:
    """One record the workload made: its natural key (an e-mail or a product number) and where it was made."""

    kind: str
    key: str
    name: str
    made_on: str  # simplycrm, billy or both
    deleted_on: str = ""
    invoiced: bool = False  # named on an invoice: never deleted (Billy refuses to delete a contact with invoices)


@dataclass(frozen=True)
class PlannedConflict:
    kind: str
    key: str
    field: str
    values: dict[str, str]  # what each side was given; Simply CRM's must hold on both sides at the end
    edits: int
    """How often the field had been edited with this conflict: a later edit leaves nothing to check."""


@dataclass
class Made:
    records: list[Planned] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    edits: Counter[str] = field(default_factory=Counter)
    conflicts: list[PlannedConflict] = field(default_factory=list)
    touched: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(key, field) → how often it was edited: a conflict's value holds only if nothing edited it later."""
    invoices: dict[str, str] = field(default_factory=dict)  # CRM invoice id → its invoice number
    paid: set[str] = field(default_factory=set)  # invoice numbers paid in Billy


@dataclass
class Wave:
    before: list[Callable[[], None]] = field(default_factory=list)  # before the poll: both sides between two polls
    during: list[Callable[[], None]] = field(default_factory=list)  # from another thread while the poll runs


class RecordMaker:
    """Makes records, waves of changes, invoices and payments in both sandboxes from one seeded generator."""

    def __init__(
        self, crm: SimplyCrmSandbox, billy: BillySandbox, token: str, seed: int, linked: Callable[[str, str], bool]
    ) -> None:
        self.crm, self.billy, self.token, self.linked = crm, billy, token, linked
        self.rng, self.made, self.names_given = random.Random(seed), Made(), 0
        self.products: dict[str, dict[str, Any]] = {}  # CRM products by product number (for invoice lines)

    # -- records ------------------------------------------------------------------------------------------------
    def create(self, size: int, both_share: float) -> None:
        for _ in range(size):
            kind = self.rng.choices(KINDS, [35, 40, 25])[0]
            roll = self.rng.random()
            made_on = "both" if roll < both_share else CRM if roll < (1 + both_share) / 2 else BILLY
            self.make(kind, made_on)

    def make(self, kind: str, made_on: str) -> Planned:
        n = len(self.made.records) + 1
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        city, postcode = self.rng.choice(CITIES)
        street = f"{self.rng.choice(STREETS)} {self.rng.randint(1, 99)}"
        phone = self.phone()
        if kind == "product":
            name, key = f"{self.rng.choice(GOODS)} {n}", f"BG-{n:04d}"
        elif kind == "organization":
            name, key = f"{last} {self.rng.choice(TRADES)} {n} ApS", f"ordre{n}@{last.lower()}{n}.example"
        else:
            name, key = f"{first} {last}{n}", f"{first.lower()}.{n}@post.example"
        planned = Planned(kind, key.replace("ø", "o").replace("æ", "ae"), name, made_on)
        for side in (CRM, BILLY) if made_on == "both" else (made_on,):
            # the second side of a shared record sometimes differs in one field: the first sync must settle it
            other = self.phone() if side == BILLY and self.rng.random() < 0.3 else phone
            if side == CRM:
                self._crm_make(planned, street, city, postcode, other)
            else:
                self._billy_make(planned, street, city, postcode, other)
        self.made.records.append(planned)
        self.made.counts[f"{kind}, made in {made_on}"] += 1
        return planned

    def _crm_make(self, p: Planned, street: str, city: str, postcode: str, phone: str) -> None:
        if p.kind == "organization":
            self.crm.add_account(p.name, email1=p.key, phone=phone, bill_street=street, bill_city=city,
                                 bill_code=postcode, bill_country="Denmark")  # fmt: skip
        elif p.kind == "contact":
            first, _, last = p.name.partition(" ")
            self.crm.add_contact(last, firstname=first, email=p.key, phone=phone, mailingstreet=street,
                                 mailingcity=city, mailingzip=postcode, mailingcountry="Denmark")  # fmt: skip
        else:
            product = self.crm.add_product(p.name, unit_price=self.price())
            p.key = str(product["product_no"])  # Simply CRM numbers its products itself (PRO1, ...)
            self.products[p.key] = product

    def _billy_make(self, p: Planned, street: str, city: str, postcode: str, phone: str) -> None:
        if p.kind == "product":
            self.billy.add_product(p.name, {"DKK": self.price()}, org=self.token, productNo=p.key)
            return
        kind = "company" if p.kind == "organization" else "person"
        self.billy.add_contact(p.name, "DK", persons=[(p.name if kind == "person" else None, p.key)], org=self.token,
                               type=kind, phone=phone, street=street, cityText=city, zipcodeText=postcode)  # fmt: skip

    def phone(self) -> str:
        return f"+45 {self.rng.randint(20, 99)} {self.rng.randint(10, 99)} {self.rng.randint(10, 99)} 00"

    def price(self) -> str:
        return f"{Decimal(self.rng.randint(5000, 2500000)) / 100:.2f}"

    # -- where a record is now --------------------------------------------------------------------------------
    def index(self) -> dict[tuple[str, str], dict[str, str]]:
        """(kind, key) → {side: id} of the live records both sandboxes hold now, by natural key (a product made
        in Billy is found in the CRM by its name: Simply CRM numbers its products itself)."""
        found: dict[tuple[str, str], dict[str, str]] = {}
        names = {p.name: p.key for p in self.made.records if p.kind == "product"}
        for row in self.crm.records("Accounts"):
            found.setdefault(("organization", str(row.get("email1") or "").lower()), {})[CRM] = row["id"]
        for row in self.crm.records("Contacts"):
            found.setdefault(("contact", str(row.get("email") or "").lower()), {})[CRM] = row["id"]
        for row in self.crm.records("Products"):
            key = str(row.get("product_no") or "")
            key = key if key.startswith("BG-") else names.get(str(row.get("productname")), key)
            found.setdefault(("product", key), {})[CRM] = row["id"]
        contacts = {c["id"]: c for c in self.billy.records("contacts", self.token)}
        for person in self.billy.records("contactPersons", self.token):
            contact = contacts.get(person.get("contactId"))
            if contact is not None and person.get("isPrimary"):
                kind = "organization" if contact["type"] == "company" else "contact"
                found.setdefault((kind, str(person.get("email") or "").lower()), {})[BILLY] = contact["id"]
        for product in self.billy.records("products", self.token):
            found.setdefault(("product", str(product.get("productNo") or "")), {})[BILLY] = product["id"]
        return found

    # -- a wave of changes ------------------------------------------------------------------------------------
    def wave(self, size: int) -> Wave:
        """``size`` changes on records both sides hold: a fifth conflicts, a fifth different fields on each side,
        the rest edits on one side, and a few deletions."""
        index = self.index()
        live = [p for p in self.made.records if not p.deleted_on and len(index.get((p.kind, p.key), {})) == 2]
        chosen = self.rng.sample(live, min(size, len(live)))
        wave = Wave()
        for p in chosen:
            ids = index[(p.kind, p.key)]
            roll = self.rng.random()
            if roll < 0.2:
                wave.before += self._conflict(p, ids)
            elif roll < 0.4:
                wave.before += self._different_fields(p, ids)
            elif roll < 0.9 or p.invoiced or not self.linked(p.kind, ids[CRM]):  # only a linked record is deleted
                side = self.rng.choice((CRM, BILLY))
                name = self.rng.choice(sorted(EDITABLE[p.kind]))
                wave.during.append(self._edit(p, ids, side, {name: self.value(p.kind, name)}))
                self.made.edits[f"edited in {side}"] += 1
            else:
                wave.during.append(self._delete(p, ids, self.rng.choice((CRM, BILLY))))
        return wave

    def _conflict(self, p: Planned, ids: dict[str, str]) -> list[Callable[[], None]]:
        name = self.rng.choice(sorted(set(EDITABLE[p.kind]) - {"unit_price"}))  # a price is compared as a number
        crm_field, billy_field = EDITABLE[p.kind][name]
        held = {str(self.crm.retrieve(ids[CRM]).get(crm_field) or ""),
                str(self.billy.record(PLURAL[p.kind], ids[BILLY], self.token).get(billy_field) or "")}  # fmt: skip
        values = {CRM: self.value(p.kind, name), BILLY: self.value(p.kind, name)}
        if values[CRM] == values[BILLY] or held & set(values.values()):
            return []  # a side given what it holds already did not change: no conflict
        edits = [self._edit(p, ids, side, {name: values[side]}) for side in (CRM, BILLY)]
        self.made.conflicts.append(PlannedConflict(p.kind, p.key, name, values, self.made.touched[(p.key, name)]))
        self.made.edits["same field on both sides"] += 1
        return edits

    def _different_fields(self, p: Planned, ids: dict[str, str]) -> list[Callable[[], None]]:
        crm_field, billy_field = self.rng.sample(sorted(EDITABLE[p.kind]), 2)
        self.made.edits["different fields on both sides"] += 1
        return [
            self._edit(p, ids, CRM, {crm_field: self.value(p.kind, crm_field)}),
            self._edit(p, ids, BILLY, {billy_field: self.value(p.kind, billy_field)}),
        ]

    def value(self, kind: str, name: str) -> str:
        values: dict[str, Callable[[], str]] = {
            "phone": self.phone,
            "street": lambda: f"{self.rng.choice(STREETS)} {self.rng.randint(100, 199)}",
            "city": lambda: self.rng.choice(CITIES)[0],
            "postcode": lambda: str(self.rng.randint(1000, 9990)),
            "unit_price": self.price,
            "description": lambda: f"Model {self.rng.randint(1000, 9999)}, {self.rng.choice(('rustfri', 'sort'))}",
        }
        if name in values:
            return values[name]()
        self.names_given += 1  # unique: a name is a key where nothing stronger is filled in
        return f"{self.rng.choice(LAST)} {self.rng.choice(TRADES)} {1000 + self.names_given} ApS"

    def _edit(self, p: Planned, ids: dict[str, str], side: str, fields: dict[str, str]) -> Callable[[], None]:
        for name in fields:
            self.made.touched[(p.key, name)] += 1

        def edit() -> None:
            if side == CRM:
                self.crm.change_by_person(ids[CRM], {EDITABLE[p.kind][n][0]: v for n, v in fields.items()})
                return
            body: dict[str, Any] = {EDITABLE[p.kind][n][1]: v for n, v in fields.items()}
            if "prices" in body:
                body["prices"] = [{"unitPrice": Decimal(body["prices"]), "currencyId": "DKK"}]
            self.billy.change_by_person(PLURAL[p.kind], ids[BILLY], org=self.token, **body)

        return edit

    def _delete(self, p: Planned, ids: dict[str, str], side: str) -> Callable[[], None]:
        p.deleted_on = side
        self.made.edits[f"deleted in {side}"] += 1

        def delete() -> None:
            if side == CRM:
                self.crm.delete_by_person(ids[CRM])
            else:
                self.billy.delete_record(PLURAL[p.kind], ids[BILLY], org=self.token)

        return delete

    # -- invoices and payments --------------------------------------------------------------------------------
    def invoices(self, count: int, day: str, due: str) -> None:
        """``count`` approved CRM invoices at 25 % VAT for organizations the CRM holds, of products it holds."""
        index = self.index()
        customers = [p for p in self.made.records if p.kind == "organization" and not p.deleted_on
                     and CRM in index.get(("organization", p.key), {})]  # fmt: skip
        products = [p for p in self.made.records if p.key in self.products and not p.deleted_on]
        for _ in range(count if customers and products else 0):
            customer = self.rng.choice(customers)
            customer.invoiced = True
            lines = []
            for product in self.rng.sample(products, min(len(products), self.rng.randint(1, 3))):
                product.invoiced = True
                discount = self.rng.choice(("", "", "5", "10"))
                lines.append(line(self.products[product.key], str(self.rng.randint(1, 4)), discount_percent=discount))
            invoice = self.crm.add_invoice(
                f"Ordre {len(self.made.invoices) + 1}", index[("organization", customer.key)][CRM], lines,
                invoicestatus="Approved", invoicedate=day, duedate=due, hdnTaxType="individual",
            )  # fmt: skip
            self.made.invoices[invoice["id"]] = invoice["invoice_no"]

    def payments(self, share: float) -> int:
        """A share of the booked, unpaid invoices is paid in full in Billy; returns how many."""
        numbers = set(self.made.invoices.values())
        invoices = self.billy.records("invoices", self.token)
        open_ = [i for i in invoices if i["state"] == "approved" and not i.get("isPaid") and i["invoiceNo"] in numbers]
        chosen = self.rng.sample(open_, round(len(open_) * share))
        for invoice in chosen:
            self.billy.register_payment(invoice["id"], org=self.token)
            self.made.paid.add(str(invoice["invoiceNo"]))
        return len(chosen)
