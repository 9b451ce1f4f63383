"""The workload of a Bizzcloud → e-Boekhouden chaos run, from one seeded generator: what a Dutch shop with a till
and a back office creates in a day, in batches.

Kinds: invoices at 21, 9 and 0 % (now and then a price-included 21 % line) with discounts, intra-EU supplies to
businesses with a VAT number, exports; credit invoices (a full reverse of an invoice of the same batch); till
sales paid cash (with change), by PIN, or both; till sales invoiced to a customer; drafts that are posted or
cancelled a batch later. Everything is made through the sandbox's Python helpers, as the shop's staff would in
Bizzcloud's screens, so no vendor fault touches it.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.bizzcloud.accounting import compute_taxes
from devkit.sandboxes.bizzcloud.store import cents, to_decimal

if TYPE_CHECKING:
    from devkit.sandboxes.bizzcloud.sandbox import BizzcloudSandbox

HIGH, LOW, ZERO = "Sales/turnover high", "Sales/turnover low 9%", "Sales/turnover untaxed (zero rate)"
HIGH_INCLUDED = "Sales/turnover high (incl. VAT)"
EU_GOODS, EU_SERVICES, EXPORT = (
    "Export sales within EU (products)",
    "Export sales within EU (services)",
    "Export sales outside EU",
)
PRODUCTS = {1: "19.99", 2: "24.95", 3: "95.00", 4: "25.00"}
"""Product id → list price (T-shirt 21 %, novel 9 %, consultancy hour 21 %, gift voucher 0 %: the sandbox's models)."""
DISCOUNTS = (Decimal(0), Decimal(0), Decimal(0), Decimal(5), Decimal(10), Decimal("12.5"), Decimal(15), Decimal(33))
KINDS = (
    ("invoice", 40),
    ("draft", 9),
    ("credit invoice", 8),
    ("till cash", 15),
    ("till PIN", 14),
    ("till cash and PIN", 6),
    ("invoiced till sale", 8),
)

# (name, country, VAT number or "", is a company); e-mail and code are made from the index
CUSTOMERS = (
    ("Bakkerij Jansen", "NL", "NL123456789B01", True),
    ("Fietsenmaker De Spaak", "NL", "NL001234567B02", True),
    ("Marieke de Vries", "NL", "", False),
    ("Pieter Bakker", "NL", "", False),
    ("Café Het Hoekje", "NL", "NL002345678B03", True),
    ("Fahrrad Müller GmbH", "DE", "DE811234567", True),
    ("Boulangerie Dupont SARL", "FR", "FR40303265045", True),
    ("Brouwerij Peeters BV", "BE", "BE0123456749", True),
    ("Smith Cycles Inc.", "US", "", True),
    ("Thames Books Ltd", "GB", "", True),
)
EU = {"DE", "FR", "BE", "ES", "IT", "AT", "LU"}


@dataclass
class Created:
    """What the generator made, by kind, and what it still has to finish next batch."""

    counts: Counter[str] = field(default_factory=Counter)
    drafts: list[int] = field(default_factory=list)
    """Draft invoices waiting for the next batch: posted or cancelled then."""

    @property
    def total(self) -> int:
        return sum(self.counts[kind] for kind, _ in KINDS)


class DocumentMaker:
    """Makes batches of documents in a BizzcloudSandbox from one seeded generator."""

    def __init__(self, bizzcloud: BizzcloudSandbox, seed: int) -> None:
        self.bizzcloud = bizzcloud
        self.rng = random.Random(seed)
        self.created = Created()
        self.customers: list[tuple[int, str]] = []
        """(partner id, country code)."""

    def add_customers(self) -> None:
        countries = {row["code"]: row["id"] for row in self.bizzcloud.records("res.country")}
        for index, (name, country, vat, company) in enumerate(CUSTOMERS, start=1):
            fields: dict[str, Any] = {"name": name, "email": f"klant{index}@voorbeeld-{country.lower()}.test"}
            fields |= {"is_company": company, "country_id": countries[country], "city": "Plaats", "zip": "1000"}
            fields |= {"street": f"Straat {index}", "ref": f"D{1000 + index}"}
            if vat:
                fields["vat"] = vat
            self.customers.append((self.bizzcloud.add_partner(**fields), country))

    def batch(self, size: int) -> None:
        """Finish last batch's drafts, then make ``size`` new documents."""
        drafts, self.created.drafts = self.created.drafts, []
        for move_id in drafts:
            if self.rng.random() < 0.6:
                self.bizzcloud.post(move_id)
                self.created.counts["draft posted later"] += 1
            else:
                self.bizzcloud.cancel(move_id)
                self.created.counts["draft cancelled"] += 1
        made: list[int] = []
        weights = [weight for _, weight in KINDS]
        for _ in range(size):
            kind = self.rng.choices([name for name, _ in KINDS], weights)[0]
            if kind == "credit invoice" and not made:
                kind = "invoice"
            self.created.counts[kind] += 1
            if kind == "invoice":
                made.append(self.invoice())
            elif kind == "draft":
                self.created.drafts.append(self.invoice(post=False))
            elif kind == "credit invoice":
                self.bizzcloud.reverse(made.pop(self.rng.randrange(len(made))))
            else:
                self.till_sale(kind)
        if self.rng.random() < 0.3:
            self.bizzcloud.close_session()  # the day's till orders turn done: changed, so read again, booked once

    # -- invoices -------------------------------------------------------------------------------------------------
    def invoice(self, *, post: bool = True) -> int:
        partner, country = self.rng.choice(self.customers)
        lines = [self.invoice_line(country) for _ in range(self.rng.randint(1, 4))]
        return self.bizzcloud.create_invoice(partner, lines, post=post)

    def invoice_line(self, country: str) -> dict[str, Any]:
        product = self.rng.choice(list(PRODUCTS))
        if country in EU:
            tax = EU_SERVICES if product == 3 else EU_GOODS
        elif country != "NL":
            tax = EXPORT
        else:
            tax = self.rng.choices([HIGH, LOW, ZERO, HIGH_INCLUDED], [55, 25, 12, 8])[0]
        return {
            "product_id": product,
            "quantity": self.quantity(),
            "price_unit": self.price(product),
            "tax_names": [tax],
            "discount": self.rng.choice(DISCOUNTS),
        }

    def quantity(self) -> Decimal:
        if self.rng.random() < 0.15:
            return Decimal(self.rng.randint(1, 16)) / 4  # hours in quarters
        return Decimal(self.rng.randint(1, 12))

    def price(self, product: int) -> Decimal:
        if self.rng.random() < 0.5:
            return Decimal(PRODUCTS[product])
        return Decimal(self.rng.randint(99, 25000)) / 100

    # -- the till -------------------------------------------------------------------------------------------------
    def till_sale(self, kind: str) -> int:
        lines = [
            {
                "product_id": product,
                "qty": Decimal(self.rng.randint(1, 4)),
                "price_unit": self.price(product),
                "discount": self.rng.choice(DISCOUNTS),
            }
            for product in (self.rng.choice(list(PRODUCTS)) for _ in range(self.rng.randint(1, 3)))
        ]
        total = self.till_total(lines)
        if kind == "invoiced till sale":
            partner = self.rng.choice([p for p, country in self.customers if country == "NL"])
            return self.bizzcloud.create_pos_order(lines, [("PIN", total)], partner_id=partner, invoice=True)
        partner_id = self.rng.choice([p for p, c in self.customers if c == "NL"]) if self.rng.random() < 0.2 else None
        if kind == "till cash":
            payments = [("Cash", self.handed_over(total))]
        elif kind == "till PIN":
            payments = [("PIN", total)]
        else:
            by_card = cents(total * Decimal(self.rng.randint(20, 80)) / 100)
            payments = [("PIN", by_card), ("Cash", self.handed_over(total - by_card))]
        return self.bizzcloud.create_pos_order(lines, payments, partner_id=partner_id)

    def handed_over(self, amount: Decimal) -> Decimal:
        """Cash the customer hands over: the exact amount now and then, else rounded up to a note (change back)."""
        if self.rng.random() < 0.2:
            return amount
        note = Decimal(self.rng.choice((5, 10, 20, 50)))
        return (amount / note).to_integral_value(rounding=ROUND_CEILING) * note + (note if amount % note == 0 else 0)

    def till_total(self, lines: list[dict[str, Any]]) -> Decimal:
        """The order's amount_total as the sandbox's till computes it (its pos.create_order), to pay it exactly."""
        books = self.bizzcloud.books
        untaxed = taxes = Decimal(0)
        for line in lines:
            product = books.data["product.product"][line["product_id"]]
            rows = [books.data["account.tax"][tax] for tax in product.get("taxes_id", [])]
            excluded, included = compute_taxes(
                to_decimal(line["price_unit"]), to_decimal(line["qty"]), to_decimal(line["discount"]), rows
            )
            untaxed += excluded
            taxes += included - excluded
        return cents(untaxed) + cents(taxes)
