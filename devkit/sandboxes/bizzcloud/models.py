"""The Odoo 17 models the Bizzcloud sandbox serves: field definitions (what ``fields_get`` reports) and reference data.

Only the fields Koppel reads or writes are modelled. Field kinds follow Odoo: ``computed`` fields are computed by the
sandbox (``store=False`` ones are never written: a write to them is dropped, as Odoo drops a write to a non-stored
computed field without inverse; stored computed ones accept the value like Odoo's ORM, which does not enforce
``readonly``, until the next recomputation). One2many fields are derived from their inverse many2one.
Tax names: l10n_nl ``data/template/account.tax-nl.csv`` (English names, ``description`` is the invoice label
"21% BTW"); the price-included 21 % sales tax is not in l10n_nl and is added here for till prices.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

MAGIC_FIELDS = ("id", "display_name", "create_date", "write_date")


@dataclass(frozen=True)
class Field:
    type: str
    string: str
    relation: str | None = None
    inverse_name: str | None = None  # one2many: the many2one on ``relation`` pointing back
    required: bool = False
    readonly: bool = False
    store: bool = True
    computed: bool = False
    selection: tuple[tuple[str, str], ...] | None = None

    def describe(self, name: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": name,
            "string": self.string,
            "type": self.type,
            "required": self.required,
            "readonly": self.readonly or (self.computed and self.store is False),
            "store": self.store,
            "searchable": True,
            "sortable": self.store,
        }
        if self.relation:
            data["relation"] = self.relation
        if self.inverse_name:
            data["relation_field"] = self.inverse_name
        if self.selection is not None:
            data["selection"] = [list(item) for item in self.selection]
        if self.type == "monetary":
            data["currency_field"] = "currency_id"
        return data


def _sel(*keys: str) -> tuple[tuple[str, str], ...]:
    return tuple((key, key.replace("_", " ").title()) for key in keys)


def char(string: str, **kw: Any) -> Field:
    return Field("char", string, **kw)


def m2o(relation: str, string: str, **kw: Any) -> Field:
    return Field("many2one", string, relation=relation, **kw)


def o2m(relation: str, inverse: str, string: str) -> Field:
    return Field("one2many", string, relation=relation, inverse_name=inverse, store=False, computed=True)


def m2m(relation: str, string: str, **kw: Any) -> Field:
    return Field("many2many", string, relation=relation, **kw)


def money(string: str, computed: bool = True) -> Field:
    return Field("monetary", string, computed=computed, readonly=computed)


def num(string: str, **kw: Any) -> Field:
    return Field("float", string, **kw)


_COMMON = {
    "id": Field("integer", "ID", readonly=True),
    "display_name": Field("char", "Display Name", readonly=True, store=False, computed=True),
    "create_date": Field("datetime", "Created on", readonly=True),
    "write_date": Field("datetime", "Last Updated on", readonly=True),
}

MODELS: dict[str, dict[str, Field]] = {
    "res.country": {"name": char("Country Name", required=True), "code": char("Country Code")},
    "res.currency": {
        "name": char("Currency", required=True),
        "symbol": char("Symbol"),
        "rounding": num("Rounding Factor"),
        "decimal_places": Field("integer", "Decimal Places", computed=True, readonly=True),
        "active": Field("boolean", "Active"),
    },
    "res.partner": {
        "name": char("Name"),
        "email": char("Email"),
        "vat": char("Tax ID"),
        "street": char("Street"),
        "zip": char("Zip"),
        "city": char("City"),
        "country_id": m2o("res.country", "Country"),
        "country_code": char("Country Code", readonly=True, store=False, computed=True),
        "phone": char("Phone"),
        "ref": char("Reference"),
        "is_company": Field("boolean", "Is a Company"),
        "customer_rank": Field("integer", "Customer Rank"),
        "active": Field("boolean", "Active"),
    },
    "account.tax": {
        "name": char("Tax Name", required=True),
        "description": char("Label on Invoices"),
        "amount": num("Amount", required=True),
        "amount_type": Field("selection", "Tax Computation", selection=_sel("group", "fixed", "percent", "division")),
        "price_include": Field("boolean", "Included in Price"),
        "type_tax_use": Field("selection", "Tax Type", selection=_sel("sale", "purchase", "none")),
        "sequence": Field("integer", "Sequence"),
        "active": Field("boolean", "Active"),
    },
    "account.journal": {
        "name": char("Journal Name", required=True),
        "code": char("Short Code", required=True),
        "type": Field(
            "selection", "Type", required=True, selection=_sel("sale", "purchase", "cash", "bank", "general")
        ),
    },
    "account.account": {
        "code": char("Code", required=True),
        "name": char("Account Name", required=True),
        "account_type": Field("selection", "Type", selection=_sel("income", "asset_receivable", "asset_cash")),
    },
    "account.payment.term": {"name": char("Payment Terms", required=True)},
    "product.category": {"name": char("Name", required=True)},
    "product.product": {
        "name": char("Name", required=True),
        "default_code": char("Internal Reference"),
        "categ_id": m2o("product.category", "Product Category"),
        "list_price": num("Sales Price"),
        "taxes_id": m2m("account.tax", "Customer Taxes"),
        "type": Field("selection", "Product Type", selection=_sel("consu", "service", "product")),
        "active": Field("boolean", "Active"),
    },
    "account.move": {
        "name": char("Number", readonly=True, computed=True),
        "move_type": Field(
            "selection",
            "Type",
            required=True,
            selection=_sel("entry", "out_invoice", "out_refund", "in_invoice", "in_refund", "out_receipt"),
        ),
        "state": Field(
            "selection", "Status", required=True, readonly=True, selection=_sel("draft", "posted", "cancel")
        ),
        "journal_id": m2o("account.journal", "Journal", required=True),
        "partner_id": m2o("res.partner", "Partner"),
        "date": Field("date", "Date", required=True),
        "invoice_date": Field("date", "Invoice/Bill Date"),
        "invoice_date_due": Field("date", "Due Date"),
        "invoice_payment_term_id": m2o("account.payment.term", "Payment Terms"),
        "ref": char("Reference"),
        "payment_reference": char("Payment Reference"),
        "currency_id": m2o("res.currency", "Currency", required=True),
        "amount_untaxed": money("Untaxed Amount"),
        "amount_tax": money("Tax"),
        "amount_total": money("Total"),
        "amount_residual": money("Amount Due"),
        "amount_total_signed": money("Total Signed"),
        "amount_residual_signed": money("Amount Due Signed"),
        "payment_state": Field(
            "selection",
            "Payment Status",
            readonly=True,
            computed=True,
            selection=_sel("not_paid", "in_payment", "paid", "partial", "reversed", "invoicing_legacy"),
        ),
        "invoice_line_ids": o2m("account.move.line", "move_id", "Invoice lines"),
        "reversed_entry_id": m2o("account.move", "Reversal of"),
        "pos_order_ids": o2m("pos.order", "account_move", "Pos Order"),
    },
    "account.move.line": {
        "move_id": m2o("account.move", "Journal Entry", required=True),
        "sequence": Field("integer", "Sequence"),
        "name": char("Label"),
        "product_id": m2o("product.product", "Product"),
        "quantity": num("Quantity"),
        "price_unit": num("Unit Price"),
        "discount": num("Discount (%)"),
        "tax_ids": m2m("account.tax", "Taxes"),
        "price_subtotal": money("Subtotal"),
        "price_total": money("Total"),
        "account_id": m2o("account.account", "Account"),
        "partner_id": m2o("res.partner", "Partner", readonly=True),
        "currency_id": m2o("res.currency", "Currency", required=True),
        "display_type": Field("selection", "Display Type", selection=_sel("product", "line_section", "line_note")),
    },
    "account.payment": {
        "name": char("Number", readonly=True),
        "amount": money("Amount", computed=False),
        "date": Field("date", "Date", required=True),
        "journal_id": m2o("account.journal", "Journal", required=True),
        "partner_id": m2o("res.partner", "Customer/Vendor"),
        "payment_type": Field("selection", "Payment Type", required=True, selection=_sel("outbound", "inbound")),
        "partner_type": Field("selection", "Partner Type", selection=_sel("customer", "supplier")),
        "ref": char("Memo"),
        "state": Field("selection", "Status", readonly=True, selection=_sel("draft", "posted", "cancel")),
        "currency_id": m2o("res.currency", "Currency"),
        "reconciled_invoice_ids": m2m("account.move", "Reconciled Invoices", readonly=True, computed=True),
    },
    "account.payment.register": {
        "amount": money("Amount", computed=False),
        "payment_date": Field("date", "Payment Date", required=True),
        "journal_id": m2o("account.journal", "Journal"),
        "communication": char("Memo"),
        "currency_id": m2o("res.currency", "Currency"),
        "partner_id": m2o("res.partner", "Customer/Vendor", readonly=True),
    },
    "pos.config": {"name": char("Point of Sale", required=True)},
    "pos.session": {
        "name": char("Session ID", readonly=True),
        "config_id": m2o("pos.config", "Point of Sale", required=True),
        "state": Field("selection", "Status", selection=_sel("opening_control", "opened", "closing_control", "closed")),
    },
    "pos.payment.method": {
        "name": char("Method", required=True),
        "is_cash_count": Field("boolean", "Cash"),
        "type": Field("selection", "Type", computed=True, readonly=True, selection=_sel("cash", "bank", "pay_later")),
        "journal_id": m2o("account.journal", "Journal"),
    },
    "pos.order": {
        "name": char("Order Ref", readonly=True, required=True),
        "pos_reference": char("Receipt Number", readonly=True),
        "date_order": Field("datetime", "Date", readonly=True),
        "partner_id": m2o("res.partner", "Customer"),
        "state": Field(
            "selection", "Status", readonly=True, selection=_sel("draft", "cancel", "paid", "done", "invoiced")
        ),
        "amount_total": money("Total", computed=False),
        "amount_tax": money("Taxes", computed=False),
        "amount_paid": money("Paid", computed=False),
        "amount_return": money("Returned", computed=False),
        "lines": o2m("pos.order.line", "order_id", "Order Lines"),
        "payment_ids": o2m("pos.payment", "pos_order_id", "Payments"),
        "account_move": m2o("account.move", "Invoice", readonly=True),
        "session_id": m2o("pos.session", "Session", readonly=True),
        "currency_id": m2o("res.currency", "Currency", readonly=True),
    },
    "pos.order.line": {
        "order_id": m2o("pos.order", "Order Ref", required=True),
        "product_id": m2o("product.product", "Product", required=True),
        "full_product_name": char("Full Product Name"),
        "qty": num("Quantity"),
        "price_unit": num("Unit Price"),
        "discount": num("Discount (%)"),
        "tax_ids": m2m("account.tax", "Taxes"),
        "price_subtotal": money("Subtotal w/o Tax", computed=False),
        "price_subtotal_incl": money("Subtotal", computed=False),
    },
    "pos.payment": {
        "pos_order_id": m2o("pos.order", "Order", required=True),
        "amount": money("Amount", computed=False),
        "payment_method_id": m2o("pos.payment.method", "Payment Method", required=True),
        "payment_date": Field("datetime", "Date", required=True),
        "is_change": Field("boolean", "Is this payment change?"),
    },
}
for _fields in MODELS.values():
    _fields.update(_COMMON)

DEFAULT_ORDER = {
    "account.move": "date desc, name desc, id desc",
    "pos.order": "date_order desc, name desc, id desc",
    "res.partner": "name asc, id desc",
    "account.tax": "sequence asc, id asc",
    "account.move.line": "sequence asc, id asc",
}

COUNTRIES = {"NL": "Netherlands", "BE": "Belgium", "DE": "Germany", "FR": "France", "GB": "United Kingdom"}
COUNTRIES |= {"US": "United States", "ES": "Spain", "IT": "Italy", "AT": "Austria", "LU": "Luxembourg"}

# (name, invoice label, percent, price_include, sequence): l10n_nl sales taxes plus one price-included tax
SALES_TAXES = (
    ("Sales/turnover high", "21% BTW", "21", False, 5),
    ("Sales/turnover low 9%", "9% BTW", "9", False, 10),
    ("Sales/turnover untaxed (zero rate)", "0% BTW", "0", False, 10),
    ("Export sales within EU (products)", "0% EU", "0", False, 20),
    ("Export sales within EU (services)", "0% EU", "0", False, 20),
    ("Export sales outside EU", "BTW export buiten EU", "0", False, 20),
    ("Sales/turnover high (incl. VAT)", "21% BTW Incl.", "21", True, 7),
)

JOURNALS = (("Customer Invoices", "INV", "sale"), ("Bank", "BNK1", "bank"), ("Cash", "CSH1", "cash"))
CATEGORIES = ("Kleding", "Boeken", "Diensten")
PAYMENT_TERMS = (("Immediate Payment", 0), ("15 Days", 15), ("30 Days", 30))
# (name, default_code, category, list price, tax name)
PRODUCTS = (
    ("T-shirt", "TS-001", "Kleding", "19.99", "Sales/turnover high"),
    ("Roman", "BK-001", "Boeken", "24.95", "Sales/turnover low 9%"),
    ("Consultancy uur", "SV-001", "Diensten", "95.00", "Sales/turnover high"),
    ("Cadeaubon", "GC-001", "Diensten", "25.00", "Sales/turnover untaxed (zero rate)"),
)


def reference_data() -> list[tuple[str, dict[str, Any]]]:
    """Records (model, values) in creation order; ids follow that order per model (EUR is currency 1)."""
    rows: list[tuple[str, dict[str, Any]]] = [
        ("res.currency", {"name": "EUR", "symbol": "€", "rounding": Decimal("0.01"), "active": True}),
        ("res.currency", {"name": "USD", "symbol": "$", "rounding": Decimal("0.01"), "active": False}),
    ]
    rows += [("res.country", {"name": name, "code": code}) for code, name in COUNTRIES.items()]
    for name, label, amount, included, sequence in SALES_TAXES:
        values = {"name": name, "description": label, "amount": Decimal(amount), "amount_type": "percent"}
        values |= {"price_include": included, "type_tax_use": "sale", "sequence": sequence, "active": True}
        rows.append(("account.tax", values))
    rows += [("account.journal", {"name": name, "code": code, "type": kind}) for name, code, kind in JOURNALS]
    rows += [
        ("account.account", {"code": "8000", "name": "Omzet", "account_type": "income"}),
        ("account.account", {"code": "1300", "name": "Debiteuren", "account_type": "asset_receivable"}),
    ]
    rows += [("account.payment.term", {"name": name, "_days": days}) for name, days in PAYMENT_TERMS]
    rows += [("product.category", {"name": name}) for name in CATEGORIES]
    for name, code, category, price, _tax in PRODUCTS:
        values = {"name": name, "default_code": code, "categ_id": CATEGORIES.index(category) + 1}
        values |= {"list_price": Decimal(price), "type": "consu", "active": True}
        rows.append(("product.product", values))
    rows += [
        ("pos.config", {"name": "Shop"}),
        ("pos.payment.method", {"name": "Cash", "is_cash_count": True, "type": "cash", "journal_id": 3}),
        ("pos.payment.method", {"name": "PIN", "is_cash_count": False, "type": "bank", "journal_id": 2}),
    ]
    return rows


def product_tax_name(default_code: str) -> str:
    return next(tax for _name, code, _c, _p, tax in PRODUCTS if code == default_code)
