"""Seed data for SnelStart administraties: a Dutch standard chart of accounts and the country list.

STANDARD_CHART follows the usual Dutch numbering (0 fixed assets and equity, 1 money, receivables, VAT and
payables, 3 stock, 4 costs, 7 cost of sales, 8 revenue, 9 other results) with SnelStart's field values
(``grootboekfunctie``, ``rekeningCode`` and ``btwSoort`` from the spec's enums). The exact standard
"grootboekschema" a new SnelStart administratie starts with is not published; numbers, names and the
function of each account here are our own realistic choice [I]. Two choices worth knowing:
- SnelStart's journals are ledger accounts with a ``Dagboek…`` function, so 1300 Debiteuren carries
  ``DagboekVerkoop`` and 1600 Crediteuren ``DagboekInkoop`` [I].
- ``btwSoort`` lists the VAT kinds a booking line may carry on that account; revenue per rate takes only its
  own rate, the mixed revenue accounts (shipping, payment costs, other revenue, discounts) take every rate.
"""

from __future__ import annotations

import uuid
from typing import NamedTuple


class ChartAccount(NamedTuple):
    nummer: int
    omschrijving: str
    grootboekfunctie: str
    btw_soort: tuple[str, ...] = ()
    rubriek: str = ""

    @property
    def rekening_code(self) -> str:
        return "Balans" if self.nummer < 4000 else "WinstEnVerlies"


_ALL = ("Geen", "Laag", "Hoog", "Overig")
_COSTS = "InkopenKostenAlleBtwTarieven"

