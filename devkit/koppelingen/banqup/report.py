"""What an accounting package holds after Koppel booked a Banqup space into it, read straight from the target's
sandbox (never from what Koppel believes it did): each purchase, credit note and sales invoice with its
counterparty, its net and VAT per rate, its total, its state and the originals attached; and the suppliers.

One reader per target: SnelStart (inkoopboekingen and verkoopboekingen, VAT by ``btwSoort``), QuickBooks Online
(Bills, VendorCredits and Invoices, VAT by ``TxnTaxDetail``), Billy (bills and their lines, VAT by tax rate), and
e-Boekhouden (mutations: invoices received and sent, no attachments).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.table import Table

if TYPE_CHECKING:
    from collections.abc import Iterable

    from devkit.sandboxes.billy.sandbox import BillySandbox
    from devkit.sandboxes.eboekhouden.sandbox import EboekhoudenSandbox
    from devkit.sandboxes.quickbooks.sandbox import QuickbooksSandbox
    from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox

D = Decimal
ZERO = Decimal(0)
SNELSTART_RATES = {"Hoog": "21", "Laag": "9", "Geen": "0", "Overig": "0"}
"""A SnelStart ``btwSoort`` (on a line, or after Inkopen/Verkopen on a VAT entry) as the rate a bookkeeper reads."""


@dataclass(frozen=True)
class Held:
    """One document as the target holds it."""

    kind: str
    """purchase, credit note or sales invoice."""
    number: str
    party: str
    per_rate: dict[str, tuple[Decimal, Decimal]]
    """Rate as the target names it → (net, VAT)."""
    total: Decimal
    currency: str = "EUR"
    state: str = "open"
    attachments: tuple[str, ...] = ()

    def rates(self) -> str:
        return " · ".join(f"{rate}: {net:.2f} + {vat:.2f}" for rate, (net, vat) in sorted(self.per_rate.items()))


@dataclass(frozen=True)
class Holding:
    """Everything one target holds of one connection."""

    target: str
    documents: list[Held]
    suppliers: list[str]

    def numbers(self) -> list[str]:
        return sorted(held.number for held in self.documents)


def _add(per_rate: dict[str, tuple[Decimal, Decimal]], rate: str, net: Decimal = ZERO, vat: Decimal = ZERO) -> None:
    before = per_rate.get(rate, (ZERO, ZERO))
    per_rate[rate] = (before[0] + net, before[1] + vat)


def _rate_name(value: Any) -> str:
    return f"{D(str(value)).normalize():f} %"


# -- SnelStart ----------------------------------------------------------------------------------------------------
def snelstart_holding(snelstart: SnelstartSandbox, koppelsleutel: str) -> Holding:
    admin = snelstart.administratie(koppelsleutel)
    names = {ident: str(r.get("naam")) for ident, r in admin.relaties.items()}
    open_amounts = {
        str((f.get("inkoopBoeking") or {}).get("id")): f["openstaandSaldo"] for f in admin.inkoopfacturen.values()
    }
    files = defaultdict(list)
    for document in admin.documenten.values():
        files[str(document.get("parentIdentifier"))].append(str(document.get("fileName")))
    documents = [
        _snelstart(boeking, names, files, "leverancier", "purchase", open_amounts.get(str(boeking["id"])))
        for boeking in admin.inkoopboekingen.values()
    ]
    documents += [
        _snelstart(boeking, names, files, "klant", "sales invoice", None) for boeking in admin.boekingen.values()
    ]
    suppliers = sorted(str(r.get("naam")) for r in admin.relaties.values() if "Leverancier" in r["relatiesoort"])
    return Holding("SnelStart", documents, suppliers)


def _snelstart(
    boeking: dict[str, Any], names: dict[str, str], files: dict[str, list[str]], role: str, kind: str, owed: Any
) -> Held:
    per_rate: dict[str, tuple[Decimal, Decimal]] = {}
    for regel in boeking.get("boekingsregels") or []:
        _add(per_rate, _snelstart_rate(regel.get("btwSoort")), net=D(str(regel["bedrag"])))
    for btw in boeking.get("btw") or []:
        soort = str(btw["btwSoort"]).removeprefix("Inkopen").removeprefix("Verkopen")
        if soort != "Verlegd":  # reverse charge: a 0.00 entry telling SnelStart to self-assess
            _add(per_rate, _snelstart_rate(soort), vat=D(str(btw["btwBedrag"])))
    total = D(str(boeking["factuurbedrag"]))
    return Held(
        "credit note" if total < 0 and kind == "purchase" else kind, str(boeking["factuurnummer"]),
        names.get(str((boeking.get(role) or {}).get("id")), "?"), per_rate, total,
        state="paid" if owed is not None and D(str(owed)) == 0 else "open",
        attachments=tuple(files.get(str(boeking["id"]), ()) or (d["fileName"] for d in boeking.get("documents", []))),
    )  # fmt: skip


def _snelstart_rate(soort: Any) -> str:
    return f"{SNELSTART_RATES.get(str(soort), str(soort))} %" if soort else "no VAT kind"


# -- QuickBooks Online ---------------------------------------------------------------------------------------------
def quickbooks_holding(quickbooks: QuickbooksSandbox, realm: str) -> Holding:
    files = defaultdict(list)
    for attachable in quickbooks.entities(realm, "Attachable"):
        for ref in attachable.get("AttachableRef") or []:
            entity = ref["EntityRef"]
            files[(entity["type"], entity["value"])].append(str(attachable["FileName"]))
    documents = []
    for entity, kind, party in (
        ("Bill", "purchase", "VendorRef"), ("VendorCredit", "credit note", "VendorRef"),
        ("Invoice", "sales invoice", "CustomerRef"),
    ):  # fmt: skip
        for row in quickbooks.entities(realm, entity):
            per_rate = _quickbooks_rates((row.get("TxnTaxDetail") or {}).get("TaxLine") or [])
            sign = D(-1) if entity == "VendorCredit" else D(1)
            signed = {rate: (sign * net, sign * vat) for rate, (net, vat) in per_rate.items()}
            documents.append(Held(
                kind, str(row.get("DocNumber")), str(row[party].get("name")), signed, sign * D(str(row["TotalAmt"])),
                str(row.get("CurrencyRef", {}).get("value", "EUR")),
                "paid" if D(str(row.get("Balance", "0"))) == 0 else "open", tuple(files.get((entity, row["Id"]), ())),
            ))  # fmt: skip
    suppliers = sorted(str(v["DisplayName"]) for v in quickbooks.entities(realm, "Vendor"))
    return Holding("QuickBooks Online", documents, suppliers)


def _quickbooks_rates(tax_lines: list[dict[str, Any]]) -> dict[str, tuple[Decimal, Decimal]]:
    """Net and VAT per rate; a self-assessing code (reverse charge) holds a rate and its opposite, whose VAT cancels:
    shown as that rate, self-assessed, with no VAT on the bill."""
    opposite = {abs(D(str(line["TaxLineDetail"]["TaxPercent"]))) for line in tax_lines
                if D(str(line["TaxLineDetail"]["TaxPercent"])) < 0}  # fmt: skip
    per_rate: dict[str, tuple[Decimal, Decimal]] = {}
    for line in tax_lines:
        percent = D(str(line["TaxLineDetail"]["TaxPercent"]))
        name = _rate_name(abs(percent)) + (" self-assessed" if abs(percent) in opposite else "")
        net = D(str(line["TaxLineDetail"]["NetAmountTaxable"])) if percent >= 0 else D(0)
        _add(per_rate, name, net, D(str(line["Amount"])))
    return per_rate


# -- Billy -----------------------------------------------------------------------------------------------------------
def billy_holding(billy: BillySandbox, token: str) -> Holding:
    rates = {r["id"]: r for r in billy.records("taxRates", token)}
    files = {f["id"]: str(f["fileName"]) for f in billy.records("files", token)}
    attached = defaultdict(list)
    for attachment in billy.records("attachments", token):
        attached[str(attachment["ownerReference"])].append(files.get(attachment["fileId"], "?"))
    lines = defaultdict(list)
    for line in billy.records("billLines", token):
        lines[line["billId"]].append(line)
    documents = []
    for bill in billy.records("bills", token):
        sign = D(-1) if bill["type"] == "creditNote" else D(1)
        per_rate: dict[str, tuple[Decimal, Decimal]] = {}
        for line in lines[bill["id"]]:
            rate = rates.get(line["taxRateId"], {}).get("rate") or D(0)
            _add(per_rate, _rate_name(D(str(rate)) * 100), sign * D(str(line["amount"])), sign * D(str(line["tax"])))
        documents.append(Held(
            "credit note" if sign < 0 else "purchase", str(bill["suppliersInvoiceNo"]), str(bill["contactName"]),
            per_rate, sign * D(str(bill["grossAmount"])), str(bill["currencyId"]),
            "paid" if bill.get("isPaid") else str(bill["state"]), tuple(attached.get(f"bill:{bill['id']}", ())),
        ))  # fmt: skip
    suppliers = sorted(str(c["name"]) for c in billy.records("contacts", token) if c.get("isSupplier"))
    return Holding("Billy", documents, suppliers)


# -- e-Boekhouden ----------------------------------------------------------------------------------------------------
def eboekhouden_holding(eboekhouden: EboekhoudenSandbox, api_token: str) -> Holding:
    """Invoices received (type 1) and sent (type 2); e-Boekhouden publishes no route for attachments."""
    names = {r["id"]: str(r["name"]) for r in eboekhouden.relations(api_token)}
    documents = []
    for mutation in eboekhouden.mutations(api_token):
        if mutation["type"] not in (1, 2):
            continue
        total = D(str(mutation["totalAmount"]))
        kind = "sales invoice" if mutation["type"] == 2 else "credit note" if total < 0 else "purchase"
        net, vat = D(str(mutation["totalExclVat"])), D(str(mutation["totalVat"]))
        documents.append(Held(kind, str(mutation["invoiceNumber"]), names.get(mutation["relationId"], "?"),
                              {"all rates": (net, vat)}, total))  # fmt: skip
    return Holding("e-Boekhouden.nl", documents, sorted(set(names.values())))


# -- as a bookkeeper reads it ----------------------------------------------------------------------------------------
def holding_table(title: str, holding: Holding) -> Table:
    table = Table(title=f"{title}: what {holding.target} now holds", title_justify="left")
    for column in ("kind", "number", "supplier / customer", "net + VAT per rate", "total", "state", "attached"):
        table.add_column(column, justify="right" if column == "total" else "left", overflow="fold")
    for held in sorted(holding.documents, key=lambda h: (h.kind, h.number)):
        table.add_row(
            held.kind, held.number, held.party, held.rates(), f"{held.total:.2f} {held.currency}", held.state,
            ", ".join(held.attachments) or "—",
        )  # fmt: skip
    table.caption = f"suppliers: {', '.join(holding.suppliers)}"
    return table


def duplicates(holdings: Iterable[Holding]) -> list[str]:
    """Numbers a target holds twice (one supplier's number may equal another's: counted with the party)."""
    seen: dict[tuple[str, str, str], int] = defaultdict(int)
    for holding in holdings:
        for held in holding.documents:
            seen[(holding.target, held.party, held.number)] += 1
    return sorted(f"{target}: {party} {number}" for (target, party, number), n in seen.items() if n > 1)
