"""e-Boekhouden's reference data: ledger categories, VAT codes with their rates, and a default Dutch chart.

Sources: the REST ``VatCode`` enum and ``LedgerCategory`` values as a public SDK models them
(matisup10/e-Boekhouden-MCP ``eboekhouden/models/enums.py``) and the connector's README. The rates are the Dutch
statutory ones. [I]: the exact default chart of a new administration (codes and names differ per template);
the one here is typical and small, with every category a connector meets.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# BAL balans, VW verlies & winst, FIN liquide middelen, DEB debiteuren, CRED crediteuren,
# AF19/AF6/AFOVERIG/AF omzetbelasting (hoog/laag/overig/algemeen), VOOR voorbelasting, BTWRC btw rekening-courant.
LEDGER_CATEGORIES = frozenset({"BAL", "VW", "FIN", "DEB", "CRED", "AF19", "AF6", "AFOVERIG", "AF", "VOOR", "BTWRC"})

# The header ledger a mutation type books against (its "rekening"), by category [I: SOAP manual's Rekening rule].
HEADER_CATEGORY_BY_TYPE = {1: "CRED", 2: "DEB", 3: "FIN", 4: "FIN", 5: "FIN", 6: "FIN"}
# Categories that settle invoices and money: never the counter-account of an invoice or cash row [I].
SETTLEMENT_CATEGORIES = frozenset({"DEB", "CRED", "FIN"})


@dataclass(frozen=True)
class VatCode:
    """``rate`` None means the caller supplies ``vatAmount`` (afwijkend)."""

    code: str
    rate: Decimal | None
    side: str  # "VERK" sales, "INK" purchases, "" neither


def _code(code: str, rate: str | None, side: str) -> VatCode:
    return VatCode(code, None if rate is None else Decimal(rate), side)


VAT_CODES: dict[str, VatCode] = {
    vat.code: vat
    for vat in (
        _code("HOOG_VERK_21", "0.21", "VERK"),
        _code("LAAG_VERK_9", "0.09", "VERK"),
        _code("LAAG_VERK", "0.06", "VERK"),  # before 2019
        _code("VERL_VERK", "0", "VERK"),  # reverse charge: the buyer accounts for the VAT
        _code("VERL_VERK_L9", "0", "VERK"),
        _code("AFW_VERK", None, "VERK"),
        _code("BU_EU_VERK", "0", "VERK"),  # export outside the EU
        _code("BI_EU_VERK", "0", "VERK"),  # EU goods
        _code("BI_EU_VERK_D", "0", "VERK"),  # EU services
        _code("AFST_VERK", "0", "VERK"),  # distance sales: foreign VAT is not computed here [I]
        _code("HOOG_INK_21", "0.21", "INK"),
        _code("LAAG_INK_9", "0.09", "INK"),
        _code("LAAG_INK", "0.06", "INK"),
        _code("VERL_INK", "0", "INK"),
        _code("VERL_INK_L9", "0", "INK"),
        _code("VERL_INK_L", "0", "INK"),
        _code("AFW", None, "INK"),
        _code("BU_EU_INK", "0", "INK"),
        _code("BI_EU_INK", "0", "INK"),
        _code("GEEN", "0", ""),
    )
}

DEFAULT_CHART: tuple[tuple[str, str, str], ...] = (
    ("0100", "Inventaris", "BAL"),
    ("0500", "Eigen vermogen", "BAL"),
    ("1000", "Kas", "FIN"),
    ("1100", "Bank", "FIN"),
    ("1300", "Debiteuren", "DEB"),
    ("1500", "Te betalen btw", "AF19"),
    ("1505", "Te betalen btw laag", "AF6"),
    ("1510", "Te vorderen btw", "VOOR"),
    ("1520", "Te betalen btw overig", "AFOVERIG"),
    ("1530", "Btw rekening-courant", "BTWRC"),
    ("1600", "Crediteuren", "CRED"),
    ("2000", "Kruisposten", "BAL"),
    ("4000", "Algemene kosten", "VW"),
    ("4500", "Bankkosten", "VW"),
    ("7000", "Inkoopwaarde van de omzet", "VW"),
    ("8000", "Omzet hoog", "VW"),
    ("8010", "Omzet laag", "VW"),
    ("8020", "Omzet geen btw", "VW"),
    ("8030", "Omzet EU", "VW"),
    ("8040", "Omzet export", "VW"),
    ("8090", "Omzet diversen", "VW"),
    ("8100", "Ontvangen verzendkosten", "VW"),
)