STANDARD_CHART: tuple[ChartAccount, ...] = (
    ChartAccount(100, "Goodwill", "Diversen", (), "Immateriële vaste activa"),
    ChartAccount(300, "Inventaris", "Diversen", (), "Materiële vaste activa"),
    ChartAccount(310, "Afschrijving inventaris", "Diversen", (), "Materiële vaste activa"),
    ChartAccount(400, "Vervoermiddelen", "Diversen", (), "Materiële vaste activa"),
    ChartAccount(410, "Afschrijving vervoermiddelen", "Diversen", (), "Materiële vaste activa"),
    ChartAccount(500, "Eigen vermogen", "Diversen", (), "Eigen vermogen"),
    ChartAccount(510, "Privé opnamen", "Diversen", (), "Eigen vermogen"),
    ChartAccount(700, "Lening o/g", "Diversen", (), "Langlopende schulden"),
    ChartAccount(1000, "Kas", "DagboekKas", (), "Liquide middelen"),
    ChartAccount(1100, "Bank", "DagboekBank", (), "Liquide middelen"),
    ChartAccount(1110, "Spaarrekening", "Diversen", (), "Liquide middelen"),
    ChartAccount(1200, "Kruisposten", "Kruisposten", (), "Liquide middelen"),
    ChartAccount(1210, "Tussenrekening betalingen", "TussenrekeningBetalingen", (), "Liquide middelen"),
    ChartAccount(1220, "Tussenrekening webshopbetalingen", "Diversen", (), "Liquide middelen"),
    ChartAccount(1230, "Onbekende betalingen", "OnbekendeBetalingen", (), "Liquide middelen"),
    ChartAccount(1300, "Debiteuren", "DagboekVerkoop", (), "Vorderingen"),
    ChartAccount(1310, "Voorziening dubieuze debiteuren", "Diversen", (), "Vorderingen"),
    ChartAccount(1400, "Vooruitbetaalde kosten", "Diversen", (), "Vorderingen"),
    ChartAccount(1410, "Nog te ontvangen bedragen", "Diversen", (), "Vorderingen"),
    ChartAccount(1500, "BTW af te dragen hoog", "BtwAfTeDragenHoog", (), "Belastingen"),
    ChartAccount(1510, "BTW af te dragen laag", "BtwAfteDragenLaag", (), "Belastingen"),
    ChartAccount(1520, "BTW af te dragen overig", "BtwAfTeDragenOverig", (), "Belastingen"),
    ChartAccount(1530, "BTW af te dragen verlegd", "BtwAfTeDragenVerlegdVerkopen", (), "Belastingen"),
    ChartAccount(1540, "BTW te vorderen hoog", "BtwTeVorderenHoog", (), "Belastingen"),
    ChartAccount(1550, "BTW te vorderen laag", "BtwTeVorderenLaag", (), "Belastingen"),
    ChartAccount(1560, "BTW te vorderen overig", "BtwTeVorderenOverig", (), "Belastingen"),
    ChartAccount(1570, "BTW te vorderen verlegd", "BtwTeVorderenVerlegd", (), "Belastingen"),
    ChartAccount(1580, "Af te dragen buitenlandse btw (OSS)", "Diversen", ("Geen",), "Belastingen"),
    ChartAccount(1590, "Betaalde btw", "Diversen", (), "Belastingen"),
    ChartAccount(1600, "Crediteuren", "DagboekInkoop", (), "Kortlopende schulden"),
    ChartAccount(1700, "Nog te betalen bedragen", "Diversen", (), "Kortlopende schulden"),
    ChartAccount(1710, "Vooruitontvangen bedragen", "Diversen", (), "Kortlopende schulden"),
    ChartAccount(1800, "Memoriaal", "DagboekMemoriaal", (), "Kortlopende schulden"),
    ChartAccount(1900, "Vraagposten", "Diversen", (), "Kortlopende schulden"),
    ChartAccount(3000, "Voorraad handelsgoederen", "Diversen", (), "Voorraden"),
    ChartAccount(4000, "Lonen en salarissen", "Diversen", ("Geen",), "Personeelskosten"),
    ChartAccount(4100, "Huur bedrijfsruimte", _COSTS, _ALL, "Huisvestingskosten"),
    ChartAccount(4200, "Energiekosten", _COSTS, _ALL, "Huisvestingskosten"),
    ChartAccount(4300, "Autokosten", _COSTS, _ALL, "Vervoerskosten"),
    ChartAccount(4400, "Reclame- en advertentiekosten", _COSTS, _ALL, "Verkoopkosten"),
    ChartAccount(4500, "Kantoorkosten", _COSTS, _ALL, "Kantoorkosten"),
    ChartAccount(4510, "Telefoon en internet", _COSTS, _ALL, "Kantoorkosten"),
    ChartAccount(4520, "Software en abonnementen", _COSTS, _ALL, "Kantoorkosten"),
    ChartAccount(4600, "Algemene kosten", _COSTS, _ALL, "Algemene kosten"),
    ChartAccount(4610, "Accountantskosten", _COSTS, _ALL, "Algemene kosten"),
    ChartAccount(4620, "Verzekeringen", _COSTS, ("Geen",), "Algemene kosten"),
    ChartAccount(4700, "Transactiekosten betaalproviders", _COSTS, _ALL, "Verkoopkosten"),
    ChartAccount(4800, "Afschrijvingskosten", "Diversen", ("Geen",), "Afschrijvingen"),
    ChartAccount(4900, "Rente- en bankkosten", "Diversen", ("Geen",), "Financiële baten en lasten"),
    ChartAccount(7000, "Inkoopwaarde omzet hoog", "InkopenKostenHoog", ("Hoog",), "Kostprijs van de omzet"),
    ChartAccount(7010, "Inkoopwaarde omzet laag", "InkopenKostenLaag", ("Laag",), "Kostprijs van de omzet"),
    ChartAccount(7020, "Inkoopwaarde omzet geen", _COSTS, ("Geen",), "Kostprijs van de omzet"),
    ChartAccount(7030, "Inkopen binnen EU", "InkopenImportBinnenEUhoog", ("Hoog",), "Kostprijs van de omzet"),
    ChartAccount(7040, "Inkopen buiten EU", "InkopenImportBuitenEUhoog", ("Hoog",), "Kostprijs van de omzet"),
    ChartAccount(7050, "Inkopen btw verlegd", _COSTS, ("Geen",), "Kostprijs van de omzet"),
    ChartAccount(7100, "Voorraadverschillen", "Diversen", ("Geen",), "Kostprijs van de omzet"),
    ChartAccount(8000, "Omzet hoog", "VerkopenOmzetHoog", ("Hoog",), "Omzet"),
    ChartAccount(8010, "Omzet laag", "VerkopenOmzetLaag", ("Laag",), "Omzet"),
    ChartAccount(8020, "Omzet geen/verlegd", "VerkopenOmzetOnbelastVerlegd", ("Geen",), "Omzet"),
    ChartAccount(8030, "Omzet binnen EU (ICP)", "VerkopenExportBinnenEU", ("Geen",), "Omzet"),
    ChartAccount(8035, "Omzet afstandsverkopen EU (OSS)", "InstallatieTeleverkoopBinnenEUgeen", ("Geen",), "Omzet"),
    ChartAccount(8040, "Omzet buiten EU (export)", "VerkopenExportBuitenEU", ("Geen",), "Omzet"),
    ChartAccount(8050, "Verzendkosten", "Diversen", _ALL, "Omzet"),
    ChartAccount(8060, "Betaalkosten", "Diversen", _ALL, "Omzet"),
    ChartAccount(8070, "Overige opbrengsten", "Diversen", _ALL, "Omzet"),
    ChartAccount(8090, "Kortingen", "Diversen", _ALL, "Omzet"),
    ChartAccount(8900, "Betalingskorting", "Betalingskorting", _ALL, "Omzet"),
    ChartAccount(9000, "Rentebaten", "Diversen", ("Geen",), "Financiële baten en lasten"),
    ChartAccount(9100, "Buitengewone baten en lasten", "Diversen", _ALL, "Buitengewone resultaten"),
    ChartAccount(9990, "Afrondingsverschillen", "Diversen", _ALL, "Buitengewone resultaten"),
)
CHART_BY_NUMBER: dict[int, ChartAccount] = {account.nummer: account for account in STANDARD_CHART}

