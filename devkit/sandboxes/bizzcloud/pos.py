"""Till orders (``point_of_sale``, Odoo 17) as the sandbox books them: a paid order, its lines and payments.

Line amounts use ``compute_all`` on ``price_unit * (1 - discount/100)``, as ``_compute_amount_line_all`` does;
the order's ``amount_tax`` is the rounded sum of the line taxes and ``amount_total = amount_untaxed + amount_tax``
(``_compute_batch_amount_all``). Cash paid above the total becomes a negative ``is_change`` payment, so
``amount_paid`` equals the total and ``amount_return`` holds the change. Invoicing an order needs a customer
("Please provide a partner for the sale.") and gives a posted invoice that the till payments settle.
Names: ``Shop/0001`` (config name + sequence), receipt ``Order 00001-001-0001`` (session, login, sequence).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.bizzcloud.accounting import EUR, compute_taxes
from devkit.sandboxes.bizzcloud.errors import UserError
from devkit.sandboxes.bizzcloud.store import cents, to_decimal

if TYPE_CHECKING:
    from devkit.sandboxes.bizzcloud.accounting import Books


def open_session(books: Books) -> int:
    sessions = books.data["pos.session"]
    for session_id, session in sessions.items():
        if session["state"] == "opened":
            return session_id
    return books.insert("pos.session", {"name": f"POS/{len(sessions) + 1:05d}", "config_id": 1, "state": "opened"})


def close_session(books: Books) -> None:
    """Closing the session marks its paid (not invoiced) orders done, as Odoo does when it posts the session."""
    for session_id, session in books.data["pos.session"].items():
        if session["state"] != "opened":
            continue
        books.write("pos.session", [session_id], {"state": "closed"})
        for order_id, order in books.data["pos.order"].items():
            if order["session_id"] == session_id and order["state"] == "paid":
                books.write("pos.order", [order_id], {"state": "done"})


def tax_ids(books: Books, line: dict[str, Any], product: dict[str, Any]) -> list[int]:
    if "tax_ids" in line:
        return list(line["tax_ids"])
    if "tax_names" in line:
        return [tax_id(books, name) for name in line["tax_names"]]
    return list(product.get("taxes_id", []))


def tax_id(books: Books, name: str) -> int:
    for record_id, tax in books.data["account.tax"].items():
        if name in (tax["name"], tax.get("description")):
            return record_id
    raise KeyError(f"no tax named {name!r}")


def create_order(
    books: Books,
    lines: list[dict[str, Any]],
    payments: list[tuple[str, Any]],
    partner_id: int | None = None,
    invoice: bool = False,
) -> int:
    if invoice and not partner_id:
        raise UserError("Please provide a partner for the sale.")
    figures = []
    for line in lines:
        product = books.data["product.product"][line["product_id"]]
        price = to_decimal(line.get("price_unit", product["list_price"]))
        qty, discount = to_decimal(line.get("qty", 1)), to_decimal(line.get("discount", 0))
        line_taxes = tax_ids(books, line, product)
        excluded, included = compute_taxes(price, qty, discount, [books.data["account.tax"][t] for t in line_taxes])
        figures.append((line["product_id"], price, qty, discount, line_taxes, excluded, included))
    untaxed = sum((figure[5] for figure in figures), Decimal(0))
    taxes = sum((figure[6] - figure[5] for figure in figures), Decimal(0))
    total = cents(untaxed) + cents(taxes)
    paid = sum((cents(to_decimal(amount)) for _, amount in payments), Decimal(0))
    if paid < total:
        raise ValueError(f"order not fully paid: {paid} of {total}")
    session_id = open_session(books)
    number = len(books.data["pos.order"]) + 1
    order_id = books.insert(
        "pos.order",
        {
            "name": f"Shop/{number:04d}",
            "pos_reference": f"Order {session_id:05d}-001-{number:04d}",
            "date_order": books.now(),
            "partner_id": partner_id,
            "state": "paid",
            "session_id": session_id,
            "currency_id": EUR,
        },
    )
    for product_id, price, qty, discount, line_taxes, excluded, included in figures:
        values = {"order_id": order_id, "product_id": product_id, "qty": qty, "price_unit": price}
        values |= {"full_product_name": books.label("product.product", product_id), "discount": discount}
        values |= {"tax_ids": line_taxes, "price_subtotal": excluded, "price_subtotal_incl": included}
        books.insert("pos.order.line", values)
    change = _book_payments(books, order_id, payments, total)
    books.data["pos.order"][order_id] |= {"amount_total": total, "amount_tax": cents(taxes)}
    books.data["pos.order"][order_id] |= {"amount_paid": total, "amount_return": change}
    if invoice:
        _invoice(books, order_id)
    return order_id


def _book_payments(books: Books, order_id: int, payments: list[tuple[str, Any]], total: Decimal) -> Decimal:
    methods = {method["name"]: method_id for method_id, method in books.data["pos.payment.method"].items()}
    paid = Decimal(0)
    for method_name, amount in payments:
        values = {"pos_order_id": order_id, "amount": cents(to_decimal(amount)), "is_change": False}
        values |= {"payment_method_id": methods[method_name], "payment_date": books.now()}
        books.insert("pos.payment", values)
        paid += cents(to_decimal(amount))
    change = paid - total
    if change:
        if not any(books.data["pos.payment.method"][methods[name]]["is_cash_count"] for name, _ in payments):
            raise ValueError("only cash gives change")
        values = {"pos_order_id": order_id, "amount": -change, "is_change": True}
        values |= {"payment_method_id": methods["Cash"], "payment_date": books.now()}
        books.insert("pos.payment", values)
    return change


def _invoice(books: Books, order_id: int) -> None:
    order = books.data["pos.order"][order_id]
    line_rows = [books.data["pos.order.line"][i] for i in books.raw("pos.order", order_id, "lines")]
    commands = [
        (0, 0, {"product_id": r["product_id"], "quantity": r["qty"], "price_unit": r["price_unit"]}) for r in line_rows
    ]
    for command, row in zip(commands, line_rows, strict=True):
        command[2].update({"discount": row["discount"], "tax_ids": [(6, 0, row["tax_ids"])]})
    move_id = books.create(
        "account.move",
        {
            "move_type": "out_invoice",
            "partner_id": order["partner_id"],
            "invoice_date": books.today(),
            "ref": order["name"],
            "invoice_line_ids": commands,
        },
    )
    books.post([move_id])
    books.settle(move_id, order["amount_total"])  # reconciled with the till payments, no account.payment
    order |= {"state": "invoiced", "account_move": move_id}
    books.touch("pos.order", order_id)
