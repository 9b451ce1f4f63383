"""The deals of Pipedrive → QuickBooks Online, from one seeded generator: what a Dutch B2B sales team closes.

A deal has an organization with its contact person (now and then only one of the two), one to four products at
21, 9 or 0 % VAT, prices without VAT (``exclusive``, as Dutch B2B prices are quoted) or without any VAT (``none``),
and discounts as a percentage of the unit price or as an amount off the whole line. ``expected`` computes the
invoice a deal must become, per VAT rate, the way the connector's README says it is booked (net lines rounded to
cents, VAT per rate on the net lines), from the deal's own numbers: the report compares QuickBooks against it.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from devkit.sandboxes.pipedrive.sandbox import ProductLine

if TYPE_CHECKING:
    from devkit.sandboxes.pipedrive.sandbox import PipedriveSandbox

REALM = "9130000000004242"
"""The QuickBooks company of every Pipedrive → QuickBooks connection in the dev kit (a Dutch company, EUR)."""
CENT, HUNDRED = Decimal("0.01"), Decimal(100)
ADDRESS = {"route": "Stationsplein", "street_number": "45", "postal_code": "3511 ED", "locality": "Utrecht",
           "country": "Nederland"}  # fmt: skip
CUSTOMERS = (
    ("Van den Berg Installatietechniek B.V.", "Eva van den Berg"),
    ("Bakkerij Jansen B.V.", "Piet Jansen"),
    ("Fietsenmaker De Spaak", "Mila de Vries"),
    ("Café Het Hoekje V.O.F.", "Sem Bakker"),
    ("Drukkerij Peeters B.V.", "Noor Peeters"),
    ("Tuincentrum De Linde", "Daan Visser"),
)
PRODUCTS = (  # name, list price, VAT rate
    ("Warmtepomp 16 kW", "6495.00", 21),
    ("Installatie (uur)", "85.00", 21),
    ("Onderhoudscontract (jaar)", "249.95", 21),
    ("Vakboek installatietechniek", "42.50", 9),
    ("Cursusmap", "18.75", 9),
    ("Cadeaubon", "25.00", 0),
)


def dutch_b2b_deal(pipedrive: PipedriveSandbox, *, deal_id: int | None = None, status: str = "open") -> int:
    """A Dutch B2B deal at two VAT rates: heat pumps with 7.5 % off and hours (21 %), and manuals with an amount
    off the line (9 %); the organization with its contact person. Returns the deal id."""
    org = pipedrive.add_organization("Van den Berg Installatietechniek B.V.", address=ADDRESS)
    person = pipedrive.add_person(
        "Eva van den Berg", emails=[{"value": "eva@vandenberg-installatie.nl", "primary": True}], org_id=org["id"]
    )
    lines = [
        ProductLine("Warmtepomp Daikin Altherma 3 H HT 16 kW", "6495.00", 2, discount="7.5", tax=21),
        ProductLine("Installatie en inregeling (uur)", "85.00", 16, tax=21),
        ProductLine("Onderhoudshandboek", "42.50", 3, discount="10.00", discount_type="amount", tax=9),
    ]
    deal = pipedrive.add_deal(
        "Warmtepompen nieuwbouw Leidsche Rijn", lines, person_id=person["id"], org_id=org["id"], deal_id=deal_id,
        status=status,
    )  # fmt: skip
    return int(deal["id"])


@dataclass(frozen=True)
class Expected:
    """The invoice a deal must become: net and VAT per rate, and the total."""

    net: dict[Decimal, Decimal]
    vat: dict[Decimal, Decimal]

    @property
    def total(self) -> Decimal:
        return sum(self.net.values(), Decimal(0)) + sum(self.vat.values(), Decimal(0))


def expected(lines: list[dict[str, object]]) -> Expected:
    """From a deal's products as ``GET /api/v2/deals/{id}/products`` answers them (prices without VAT or none)."""
    net: dict[Decimal, Decimal] = {}
    for line in lines:
        if line.get("is_enabled") is False:
            continue
        price, quantity = Decimal(str(line["item_price"])), Decimal(str(line["quantity"]))
        discount = Decimal(str(line.get("discount") or 0))
        gross = price * quantity
        off = gross * discount / HUNDRED if line.get("discount_type", "percentage") == "percentage" else discount
        rate = Decimal(0) if line.get("tax_method") == "none" else Decimal(str(line.get("tax") or 0))
        amount = (gross - off).quantize(CENT, rounding=ROUND_HALF_UP)
        net[rate] = net.get(rate, Decimal(0)) + amount
    vat = {rate: (amount * rate / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP) for rate, amount in net.items()}
    return Expected(net, vat)


@dataclass
class Made:
    counts: Counter[str] = field(default_factory=Counter)
    deals: list[int] = field(default_factory=list)
    """Every deal made, in order."""
    refused: set[int] = field(default_factory=set)
    """Deals with neither person nor organization: refused with their reason, never booked."""


class DealMaker:
    """Makes batches of deals in a PipedriveSandbox from one seeded generator."""

    def __init__(self, pipedrive: PipedriveSandbox, seed: int) -> None:
        self.pipedrive = pipedrive
        self.rng = random.Random(seed)
        self.made = Made()
        self.contacts: list[tuple[int, int]] = []
        """(organization id, person id) per customer."""

    def add_customers(self) -> None:
        for index, (organization, person) in enumerate(CUSTOMERS, start=1):
            org = self.pipedrive.add_organization(organization, address=ADDRESS | {"street_number": str(index)})
            email = f"inkoop{index}@klant{index}.nl"
            who = self.pipedrive.add_person(person, emails=[{"value": email, "primary": True}], org_id=org["id"])
            self.contacts.append((int(org["id"]), int(who["id"])))

    def deal(self) -> int:
        """One deal; a few have nobody to invoice (refused), a few only a person or only an organization."""
        org, person = self.rng.choice(self.contacts)
        kind = self.rng.choices(["organization and person", "organization only", "person only", "nobody"],
                                [80, 8, 8, 4])[0]  # fmt: skip
        contacts = {
            "organization and person": {"org_id": org, "person_id": person},
            "organization only": {"org_id": org},
            "person only": {"person_id": person},
            "nobody": {},
        }[kind]
        method = "none" if self.rng.random() < 0.05 else "exclusive"
        lines = [self.line(method) for _ in range(self.rng.randint(1, 4))]
        title = f"Offerte {len(self.made.deals) + 1}"
        deal = int(self.pipedrive.add_deal(title, lines, **contacts)["id"])  # type: ignore[arg-type]
        self.made.counts[f"deal, {kind}"] += 1
        self.made.deals.append(deal)
        if kind == "nobody":
            self.made.refused.add(deal)
        return deal

    def line(self, method: str) -> ProductLine:
        name, price, rate = self.rng.choice(PRODUCTS)
        if self.rng.random() < 0.4:
            price = str(Decimal(self.rng.randint(99, 250000)) / 100)
        quantity = self.rng.choice([1, 1, 2, 3, 5, 10, 16, Decimal("2.5")])
        discount: object = 0
        discount_type = "percentage"
        roll = self.rng.random()
        if roll < 0.25:
            discount = self.rng.choice([5, "7.5", 10, 15, "12.5"])
        elif roll < 0.35:
            discount, discount_type = str(Decimal(self.rng.randint(100, 5000)) / 100), "amount"
            if Decimal(discount) >= Decimal(price) * Decimal(str(quantity)):
                discount = 0
        return ProductLine(name, price, quantity, discount=discount, discount_type=discount_type, tax=rate,  # type: ignore[arg-type]
                           tax_method=method)  # fmt: skip
