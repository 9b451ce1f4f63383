"""SnelStart's rules for what a partner writes, and the shape of its refusals.

Validation errors answer 400 with a JSON list of ``{"errorCode", "message", "details"}`` objects. The spec
documents no error body; that shape and the code ``BOE-0021`` ("Het factuurnummer bestaat al") are what two
independent public clients of the live API parse [I]. Every other code here (``BOE-9xxx``, ``REL-9xxx``) is
the sandbox's own, in SnelStart's ``{AAA}-{nnnn}`` form: branch on the HTTP status, not on those codes.

Business rules beyond the spec's schema, all [I] (SnelStart does not publish them):
- a verkoopboeking needs a non-empty factuurnummer, an existing klant, at least one boekingsregel, existing
  and active grootboeken, a line ``btwSoort`` the grootboek allows, no ``Inkopen…`` VAT kinds, and it must
  balance: factuurbedrag == Σ boekingsregels.bedrag + Σ btw.btwBedrag, exactly;
- duplicate factuurnummers are accepted and counted (``duplicates``) unless ``refuse_duplicates`` is set,
  which answers BOE-0021 as the clients above expect;
- a relatie needs a naam and a relatiesoort of Klant/Leverancier; a relatiecode is unique.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.snelstart.chart import land_models
from devkit.sandboxes.snelstart.schema import (
    RELATIE_WRITE_MODEL,
    VERKOOPBOEKING_MODEL,
    defaults,
    properties,
    schema_errors,
)

if TYPE_CHECKING:
    from devkit.sandboxes.snelstart.store import Administratie

ZERO = Decimal(0)
_LAND_IDS = frozenset(land["id"] for land in land_models())


class ApiError(Exception):
    """An answer other than success: HTTP status plus the JSON body SnelStart would send."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def invalid(*problems: tuple[str, str]) -> ApiError:
    return ApiError(400, [{"errorCode": code, "message": message, "details": None} for code, message in problems])


def not_found(kind: str, ident: str) -> ApiError:
    return ApiError(404, [{"errorCode": None, "message": f"{kind} met id {ident} is niet gevonden.", "details": None}])


