"""Shared builders for the Bizzcloud (Odoo) connector tests: the preview file of one invoice, and a connection."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from koppel.model import Connection

CREATED = datetime(2026, 11, 1, tzinfo=UTC)


def connection(**source_settings: Any) -> Connection:
    return Connection(
        connection_id="shop-1",
        tenant_id="t-1",
        source="bizzcloud",
        targets=("eboekhouden",),
        created_at=CREATED,
        source_settings=source_settings,
    )


def tax(name: str, amount: str, *, price_include: bool = False) -> dict[str, Any]:
    """An ``account.tax`` record as ``read`` returns it."""
    return {"id": 1, "name": name, "amount": Decimal(amount), "amount_type": "percent", "price_include": price_include}


def preview_move(**fields: Any) -> dict[str, Any]:
    """One posted ``account.move`` as the issue describes the preview file: ``partner_id`` holds the res.partner
    record, ``invoice_line_ids`` the line records with ``tax_ids`` as account.tax records.
    3 x 19.99 at 21 % (59.97 + 12.59) and 24.95 less 10 % at 9 % (22.46 + 2.02): Odoo's 97.04 / 14.61."""
    partner = {
        "id": 7,
        "name": "Bakkerij Jansen",
        "email": "info@jansen.nl",
        "vat": "NL123456789B01",
        "street": "Dorpsstraat 1",
        "zip": "1234 AB",
        "city": "Utrecht",
        "country_code": "NL",
        "phone": False,
        "ref": "D1001",
        "is_company": True,
    }
    lines = [
        {
            "id": 1,
            "name": "T-shirt",
            "product_id": [1, "T-shirt"],
            "quantity": Decimal(3),
            "price_unit": Decimal("19.99"),
            "discount": Decimal(0),
            "tax_ids": [tax("Sales/turnover high", "21")],
            "price_subtotal": Decimal("59.97"),
            "price_total": Decimal("72.56"),
            "display_type": "product",
        },
        {
            "id": 2,
            "name": "Roman",
            "product_id": [2, "Roman"],
            "quantity": Decimal(1),
            "price_unit": Decimal("24.95"),
            "discount": Decimal(10),
            "tax_ids": [tax("Sales/turnover low 9%", "9")],
            "price_subtotal": Decimal("22.46"),
            "price_total": Decimal("24.48"),
            "display_type": "product",
        },
    ]
    move = {
        "id": 1,
        "name": "INV/2026/00001",
        "move_type": "out_invoice",
        "state": "posted",
        "partner_id": partner,
        "invoice_date": "2026-11-20",
        "invoice_date_due": "2026-12-04",
        "date": "2026-11-20",
        "ref": False,
        "payment_reference": "INV/2026/00001",
        "currency_id": [1, "EUR"],
        "amount_untaxed": Decimal("82.43"),
        "amount_tax": Decimal("14.61"),
        "amount_total": Decimal("97.04"),
        "amount_residual": Decimal("97.04"),
        "payment_state": "not_paid",
        "invoice_line_ids": lines,
        "write_date": "2026-11-20 10:00:00",
    }
    return move | fields