# (ISO 3166 alpha-2, Dutch name): every EU member state plus the usual trading partners.
EU_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
LANDEN: tuple[tuple[str, str], ...] = (
    ("NL", "Nederland"),
    ("BE", "België"),
    ("DE", "Duitsland"),
    ("FR", "Frankrijk"),
    ("LU", "Luxemburg"),
    ("AT", "Oostenrijk"),
    ("BG", "Bulgarije"),
    ("CY", "Cyprus"),
    ("CZ", "Tsjechië"),
    ("DK", "Denemarken"),
    ("EE", "Estland"),
    ("ES", "Spanje"),
    ("FI", "Finland"),
    ("GR", "Griekenland"),
    ("HR", "Kroatië"),
    ("HU", "Hongarije"),
    ("IE", "Ierland"),
    ("IT", "Italië"),
    ("LT", "Litouwen"),
    ("LV", "Letland"),
    ("MT", "Malta"),
    ("PL", "Polen"),
    ("PT", "Portugal"),
    ("RO", "Roemenië"),
    ("SE", "Zweden"),
    ("SI", "Slovenië"),
    ("SK", "Slowakije"),
    ("GB", "Verenigd Koninkrijk"),
    ("US", "Verenigde Staten"),
    ("CH", "Zwitserland"),
    ("NO", "Noorwegen"),
    ("IS", "IJsland"),
    ("CA", "Canada"),
    ("AU", "Australië"),
    ("JP", "Japan"),
    ("CN", "China"),
    ("TR", "Turkije"),
)
_LAND_NAMESPACE = uuid.UUID("5b7a9c1e-3f0d-4d55-9a7e-6f3c2b1a0d11")


def land_id(iso: str) -> str:
    """Countries are a SnelStart-wide list, so a country has one id in every administratie [I]; stable here."""
    return str(uuid.uuid5(_LAND_NAMESPACE, iso.upper()))


def land_models() -> list[dict[str, str]]:
    """LandModel rows. ``landcode`` is SnelStart's own code, unpublished; the sandbox uses the ISO code [I]."""
    return [
        {"naam": naam, "landcode": iso, "landcodeISO": iso, "id": land_id(iso), "uri": f"/landen/{land_id(iso)}"}
        for iso, naam in LANDEN
    ]
