"""e-Boekhouden mutations (boekingen) and open items: what ``POST /v1/mutation`` accepts and what it computes.

Field names: ``CreateMutation``/``CreateMutationRow``/``Mutation``/``MutationListItem``/``OutstandingInvoice``
as a public SDK models them (matisup10/e-Boekhouden-MCP ``eboekhouden/models/mutation.py``; the generated Rust
docs ``MutationApi.md``, ``MutationListItem.md``, ``OutstandingInvoiceListItem.md`` agree). Types: 1 invoice
received, 2 invoice sent, 3 invoice payment received, 4 invoice payment sent, 5 money received, 6 money spent,
7 memorial. ``POST`` answers 201 ``{"id"}`` (the mutation number). ``GET /v1/mutation`` filters: type, id,
description, invoiceNumber, date (with the operators of eboekhouden_wire, so ``date[gte]``/``date[lte]``
give a range). Outstanding: ``credDeb`` D|C required (else 400 ``MUTA_006``, confirmed live), ``invoiceNumber``.

VAT per row from ``vatCode`` (eboekhouden_chart): EX rows are amounts excluding VAT, IN rows including it; the
VAT is rounded per row to cents half-up; AFW/AFW_VERK take the caller's ``vatAmount``. Negative amounts book
credit invoices. A type 3/4 row with ``invoiceNumber`` pays that invoice of the relation (type 2/1).
Errors carry the vendor's own codes where the published parameter table names them (README of
koppel/connectors/eboekhouden, "Mutations"): date MUT_003; header ledger missing MUTA_001, unknown MUT_007;
relation missing MUT_012, unknown MUT_013; invoice number missing MUT_002, too long MUT_018, already booked
MUT_019; inExVat missing MUTA_005, not IN/EX MUT_017; row ledger unknown MUT_104, of a wrong category MUT_106;
payment row without invoice number MUT_120, naming no open invoice MUT_115. [I], with the sandbox's own
``MUTA_9xx`` codes: type, rows, row VAT code and amount, a description over 50 characters, an invoice number
that does not end with a digit, a sales VAT code on an invoice received or a purchase code on an invoice sent.
Switches on the sandbox:
``refuse_duplicate_invoice_numbers`` (on by default, as the live API: MUT_019; off only for the chaos harness,
which counts duplicates itself through ``duplicates``), ``purchase_numbers_unique_per_relation`` (off: an
invoice received is refused MUT_019 for a number any invoice received holds, the stricter reading; on: only for
a number the same supplier used. [I] which one the live API applies),
``strict_ledger_categories`` (the header ledger must be the type's DEB/CRED/FIN ledger, and invoice and cash
rows may not book on DEB/CRED/FIN ledgers), ``outstanding_filters_by_relation`` (honour ``relationId`` on the
outstanding list; the published parameters do not include it, so the live API presumably ignores it).
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.eboekhouden.chart import HEADER_CATEGORY_BY_TYPE, SETTLEMENT_CATEGORIES, VAT_CODES
from devkit.sandboxes.eboekhouden.wire import cents, integer, invalid, iso_date, money

if TYPE_CHECKING:
    from devkit.sandboxes.eboekhouden.store import Administration

INVOICE_TYPES = {1, 2}
INVOICE_RECEIVED = 1
VAT_SIDE = {1: "INK", 2: "VERK"}  # the VAT codes an invoice received (purchase) or sent (sales) takes
PAYMENT_TYPES = {3: 2, 4: 1}  # payment type -> the invoice type it settles
CRED_DEB = {"D": 2, "C": 1}
MUTATION_FILTERS = {
    "type": ("type", "int"),
    "id": ("id", "int"),
    "description": ("description", "text"),
    "invoiceNumber": ("invoiceNumber", "text"),
    "date": ("date", "date"),
}
_ZERO = Decimal(0)


def create_mutation(
    admin: Administration, body: Any, *, refuse_duplicates: bool, strict_ledgers: bool, per_relation: bool = False
) -> dict[str, Any]:
    """Validate one mutation the way e-Boekhouden does, compute its VAT and store it; returns the record."""
    if not isinstance(body, dict):
        raise invalid("MUTA_900", "The request body must be a mutation object")
    kind = _type(body.get("type"))
    header = _header(admin, body, kind, strict_ledgers)
    rows = body.get("rows")
    if not isinstance(rows, list) or not rows:
        raise invalid("MUTA_909", "A mutation needs at least one row")
    booked = [_row(admin, row, kind, header, strict_ledgers) for row in rows]
    scope = header["relationId"] if kind == INVOICE_RECEIVED and per_relation else None
    if kind in INVOICE_TYPES and refuse_duplicates and _invoice(admin, kind, header["invoiceNumber"], scope):
        raise invalid("MUT_019", f"Invoice number already exists: {header['invoiceNumber']}")
    record = {"id": next(admin.next_mutation), "type": kind, **header, "rows": booked, **_totals(booked)}
    admin.mutations[record["id"]] = record
    return record


def _type(value: Any) -> int:
    kind = integer(value, "type", "MUTA_901") if value is not None else 0
    if kind not in range(1, 8):
        raise invalid("MUTA_901", "Type must be 1 to 7")
    return kind


def _header(admin: Administration, body: dict[str, Any], kind: int, strict: bool) -> dict[str, Any]:
    day = iso_date(body.get("date"), "date", "MUT_003")
    if not day:
        raise invalid("MUT_003", "Date is required")
    if body.get("ledgerId") is None:
        raise invalid("MUTA_001", "LedgerId is required")
    ledger = admin.ledger(integer(body["ledgerId"], "ledgerId", "MUT_007"), code="MUT_007")
    wanted = HEADER_CATEGORY_BY_TYPE.get(kind)
    if strict and wanted and ledger["category"] != wanted:
        raise invalid("MUTA_904", f"Ledger {ledger['code']} is not a {wanted} ledger, as a type {kind} mutation needs")
    relation_id = body.get("relationId")
    if relation_id is not None:
        relation_id = admin.relation(integer(relation_id, "relationId", "MUT_013"), code="MUT_013")["id"]
    elif kind in INVOICE_TYPES or kind in PAYMENT_TYPES:
        raise invalid("MUT_012", "RelationId is required for this mutation type")
    number = body.get("invoiceNumber") or None
    if kind in INVOICE_TYPES:
        _check_invoice_number(number)
    if body.get("inExVat") is None:
        raise invalid("MUTA_005", "InExVat is required: IN or EX")
    if body.get("inExVat") not in {"IN", "EX"}:
        raise invalid("MUT_017", "InExVat must be IN or EX")
    description = body.get("description")
    if isinstance(description, str) and len(description) > 50:
        raise invalid("MUTA_917", "Description may be at most 50 characters")
    return {
        "date": day,
        "description": description,
        "termOfPayment": body.get("termOfPayment"),
        "ledgerId": ledger["id"],
        "relationId": relation_id,
        "inExVat": body["inExVat"],
        "invoiceNumber": number,
        "entryNumber": body.get("entryNumber"),
        "paymentReference": body.get("paymentReference"),
    }


def _check_invoice_number(number: Any) -> None:
    if not isinstance(number, str) or not number.strip():
        raise invalid("MUT_002", "InvoiceNumber is required for this mutation type")
    if len(number) > 50:
        raise invalid("MUT_018", "InvoiceNumber may be at most 50 characters")
    if not number[-1].isdigit():
        raise invalid("MUTA_907", f"Invoice number {number} must end with a digit")


def _row(admin: Administration, row: Any, kind: int, header: dict[str, Any], strict: bool) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise invalid("MUTA_909", "Every row must be an object")
    vat_code = row.get("vatCode") or ("GEEN" if kind in PAYMENT_TYPES else None)
    if vat_code not in VAT_CODES:
        raise invalid("MUTA_912", f"Unknown vatCode {vat_code}" if vat_code else "VatCode is required")
    side = VAT_CODES[vat_code].side
    if side and VAT_SIDE.get(kind, side) != side:
        raise invalid("MUTA_915", f"VatCode {vat_code} cannot be used on a type {kind} mutation")
    ledger_id = row.get("ledgerId")
    if ledger_id is None and kind not in PAYMENT_TYPES:
        raise invalid("MUTA_910", "Every row needs a ledgerId")
    if ledger_id is not None:
        ledger = admin.ledger(integer(ledger_id, "rows.ledgerId", "MUT_104"), code="MUT_104")
        if strict and kind not in PAYMENT_TYPES and kind != 7 and ledger["category"] in SETTLEMENT_CATEGORIES:
            raise invalid("MUT_106", f"Ledger {ledger['code']} ({ledger['category']}) cannot be a row ledger here")
        ledger_id = ledger["id"]
    if "amount" not in row:
        raise invalid("MUTA_914", "Every row needs an amount")
    amount = money(row["amount"], "amount", "MUTA_914")
    booked = {
        "ledgerId": ledger_id,
        "vatCode": vat_code,
        "amount": amount,
        "description": row.get("description"),
        "invoiceNumber": row.get("invoiceNumber") or None,
        "relationId": row.get("relationId"),
        "costCenterId": row.get("costCenterId"),
        **_vat(amount, vat_code, header["inExVat"], row.get("vatAmount")),
    }
    if kind in PAYMENT_TYPES:
        booked["paysMutationId"] = _settled(admin, kind, booked, header)
    return booked


def _vat(amount: Decimal, vat_code: str, in_ex: str, given: Any) -> dict[str, Decimal]:
    rate = VAT_CODES[vat_code].rate
    if rate is None:
        if given is None:
            raise invalid("MUTA_913", f"VatAmount is required with vatCode {vat_code}")
        vat = money(given, "vatAmount", "MUTA_913")
    elif in_ex == "IN":
        vat = cents(amount * rate / (1 + rate))
    else:
        vat = cents(amount * rate)
    excl, incl = (amount - vat, amount) if in_ex == "IN" else (amount, amount + vat)
    return {"vatAmount": vat, "amountExclVat": excl, "amountInclVat": incl}


def _settled(admin: Administration, kind: int, row: dict[str, Any], header: dict[str, Any]) -> int:
    """The invoice a payment row pays: by number, for the row's relation (else the mutation's)."""
    number = row["invoiceNumber"] or header["invoiceNumber"]
    if not number:
        raise invalid("MUT_120", "A payment row needs the invoiceNumber it pays")
    row["invoiceNumber"] = number
    relation_id = row["relationId"] if row["relationId"] is not None else header["relationId"]
    invoice = _invoice(admin, PAYMENT_TYPES[kind], number, relation_id, unpaid_first=True)
    if invoice is None:
        raise invalid("MUT_115", f"No open invoice {number} for relation {relation_id}")
    return int(invoice["id"])


def _invoice(
    admin: Administration, kind: int, number: str, relation_id: int | None, *, unpaid_first: bool = False
) -> dict[str, Any] | None:
    found = [
        m
        for m in admin.mutations.values()
        if m["type"] == kind
        and m["invoiceNumber"] == number
        and (relation_id is None or m["relationId"] == relation_id)
    ]
    if unpaid_first:
        found.sort(key=lambda m: paid(admin, m) == m["totalAmount"])
    return found[0] if found else None


def _totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    by_code: dict[str, Decimal] = {}
    for row in rows:
        by_code[row["vatCode"]] = by_code.get(row["vatCode"], _ZERO) + row["vatAmount"]
    return {
        "vat": [{"vatCode": code, "amount": amount} for code, amount in by_code.items()],
        "totalExclVat": sum((row["amountExclVat"] for row in rows), _ZERO),
        "totalVat": sum((row["vatAmount"] for row in rows), _ZERO),
        "totalAmount": sum((row["amountInclVat"] for row in rows), _ZERO),
    }


# -- reading ------------------------------------------------------------------------------------------------------
_ROW_FIELDS = ("ledgerId", "vatCode", "vatAmount", "amount", "description", "invoiceNumber", "relationId")
_VIEW_FIELDS = (
    "id",
    "type",
    "date",
    "description",
    "termOfPayment",
    "ledgerId",
    "relationId",
    "inExVat",
    "invoiceNumber",
    "entryNumber",
    "paymentReference",
)


def mutation_view(record: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/mutation/{id}``: the published fields only (the totals stay behind the python helpers)."""
    rows = [{key: row[key] for key in (*_ROW_FIELDS, "costCenterId")} for row in record["rows"]]
    return {**{key: record[key] for key in _VIEW_FIELDS}, "rows": rows, "vat": record["vat"]}


