"""SnelStart's dagboeken and the money booked in them for one administratie: kasboekingen (a Kas dagboek) and
bankboekingen (a Bank dagboek). Shapes are the spec's DagboekModel, KasboekingModel and BankboekingModel (the two
are the same fields); refusals are rules.py's.

A kas- or bankboeking's ``inkoopboekingBoekingsRegels`` settle purchases and its ``verkoopboekingBoekingsRegels``
sales: SnelStart lowers the invoice's ``openstaandSaldo`` by what the line pays [V: the fields; I: the effect].
Business rules beyond the spec's schema, all [I]:
- the dagboek exists, is active and is of the endpoint's soort (Kas for /kasboekingen, Bank for /bankboekingen);
- every line names an existing inkoopboeking, verkoopboeking or active grootboek;
- it balances: bedragUitgegeven − bedragOntvangen == Σ debet − Σ credit over all its lines (money paid out is
  debited to what it pays, e.g. a purchase: the supplier is owed less);
- an overpayment is accepted (the open balance goes below zero), so a payment booked twice shows.
The standard dagboeken (numbers as a new SnelStart administratie has them [I]): 1000 Kas, 1100 Bank,
1300 Verkoopboek, 1600 Inkoopboek, 1900 Memoriaal.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.snelstart.rules import ZERO, amount, guid, invalid, known, reference
from devkit.sandboxes.snelstart.schema import MODELS, defaults, format_datetime, parse_datetime, schema_errors

if TYPE_CHECKING:
    from datetime import datetime
    from decimal import Decimal

    from devkit.sandboxes.snelstart.store import Administratie

DAGBOEK_MODEL = MODELS + "Dagboeken.DagboekModel"
BOOKING_MODELS = {"Kas": MODELS + "Kasboekingen.KasboekingModel", "Bank": MODELS + "Bankboekingen.BankboekingModel"}
STANDARD_DAGBOEKEN = ((1000, "Kas", "Kas"), (1100, "Bank", "Bank"), (1300, "Verkoop", "Verkoopboek"),
                      (1600, "Inkoop", "Inkoopboek"), (1900, "Memoriaal", "Memoriaal"))  # fmt: skip
_LINES = ("grootboekBoekingsRegels", "inkoopboekingBoekingsRegels", "verkoopboekingBoekingsRegels",
          "btwBoekingsregels")  # fmt: skip


def seed_dagboeken(admin: Administratie) -> None:
    for nummer, soort, omschrijving in STANDARD_DAGBOEKEN:
        add_dagboek(admin, nummer, soort, omschrijving)


def add_dagboek(admin: Administratie, nummer: int, soort: str, omschrijving: str, *, nonactief: bool = False) -> str:
    ident = str(uuid.uuid4())
    admin.dagboeken[ident] = defaults(DAGBOEK_MODEL) | {"id": ident, "uri": f"/dagboeken/{ident}", "nummer": nummer,
                                                         "soort": soort, "omschrijving": omschrijving,
                                                         "nonactief": nonactief}  # fmt: skip
    return ident


def book(admin: Administratie, soort: str, body: Any, now: datetime) -> dict[str, Any]:
    """POST /kasboekingen (soort Kas) or /bankboekingen (Bank): checked, kept, and the invoices it pays settled."""
    _check(admin, soort, body)
    ident = str(uuid.uuid4())
    model = defaults(BOOKING_MODELS[soort]) | known(BOOKING_MODELS[soort], body)
    path = "kasboekingen" if soort == "Kas" else "bankboekingen"
    model |= {
        "id": ident,
        "uri": f"/{path}/{ident}",
        "modifiedOn": format_datetime(now),
        "datum": format_datetime(parse_datetime(model["datum"])),
        "dagboek": reference(model["dagboek"], "dagboeken"),
        "bedragUitgegeven": amount(model["bedragUitgegeven"]),
        "bedragOntvangen": amount(model["bedragOntvangen"]),
    }
    for regel in model.get("inkoopboekingBoekingsRegels") or []:
        factuur = _factuur_of(admin.inkoopfacturen, "inkoopBoeking", regel)
        _settle(admin, factuur, amount(regel.get("debet")) - amount(regel.get("credit")), now)
    for regel in model.get("verkoopboekingBoekingsRegels") or []:
        factuur = _factuur_of(admin.facturen, "verkoopBoeking", regel)
        _settle(admin, factuur, amount(regel.get("credit")) - amount(regel.get("debet")), now)
    admin.geldboekingen[ident] = model | {"soort": soort}
    return model


def _check(admin: Administratie, soort: str, body: Any) -> None:
    code = "KAS" if soort == "Kas" else "BNK"
    if not isinstance(body, dict):
        raise invalid((f"{code}-9000", f"De body moet een {soort.lower()}boeking (JSON-object) zijn."))
    problems = [(f"{code}-9000", message) for message in schema_errors(BOOKING_MODELS[soort], body)]
    if problems:
        raise invalid(*problems)
    dagboek = admin.dagboeken.get(guid((body.get("dagboek") or {}).get("id")) or "")
    if dagboek is None or dagboek["nonactief"]:
        problems.append((f"{code}-9001", f"dagboek: dagboek met id {body['dagboek'].get('id')} bestaat niet of is "
                                         "non-actief."))  # fmt: skip
    elif dagboek["soort"] != soort:
        problems.append((f"{code}-9002", f"dagboek: dagboek {dagboek['nummer']} is een {dagboek['soort']}-dagboek, "
                                         f"geen {soort}-dagboek."))  # fmt: skip
    problems += _unknown_lines(admin, body, code)
    moved = amount(body.get("bedragUitgegeven")) - amount(body.get("bedragOntvangen"))
    lines = [regel for key in _LINES for regel in body.get(key) or []]
    booked = sum((amount(r.get("debet")) - amount(r.get("credit")) for r in lines), ZERO)
    if not lines:
        problems.append((f"{code}-9004", "Een boeking heeft minstens één boekingsregel."))
    elif moved != booked:
        problems.append((f"{code}-9005", f"De boeking is niet in balans: uitgegeven − ontvangen {moved:f} is niet "
                                         f"gelijk aan debet − credit van de regels {booked:f}."))  # fmt: skip
    if problems:
        raise invalid(*problems)


def _unknown_lines(admin: Administratie, body: dict[str, Any], code: str) -> list[tuple[str, str]]:
    problems = []
    held = {"inkoopboekingBoekingsRegels": admin.inkoopboekingen, "verkoopboekingBoekingsRegels": admin.boekingen}
    for key, boekingen in held.items():
        for index, regel in enumerate(body.get(key) or []):
            ident = (regel.get("boekingId") or {}).get("id")
            if guid(ident) not in boekingen:
                problems.append((f"{code}-9003", f"{key}[{index}].boekingId: boeking met id {ident} bestaat niet."))
    for index, regel in enumerate(body.get("grootboekBoekingsRegels") or []):
        grootboek = admin.grootboeken.get(guid((regel.get("grootboek") or {}).get("id")) or "")
        if grootboek is None or grootboek["nonactief"]:
            problems.append((f"{code}-9003", f"grootboekBoekingsRegels[{index}].grootboek: bestaat niet of is "
                                             "non-actief."))  # fmt: skip
    return problems


def _factuur_of(facturen: dict[str, dict[str, Any]], link: str, regel: dict[str, Any]) -> dict[str, Any] | None:
    boeking = guid((regel.get("boekingId") or {}).get("id"))
    return next((f for f in facturen.values() if (f.get(link) or {}).get("id") == boeking), None)


def _settle(admin: Administratie, factuur: dict[str, Any] | None, paid: Decimal, now: datetime) -> None:
    if factuur is not None:
        admin.settle(factuur, paid, now)
