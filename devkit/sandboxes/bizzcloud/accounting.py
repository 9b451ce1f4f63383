"""Odoo 17 accounting on top of the in-memory ORM: taxes, invoice totals, posting, payments.

Taxes follow ``account.tax.compute_all`` with the default ``round_per_line``: the line base is
``round(price_unit * (1 - discount/100) * quantity)`` to the cent; price-included percent taxes give
``total_excluded = round(base / (1 + Σincluded%/100))``; every tax amount is ``round(total_excluded * pct/100)``
except the last price-included tax, which takes what is left so that the included total stays the base
(``total_included_checkpoints`` in compute_all). ``price_subtotal``/``price_total`` are total_excluded/included
and the move totals are the sums of the rounded line figures. Rounding is HALF-UP on exact decimals, which is what
``float_round`` aims at. Payment texts are ``account_payment_register.default_get``'s (Odoo 17).
``payment_state`` after a full payment is ``paid`` in community; ``in_payment`` only with ``account_accountant``
(enterprise overrides ``_get_invoice_in_payment_state``): the ``accountant_installed`` switch picks one.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.bizzcloud.errors import UserError
from devkit.sandboxes.bizzcloud.store import Store, cents, to_decimal

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

EUR, INCOME_ACCOUNT, SALES_JOURNAL = 1, 1, 1
_DEFAULTS: dict[str, dict[str, Any]] = {
    "res.partner": {"active": True, "is_company": False, "customer_rank": 0},
    "product.product": {"active": True, "type": "consu"},
    "account.tax": {"active": True, "amount_type": "percent", "type_tax_use": "sale", "price_include": False},
    "account.move": {
        "move_type": "entry",
        "state": "draft",
        "name": "/",
        "journal_id": SALES_JOURNAL,
        "currency_id": EUR,
        "payment_state": "not_paid",
    },
    "account.move.line": {"currency_id": EUR, "display_type": "product", "quantity": Decimal(1), "sequence": 10},
}


def compute_taxes(
    price_unit: Decimal, quantity: Decimal, discount: Decimal, taxes: list[dict[str, Any]]
) -> tuple[Decimal, Decimal]:
    """(total_excluded, total_included) of one line, as compute_all gives them with round_per_line."""
    base = cents(price_unit * (1 - discount / 100) * quantity)
    rates = [(to_decimal(tax["amount"]), bool(tax.get("price_include"))) for tax in taxes]
    included = sum((rate for rate, inc in rates if inc), Decimal(0))
    excluded = cents(base / (1 + included / 100)) if included else base
    amounts = [cents(excluded * rate / 100) for rate, _ in rates]
    last_included = max((i for i, (_, inc) in enumerate(rates) if inc), default=None)
    if last_included is not None:
        others = sum((amounts[i] for i, (_, inc) in enumerate(rates) if inc and i != last_included), Decimal(0))
        amounts[last_included] = base - excluded - others
    return excluded, excluded + sum(amounts, Decimal(0))


class Books(Store):
    def __init__(self, clock: Callable[[], datetime], accountant_installed: bool = False) -> None:
        super().__init__(clock)
        self.accountant_installed = accountant_installed

    # -- ORM hooks -------------------------------------------------------------------------------------------------
    def _prepare(self, model: str, record_id: int, vals: dict[str, Any], creating: bool) -> dict[str, Any]:
        if not creating:
            return vals
        values = _DEFAULTS.get(model, {}) | vals
        if model == "account.move":
            values.setdefault("date", values.get("invoice_date") or self.today())
        if model == "account.move.line":
            move = self.data["account.move"].get(values.get("move_id") or 0, {})
            values.setdefault("partner_id", move.get("partner_id"))
            values.setdefault("account_id", INCOME_ACCOUNT)
            product = self.data["product.product"].get(values.get("product_id") or 0)
            if product:
                values.setdefault("name", self.label("product.product", values["product_id"]))
                values.setdefault("price_unit", product["list_price"])
                values.setdefault("tax_ids", list(product.get("taxes_id", [])))
        return values

    def _recompute(self, model: str, ids: list[int]) -> None:
        if model == "account.move.line":
            moves = {self.data[model][i]["move_id"] for i in ids if i in self.data[model]}
            for line_id in ids:
                self._compute_line(line_id)
            self._recompute("account.move", sorted(moves))
        elif model == "account.move":
            for move_id in ids:
                self._compute_move(move_id)

    def _check_unlink(self, model: str, ids: list[int]) -> None:
        if model in ("account.move", "account.move.line"):
            moves = ids if model == "account.move" else [self.data[model][i]["move_id"] for i in ids]
            if any(self.data["account.move"][m]["state"] == "posted" for m in moves):
                raise UserError("You cannot delete an item linked to a posted entry.")

    def _set(self, model: str, record_id: int, values: dict[str, Any]) -> None:
        """Store recomputed values; the record's write_date moves only when something changed, as in Odoo."""
        record = self.data[model][record_id]
        if any(record.get(name) != value for name, value in values.items()):
            record.update(values)
            self.touch(model, record_id)

    def _compute_line(self, line_id: int) -> None:
        line = self.data["account.move.line"][line_id]
        taxes = [self.data["account.tax"][t] for t in line.get("tax_ids", [])]
        subtotal, total = compute_taxes(
            to_decimal(line.get("price_unit")),
            to_decimal(line.get("quantity")),
            to_decimal(line.get("discount")),
            taxes,
        )
        self._set("account.move.line", line_id, {"price_subtotal": subtotal, "price_total": total})

    def _compute_move(self, move_id: int) -> None:
        move = self.data["account.move"][move_id]
        lines = [self.data["account.move.line"][i] for i in self.raw("account.move", move_id, "invoice_line_ids")]
        lines = [line for line in lines if line.get("display_type") in ("product", None)]
        untaxed = sum((to_decimal(line.get("price_subtotal")) for line in lines), Decimal(0))
        total = sum((to_decimal(line.get("price_total")) for line in lines), Decimal(0))
        residual = max(total - move.get("_paid", Decimal(0)), Decimal(0))
        sign = -1 if move["move_type"] == "out_refund" else 1
        values: dict[str, Any] = {"amount_untaxed": untaxed, "amount_tax": total - untaxed, "amount_total": total}
        values |= {"amount_residual": residual, "amount_total_signed": sign * total}
        values |= {"amount_residual_signed": sign * residual, "payment_state": self._payment_state(move, residual)}
        self._set("account.move", move_id, values)

    def _payment_state(self, move: dict[str, Any], residual: Decimal) -> str:
        if move["state"] != "posted":
            return "not_paid"
        if move.get("_reversed"):
            return "reversed"
        if residual == 0:
            return "in_payment" if self.accountant_installed and move.get("_paid") else "paid"
        return "partial" if move.get("_paid") else "not_paid"

    # -- business methods -----------------------------------------------------------------------------------------
    def post(self, move_ids: list[int]) -> bool:
        for move_id in move_ids:
            move = self.data["account.move"][move_id]
            if move["state"] == "posted":
                raise UserError(f"The entry {move['name']} (id {move_id}) is already posted.")
            if move["move_type"] in ("out_invoice", "out_refund") and not move.get("partner_id"):
                kind = "Customer Invoice" if move["move_type"] == "out_invoice" else "Customer Credit Note"
                raise UserError(f"The field 'Customer' is required, please complete it to validate the {kind}.")
            if not self.raw("account.move", move_id, "invoice_line_ids"):
                raise UserError("You need to add a line before posting.")
            invoice_date = move.get("invoice_date") or self.today()
            values: dict[str, Any] = {"state": "posted", "invoice_date": invoice_date, "date": invoice_date}
            if move.get("name") in (None, "/"):
                values["name"] = self._next_name(move, invoice_date)
            days = self.data["account.payment.term"].get(move.get("invoice_payment_term_id") or 0, {}).get("_days", 0)
            values["invoice_date_due"] = (date.fromisoformat(invoice_date) + timedelta(days=days)).isoformat()
            values.setdefault("payment_reference", move.get("payment_reference") or values.get("name"))
            self._set("account.move", move_id, values)
            self._compute_move(move_id)
        return True

    def _next_name(self, move: dict[str, Any], invoice_date: str) -> str:
        code = self.data["account.journal"][move["journal_id"]]["code"]
        prefix = f"{'R' if move['move_type'] == 'out_refund' else ''}{code}/{invoice_date[:4]}/"
        used = [m["name"] for m in self.data["account.move"].values() if str(m.get("name", "")).startswith(prefix)]
        return f"{prefix}{len(used) + 1:05d}"

    def cancel(self, move_ids: list[int]) -> bool:
        for move_id in move_ids:
            if self.data["account.move"][move_id].get("_paid"):
                raise UserError("You cannot cancel an entry that has been reconciled with a payment.")  # [I] text
            self._set("account.move", move_id, {"state": "cancel"})
            self._compute_move(move_id)
        return True

    def to_draft(self, move_ids: list[int]) -> bool:
        for move_id in move_ids:
            self._set("account.move", move_id, {"state": "draft"})
            self._compute_move(move_id)
        return True

    def open_payment_wizard(self, vals: dict[str, Any], context: dict[str, Any]) -> int:
        """``create`` on account.payment.register: Odoo runs default_get's checks here, before any payment."""
        if context.get("active_model") != "account.move":
            raise UserError(
                "The register payment wizard should only be called on account.move or account.move.line records."
            )
        moves = [self.data["account.move"].get(i) for i in context.get("active_ids") or []]
        if not moves or any(move is None for move in moves):
            raise UserError("You can only register payment for posted journal entries.")
        if any(move["state"] != "posted" for move in moves if move):
            raise UserError("You can only register payment for posted journal entries.")
        due = sum((move["amount_residual"] for move in moves if move), Decimal(0))
        if due == 0:
            raise UserError(
                "You can't register a payment because there is nothing left to pay on the selected journal items."
            )
        first = moves[0] or {}
        bank = min(i for i, j in self.data["account.journal"].items() if j["type"] == "bank")
        defaults = {"amount": due, "payment_date": self.today(), "journal_id": bank, "currency_id": EUR}
        defaults |= {"communication": first.get("payment_reference") or first.get("name")}
        defaults |= {"partner_id": first.get("partner_id")}
        wizard_id = self.create("account.payment.register", defaults | vals)
        self.data["account.payment.register"][wizard_id]["_move_ids"] = list(context["active_ids"])
        return wizard_id

    def create_payments(self, wizard_ids: list[int]) -> dict[str, Any]:
        payment_id = 0
        for wizard_id in wizard_ids:
            wizard = self.data["account.payment.register"][wizard_id]
            payment_id = self.pay(wizard["_move_ids"], wizard["amount"], wizard["payment_date"], wizard)
        return {
            "name": "Payments",
            "type": "ir.actions.act_window",
            "res_model": "account.payment",
            "context": {"create": False},
            "view_mode": "form",
            "res_id": payment_id,
        }

    def pay(self, move_ids: list[int], amount: Decimal, when: str, wizard: dict[str, Any] | None = None) -> int:
        """Book one payment against the moves in order, lowering their residuals."""
        first = self.data["account.move"][move_ids[0]]
        journal_id = (wizard or {}).get("journal_id") or 2
        code = self.data["account.journal"][journal_id]["code"]
        prefix = f"P{code}/{when[:4]}/"
        used = [p for p in self.data["account.payment"].values() if str(p.get("name", "")).startswith(prefix)]
        values = {"name": f"{prefix}{len(used) + 1:05d}", "amount": cents(amount), "date": when}
        values |= {"journal_id": journal_id, "partner_id": first.get("partner_id"), "state": "posted"}
        values |= {"payment_type": "outbound" if first["move_type"] == "out_refund" else "inbound"}
        values |= {"partner_type": "customer", "currency_id": EUR, "reconciled_invoice_ids": list(move_ids)}
        values |= {"ref": (wizard or {}).get("communication") or first.get("name")}
        payment_id = self.insert("account.payment", values)
        left = cents(amount)
        for move_id in move_ids:
            move = self.data["account.move"][move_id]
            applied = min(left, move["amount_residual"])
            move["_paid"] = move.get("_paid", Decimal(0)) + applied
            left -= applied
            self._compute_move(move_id)
        return payment_id

    def settle(self, move_id: int, amount: Decimal) -> None:
        """Reconcile an amount paid elsewhere (till payments) without an account.payment record."""
        move = self.data["account.move"][move_id]
        move["_paid"] = move.get("_paid", Decimal(0)) + cents(amount)
        self._compute_move(move_id)