def mutation_list_item(record: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "type", "date", "invoiceNumber", "ledgerId")
    return {**{key: record[key] for key in keys}, "amount": record["totalAmount"], "entryNumber": record["entryNumber"]}


def paid(admin: Administration, invoice: dict[str, Any]) -> Decimal:
    return sum(
        (
            row["amount"]
            for m in admin.mutations.values()
            for row in m["rows"]
            if row.get("paysMutationId") == invoice["id"]
        ),
        _ZERO,
    )


def outstanding(admin: Administration, cred_deb: str | None, relation_id: str | None) -> list[dict[str, Any]]:
    if cred_deb not in CRED_DEB:
        raise invalid("MUTA_006", "credDeb is required: C (creditors) or D (debtors)")
    items = []
    for invoice in admin.mutations.values():
        if invoice["type"] != CRED_DEB[cred_deb]:
            continue
        paid_amount = paid(admin, invoice)
        if paid_amount == invoice["totalAmount"]:
            continue
        relation = admin.relations.get(invoice["relationId"], {})
        items.append(
            {
                "date": invoice["date"],
                "mutationId": invoice["id"],
                "invoiceNumber": invoice["invoiceNumber"],
                "relationId": invoice["relationId"],
                "relationCode": relation.get("code"),
                "company": relation.get("name"),
                "totalAmount": invoice["totalAmount"],
                "paidAmount": paid_amount,
                "outstandingAmount": invoice["totalAmount"] - paid_amount,
            }
        )
    if relation_id:
        items = [item for item in items if str(item["relationId"]) == relation_id]
    return items


def duplicates(admin: Administration) -> list[str]:
    """Invoice numbers booked more than once on invoices of one type: what exactly-once delivery keeps empty."""
    counts = Counter((m["type"], m["invoiceNumber"]) for m in admin.mutations.values() if m["type"] in INVOICE_TYPES)
    return sorted(number for (_, number), n in counts.items() if n > 1)