def guid(value: Any) -> str | None:
    """GUIDs compare case-insensitively (the vendor's own examples mix cases); None when not a GUID."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def reference(value: Any, collection: str) -> dict[str, str] | None:
    """A ``{"id"}`` the body names, as the API answers it: ``{"id", "uri"}`` (None when it names no GUID)."""
    ident = guid(value.get("id")) if isinstance(value, dict) else None
    return {"id": ident, "uri": f"/{collection}/{ident}"} if ident else None


def known(model: str, body: dict[str, Any]) -> dict[str, Any]:
    """.NET binds only the members a model has; anything else in the body is ignored."""
    names = properties(model)
    return {key: value for key, value in body.items() if key in names}


def amount(value: Any) -> Decimal:
    return Decimal(value) if isinstance(value, (int, Decimal)) and not isinstance(value, bool) else ZERO


def booking_lines(model: dict[str, Any], regel_model: str, btw_model: str) -> None:
    """A verkoop- or inkoopboeking's lines as SnelStart stores them: every field of the spec's line models, references
    as ``{id, uri}``, amounts as decimals (the two bookings differ only in their models' names)."""
    model["boekingsregels"] = [
        defaults(regel_model)
        | known(regel_model, regel)
        | {
            "grootboek": reference(regel.get("grootboek"), "grootboeken"),
            "kostenplaats": reference(regel.get("kostenplaats"), "kostenplaatsen"),
            "bedrag": amount(regel.get("bedrag")),
        }
        for regel in model.get("boekingsregels") or []
    ]
    model["btw"] = [defaults(btw_model) | known(btw_model, regel) for regel in model.get("btw") or []]


def check_relatie(administratie: Administratie, body: Any, own_id: str | None) -> None:
    """Refuse a relatie body SnelStart would not take (own_id: the relatie a PUT replaces)."""
    if not isinstance(body, dict):
        raise invalid(("REL-9000", "De body moet een RelatieModel (JSON-object) zijn."))
    problems = [("REL-9000", message) for message in schema_errors(RELATIE_WRITE_MODEL, body)]
    if not str(body.get("naam") or "").strip():
        problems.append(("REL-9001", "naam: het veld is verplicht."))
    soorten = body.get("relatiesoort") or []
    if not soorten or any(s not in ("Klant", "Leverancier") for s in soorten):
        problems.append(("REL-9002", f"relatiesoort: {soorten!r} is ongeldig; toegestaan: Klant, Leverancier."))
    code = body.get("relatiecode")
    if code is not None and any(
        r["relatiecode"] == code and r["id"] != own_id for r in administratie.relaties.values()
    ):
        problems.append(("REL-9003", f"relatiecode: {code} is al in gebruik."))
    for key in ("vestigingsAdres", "correspondentieAdres"):
        adres = body.get(key)
        land = adres.get("land") if isinstance(adres, dict) else None
        if isinstance(land, dict) and land.get("id") and guid(land["id"]) not in _LAND_IDS:
            problems.append(("REL-9004", f"{key}.land: land met id {land['id']} bestaat niet."))
    if problems:
        raise invalid(*problems)


def check_boeking(administratie: Administratie, body: Any, own_id: str | None, refuse_duplicates: bool) -> None:
    """Refuse a verkoopboeking body SnelStart would not take (own_id: the boeking a PUT replaces)."""
    if not isinstance(body, dict):
        raise invalid(("BOE-9000", "De body moet een VerkoopBoekingModel (JSON-object) zijn."))
    problems = [("BOE-9000", message) for message in schema_errors(VERKOOPBOEKING_MODEL, body)]
    if problems:
        raise invalid(*problems)
    nummer = str(body.get("factuurnummer") or "").strip()
    if not nummer:
        problems.append(("BOE-9001", "factuurnummer: het veld is verplicht."))
    klant = guid((body.get("klant") or {}).get("id"))
    if klant not in administratie.relaties:
        problems.append(
            ("BOE-9002", f"klant: relatie met id {body['klant'].get('id')} bestaat niet in deze administratie.")
        )
    regels = body.get("boekingsregels") or []
    if not regels:
        problems.append(("BOE-9003", "boekingsregels: een verkoopboeking heeft minstens één boekingsregel."))
    problems += check_regels(administratie, regels) + _check_btw(body.get("btw") or [])
    problems += unbalanced(body, regels)
    if (
        refuse_duplicates
        and nummer
        and any(b["factuurnummer"] == nummer and b["id"] != own_id for b in administratie.boekingen.values())
    ):
        problems.append(("BOE-0021", "Het factuurnummer bestaat al"))
    if problems:
        raise invalid(*problems)


def check_regels(administratie: Administratie, regels: list[dict[str, Any]]) -> list[tuple[str, str]]:
    problems = []
    for index, regel in enumerate(regels):
        ident = (regel.get("grootboek") or {}).get("id")
        grootboek = administratie.grootboeken.get(guid(ident) or "")
        where = f"boekingsregels[{index}]"
        if grootboek is None:
            problems.append(
                ("BOE-9004", f"{where}.grootboek: grootboek met id {ident} bestaat niet in deze administratie.")
            )
        elif grootboek["nonactief"]:
            problems.append(("BOE-9005", f"{where}.grootboek: grootboek {grootboek['nummer']} is non-actief."))
        elif regel.get("btwSoort") and grootboek["btwSoort"] and regel["btwSoort"] not in grootboek["btwSoort"]:
            problems.append(
                (
                    "BOE-9006",
                    f"{where}.btwSoort: {regel['btwSoort']} is niet toegestaan op grootboek {grootboek['nummer']} "
                    f"(toegestaan: {', '.join(grootboek['btwSoort'])}).",
                )
            )
    return problems


def _check_btw(btw: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        ("BOE-9007", f"btw[{index}].btwSoort: {regel['btwSoort']} hoort bij inkopen, niet bij een verkoopboeking.")
        for index, regel in enumerate(btw)
        if str(regel.get("btwSoort") or "").startswith("Inkopen")
    ]


def unbalanced(body: dict[str, Any], regels: list[dict[str, Any]]) -> list[tuple[str, str]]:
    factuurbedrag = amount(body.get("factuurbedrag"))
    omzet = sum((amount(regel.get("bedrag")) for regel in regels), ZERO)
    btw = sum((amount(regel.get("btwBedrag")) for regel in body.get("btw") or []), ZERO)
    difference = factuurbedrag - (omzet + btw)
    if difference == 0:
        return []
    return [
        (
            "BOE-9008",
            f"De boeking is niet in balans: factuurbedrag {factuurbedrag:f} is niet gelijk aan boekingsregels "
            f"{omzet:f} + btw {btw:f} = {omzet + btw:f}; verschil {difference:f}.",
        )
    ]
