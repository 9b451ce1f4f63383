"""Order batches for the CCV Shop sandbox: a realistic Dutch demo day and seeded chaos.

``demo_orders`` places twelve orders of "De Leesplank", a small Dutch book and gift shop, each of them a case
the CCV Shop → accounting koppeling must book right (see the docstring of the function). ``chaos_orders``
places n varied but valid orders from a seeded random generator, for load and chaos runs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.ccvshop.sandbox import RowSpec

if TYPE_CHECKING:
    from datetime import datetime

    from devkit.sandboxes.ccvshop.sandbox import CcvShopSandbox, Shop

D = Decimal
WAIT_FOR_PAYMENT = 4
SENT = 5


def _person(first: str, last: str, email: str, street: str, number: int, zipcode: str, city: str) -> dict[str, Any]:
    return {
        "email": email,
        "billingaddress": {
            "first_name": first,
            "last_name": last,
            "street": street,
            "housenumber": number,
            "zipcode": zipcode,
            "city": city,
            "telephone": "0201234567",
        },
    }


JAN = _person("Jan", "Jansen", "j.jansen@example.nl", "Voorbeeldstraat", 3, "1011AB", "Amsterdam")
JAN_SHOUTING = {**JAN, "email": "J.Jansen@Example.NL"}  # the same customer, typed differently at checkout
FATIMA = _person("Fatima", "el Amrani", "fatima.elamrani@example.nl", "Kanaalweg", 17, "3526KL", "Utrecht")
SANNE = _person("Sanne", "Bakker", "sanne.bakker@example.nl", "Lindelaan", 8, "9712CD", "Groningen")
DAAN = _person("Daan", "de Wit", "daan.dewit@example.nl", "Havenstraat", 112, "2512AA", "Den Haag")
LOTTE = _person("Lotte", "Visser", "lotte.visser@example.nl", "Molenweg", 5, "5611EF", "Eindhoven")
KORENSCHOOF = {
    "email": "inkoop@korenschoof.example.nl",
    "customertype": "b2b",
    "btw": "NL001234567B01",
    "kvk": "12345678",
    "reference": "PO-2026-0042",
    "billingaddress": {
        "first_name": "Pieter",
        "last_name": "de Vries",
        "company": "Bakkerij De Korenschoof B.V.",
        "street": "Industrieweg",
        "housenumber": 21,
        "housenumber_suffix": "B",
        "zipcode": "3811LP",
        "city": "Amersfoort",
        "telephone": "0331234567",
    },
}

ROMAN = RowSpec("Roman: De Avond is Ongemak", 1, D("22.99"), tax=9, product_number="BK-1001")
KOOKBOEK = RowSpec("Kookboek Hollandse Pot", 1, D("29.95"), tax=9, product_number="BK-2040")
KINDERBOEK = RowSpec("Kinderboek Nijntje", 2, D("12.50"), tax=9, product_number="BK-3007")
TOTE = RowSpec("Katoenen tas Leesplank", 1, D("12.95"), tax=21, product_number="MR-0100")
MOK = RowSpec("Mok Boekenwurm", 2, D("9.95"), tax=21, product_number="MR-0210")
KAART = RowSpec("Wenskaart", 3, D("2.95"), tax=21, product_number="MR-0300")
KOMBUCHA = RowSpec("Kombucha 0,75 l", 2, D("4.49"), tax=9, product_number="FD-0010")
STATIEGELD = RowSpec("Statiegeld fles", 2, D("0.15"), tax=0, product_type="deposit")


def demo_orders(sandbox: CcvShopSandbox, shop: Shop, *, start: datetime) -> list[dict[str, Any]]:
    """Place the demo batch (12 orders, an hour apart from ``start``) and return the orders as they end.

    Cases: a returning customer (three orders, once with the e-mail in other letter case), a B2B customer with
    company, btw and KvK numbers, mixed 21 % and 9 % rows, shipping, coupon ``LEZEN10`` on a mixed-VAT order, a
    cart discount, iDEAL and AfterPay fees, gift wrap as extra costs, a 0 % deposit (statiegeld) row, credit
    points, one order left unpaid (status 4, not to be booked) and exactly one completed and paid order whose
    total_price is 0.05 more than its parts. All others end completed (status 7) and paid.
    """
    shipping = D("4.95")
    plan: list[tuple[dict[str, Any], list[RowSpec], dict[str, Any]]] = [
        (JAN, [ROMAN], {"shipping": shipping, "paymethod": "Ideal"}),
        (FATIMA, [KOOKBOEK, MOK], {"shipping": shipping, "paymethod": "Ideal", "paymethod_costs": D("0.35")}),
        (
            KORENSCHOOF,
            [RowSpec("Kookboek Hollandse Pot", 10, D("29.95"), discount=D("3.00"), tax=9, product_number="BK-2040")],
            {"shipping": D("9.95"), "paymethod": "BankTransfer"},
        ),
        (
            SANNE,
            [ROMAN, KINDERBOEK, TOTE],
            {"shipping": shipping, "paymethod": "Ideal", "coupon_code": "LEZEN10", "coupon_discount": D("10.00")},
        ),
        (DAAN, [KOOKBOEK, KAART], {"shipping": shipping, "paymethod": "PayPal", "cart_discount": D("5.00")}),
        (
            JAN_SHOUTING,
            [KINDERBOEK, MOK],
            {"shipping": shipping, "paymethod": "AfterPay", "paymethod_costs": D("1.95")},
        ),
        (
            LOTTE,
            [ROMAN, KAART],
            {
                "shipping": shipping,
                "paymethod": "Ideal",
                "extra_costs": D("2.50"),
                "extra_costs_description": "Cadeauverpakking",
            },
        ),
        (FATIMA, [KOMBUCHA, STATIEGELD, KINDERBOEK], {"shipping": shipping, "paymethod": "Ideal"}),
        (DAAN, [TOTE, MOK], {"shipping": shipping, "paymethod": "BankTransfer", "status": WAIT_FOR_PAYMENT}),
        # Rows 2 × 24.95 = 49.90 plus shipping 4.95 = 54.85; the shop claims 54.90.
        (
            SANNE,
            [RowSpec("Leesclubpakket", 2, D("24.95"), tax=9, product_number="BK-9000")],
            {"shipping": shipping, "paymethod": "Ideal", "total_price_override": D("54.90")},
        ),
        (JAN, [KOOKBOEK], {"shipping": D("0"), "paymethod": "Ideal", "credit_point_discount": D("2.50")}),
        (KORENSCHOOF, [MOK, KAART, TOTE], {"shipping": shipping, "paymethod": "BankTransfer"}),
    ]
    placed = []
    for hour, (customer, rows, options) in enumerate(plan):
        order = sandbox.add_order(customer, rows, shop=shop, create_date=start + timedelta(hours=hour), **options)
        placed.append(order)
    for index, order in enumerate(placed):
        if order["status"] == WAIT_FOR_PAYMENT:
            continue
        if index % 4 == 1:  # some are shipped with track and trace before they are completed
            sandbox.set_status(order["id"], SENT)
            sandbox.set_track_and_trace(order["id"], f"3SLEES{order['id']}", "PostNL")
        sandbox.complete_and_pay(order["id"])
    return [sandbox.get_order(order["id"]) for order in placed]


@dataclass(frozen=True)
class _Product:
    name: str
    price: Decimal
    tax: int
    product_type: str = "product"


_CATALOGUE = (
    _Product("Roman: De Avond is Ongemak", D("22.99"), 9),
    _Product("Kookboek Hollandse Pot", D("29.95"), 9),
    _Product("Kinderboek Nijntje", D("12.50"), 9),
    _Product("Atlas van Nederland", D("49.00"), 9),
    _Product("Katoenen tas Leesplank", D("12.95"), 21),
    _Product("Mok Boekenwurm", D("9.95"), 21),
    _Product("Wenskaart", D("2.95"), 21),
    _Product("Leeslampje", D("17.49"), 21),
    _Product("Kombucha 0,75 l", D("4.49"), 9),
    _Product("Statiegeld fles", D("0.15"), 0, "deposit"),
)
_CUSTOMERS = (JAN, JAN_SHOUTING, FATIMA, SANNE, DAAN, LOTTE, KORENSCHOOF)
_PAYMETHOD_COSTS = {"Ideal": D("0.35"), "AfterPay": D("1.95"), "PayPal": D("0"), "BankTransfer": D("0")}


def _chaos_rows(rng: random.Random) -> tuple[list[RowSpec], Decimal]:
    """Rows and what they come to (incl. VAT), so a coupon never exceeds the goods."""
    rows, goods = [], D(0)
    for product in rng.sample(_CATALOGUE, rng.randint(1, 4)):
        discount = D("1.00") if product.price > 10 and rng.random() < 0.2 else D(0)
        count = rng.randint(1, 3)
        rows.append(RowSpec(product.name, count, product.price, discount, product.tax, product.product_type))
        goods += (product.price - discount) * count
    return rows, goods


def chaos_orders(
    sandbox: CcvShopSandbox, shop: Shop, n: int, seed: int, *, start: datetime | None = None
) -> list[dict[str, Any]]:
    """Place ``n`` valid orders drawn from ``random.Random(seed)``, a minute apart from ``start`` (default now).

    About three in four end completed and paid; the rest stay new, paid but not completed, or cancelled.
    """
    rng = random.Random(seed)
    first = start or sandbox.clock() - timedelta(minutes=n)
    placed = []
    for index in range(n):
        rows, goods = _chaos_rows(rng)
        paymethod = rng.choice(sorted(_PAYMETHOD_COSTS))
        options: dict[str, Any] = {
            "shipping": rng.choice((D("0"), D("4.95"), D("6.95"))),
            "paymethod": paymethod,
            "paymethod_costs": _PAYMETHOD_COSTS[paymethod],
        }
        if rng.random() < 0.2:
            options |= {"coupon_code": "CHAOS5", "coupon_discount": min(D("5.00"), (goods / 5).quantize(D("0.01")))}
        if rng.random() < 0.1:
            options |= {"extra_costs": D("2.50"), "extra_costs_description": "Cadeauverpakking"}
        customer = rng.choice(_CUSTOMERS)
        order = sandbox.add_order(customer, rows, shop=shop, create_date=first + timedelta(minutes=index), **options)
        roll = rng.random()
        if roll < 0.75:
            order = sandbox.complete_and_pay(order["id"])
        elif roll < 0.85:
            order = sandbox.set_paid(order["id"])
        elif roll < 0.92:
            order = sandbox.set_status(order["id"], 8)
        placed.append(order)
    return placed
