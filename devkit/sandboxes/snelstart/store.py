"""One SnelStart administratie: its relaties, grootboeken, verkoopboekingen and verkoopfacturen, and the rules
SnelStart applies when a partner writes to it.

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
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from devkit.sandboxes.snelstart.chart import STANDARD_CHART, land_models
from devkit.sandboxes.snelstart.schema import (
    GROOTBOEK_MODEL,
    MODELS,
    RELATIE_MODEL,
    RELATIE_WRITE_MODEL,
    VERKOOPBOEKING_MODEL,
    VERKOOPFACTUUR_MODEL,
    defaults,
    format_datetime,
    parse_datetime,
    properties,
    schema_errors,
)

_REGEL_MODEL = MODELS + "VerkoopBoekingen.VerkoopBoekingRegelModel"
_BTW_MODEL = MODELS + "VerkoopBoekingen.VerkoopBoekingBtwRegelModel"
_ADRES_MODEL = MODELS + "Relaties.AdresModel"
_ZERO = Decimal(0)
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


def _ref(value: Any, collection: str) -> dict[str, str] | None:
    ident = guid(value.get("id")) if isinstance(value, dict) else None
    return {"id": ident, "uri": f"/{collection}/{ident}"} if ident else None


def _amount(value: Any) -> Decimal:
    return Decimal(value) if isinstance(value, (int, Decimal)) and not isinstance(value, bool) else _ZERO


def _known(model: str, body: dict[str, Any]) -> dict[str, Any]:
    """.NET binds only the members a model has; anything else in the body is ignored."""
    names = properties(model)
    return {key: value for key, value in body.items() if key in names}


@dataclass
class Administratie:
    naam: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    relaties: dict[str, dict[str, Any]] = field(default_factory=dict)
    grootboeken: dict[str, dict[str, Any]] = field(default_factory=dict)
    boekingen: dict[str, dict[str, Any]] = field(default_factory=dict)
    facturen: dict[str, dict[str, Any]] = field(default_factory=dict)
    paid: dict[str, Decimal] = field(default_factory=dict)

    @classmethod
    def seeded(cls, naam: str, now: datetime) -> Administratie:
        administratie = cls(naam=naam)
        for account in STANDARD_CHART:
            administratie.add_grootboek(
                account.nummer,
                account.omschrijving,
                now,
                grootboekfunctie=account.grootboekfunctie,
                btw_soort=account.btw_soort,
                rubriek=account.rubriek,
            )
        return administratie

    # -- grootboeken ------------------------------------------------------------------------------------------
    def add_grootboek(
        self,
        nummer: int,
        omschrijving: str,
        now: datetime,
        *,
        grootboekfunctie: str = "Diversen",
        btw_soort: tuple[str, ...] = (),
        rubriek: str = "",
        ident: str | None = None,
        nonactief: bool = False,
    ) -> dict[str, Any]:
        ident = guid(ident) if ident else str(uuid.uuid4())
        if ident is None:
            raise ValueError("grootboek id must be a GUID")
        if any(g["nummer"] == nummer for g in self.grootboeken.values()):
            raise ValueError(f"grootboek {nummer} already exists in administratie {self.naam!r}")
        model = defaults(GROOTBOEK_MODEL) | {
            "modifiedOn": format_datetime(now),
            "omschrijving": omschrijving,
            "kostenplaatsVerplicht": False,
            "rekeningCode": "Balans" if nummer < 4000 else "WinstEnVerlies",
            "grootboekfunctie": grootboekfunctie,
            "grootboekRubriek": rubriek or None,
            "nonactief": nonactief,
            "nummer": nummer,
            "btwSoort": list(btw_soort),
            "id": ident,
            "uri": f"/grootboeken/{ident}",
        }
        self.grootboeken[ident] = model
        return model

    def grootboek_by_number(self, nummer: int) -> dict[str, Any]:
        for model in self.grootboeken.values():
            if model["nummer"] == nummer:
                return model
        raise KeyError(f"no grootboek {nummer} in administratie {self.naam!r}")

    # -- relaties ---------------------------------------------------------------------------------------------
    def create_relatie(self, body: Any, now: datetime, ident: str | None = None) -> dict[str, Any]:
        self._check_relatie(body, None)
        ident = guid(ident) if ident else str(uuid.uuid4())
        codes = [r["relatiecode"] for r in self.relaties.values()]
        model = defaults(RELATIE_MODEL) | {"relatiecode": max(codes, default=0) + 1}
        model |= self._relatie_fields(body) | {
            "id": ident,
            "uri": f"/relaties/{ident}",
            "modifiedOn": format_datetime(now),
            "inkoopBoekingenUri": f"/relaties/{ident}/inkoopboekingen",
            "verkoopBoekingenUri": f"/relaties/{ident}/verkoopboekingen",
        }
        self.relaties[str(ident)] = model
        return model

    def update_relatie(self, ident: str, body: Any, now: datetime) -> dict[str, Any]:
        """PUT binds a whole model, so members left out fall back to their defaults; id and code stay [I]."""
        current = self._relatie(ident)
        self._check_relatie(body, current["id"])
        keep = {key: current[key] for key in ("id", "uri", "relatiecode", "inkoopBoekingenUri", "verkoopBoekingenUri")}
        model = defaults(RELATIE_MODEL) | keep | self._relatie_fields(body) | {"modifiedOn": format_datetime(now)}
        self.relaties[current["id"]] = model
        return model

    @staticmethod
    def write_view(model: dict[str, Any]) -> dict[str, Any]:
        """POST/PUT /relaties answer with RelatieWriteModel (the read model minus e.g. ``fax``)."""
        return _known(RELATIE_WRITE_MODEL, model)

    def _relatie(self, ident: str) -> dict[str, Any]:
        model = self.relaties.get(guid(ident) or "")
        if model is None:
            raise not_found("Relatie", ident)
        return model

    def _relatie_fields(self, body: dict[str, Any]) -> dict[str, Any]:
        fields = _known(RELATIE_WRITE_MODEL, body)
        for key in ("id", "uri", "modifiedOn", "inkoopBoekingenUri", "verkoopBoekingenUri"):
            fields.pop(key, None)
        if fields.get("relatiecode") is None:
            fields.pop("relatiecode", None)
        for key in ("vestigingsAdres", "correspondentieAdres"):
            if isinstance(fields.get(key), dict):
                adres = defaults(_ADRES_MODEL) | _known(_ADRES_MODEL, fields[key])
                adres["land"] = _ref(adres.get("land"), "landen")
                fields[key] = adres
        if "factuurRelatie" in fields:
            fields["factuurRelatie"] = _ref(fields["factuurRelatie"], "relaties")
        return fields

    def _check_relatie(self, body: Any, own_id: str | None) -> None:
        if not isinstance(body, dict):
            raise invalid(("REL-9000", "De body moet een RelatieModel (JSON-object) zijn."))
        problems = [("REL-9000", message) for message in schema_errors(RELATIE_WRITE_MODEL, body)]
        if not str(body.get("naam") or "").strip():
            problems.append(("REL-9001", "naam: het veld is verplicht."))
        soorten = body.get("relatiesoort") or []
        if not soorten or any(s not in ("Klant", "Leverancier") for s in soorten):
            problems.append(("REL-9002", f"relatiesoort: {soorten!r} is ongeldig; toegestaan: Klant, Leverancier."))
        code = body.get("relatiecode")
        if code is not None and any(r["relatiecode"] == code and r["id"] != own_id for r in self.relaties.values()):
            problems.append(("REL-9003", f"relatiecode: {code} is al in gebruik."))
        for key in ("vestigingsAdres", "correspondentieAdres"):
            adres = body.get(key)
            land = adres.get("land") if isinstance(adres, dict) else None
            if isinstance(land, dict) and land.get("id") and guid(land["id"]) not in _LAND_IDS:
                problems.append(("REL-9004", f"{key}.land: land met id {land['id']} bestaat niet."))
        if problems:
            raise invalid(*problems)

    # -- verkoopboekingen -------------------------------------------------------------------------------------
    def create_boeking(self, body: Any, now: datetime, *, refuse_duplicates: bool = False) -> dict[str, Any]:
        self._check_boeking(body, None, refuse_duplicates)
        ident, factuur_id = str(uuid.uuid4()), str(uuid.uuid4())
        boeking = self._boeking_model(ident, body, now)
        self.boekingen[ident] = boeking
        factuur = defaults(VERKOOPFACTUUR_MODEL) | {"id": factuur_id, "uri": f"/verkoopfacturen/{factuur_id}"}
        self.facturen[factuur_id] = factuur
        self._sync_factuur(boeking, factuur, now)
        return boeking

    def update_boeking(
        self, ident: str, body: Any, now: datetime, *, refuse_duplicates: bool = False
    ) -> dict[str, Any]:
        current = self.boeking(ident)
        self._check_boeking(body, current["id"], refuse_duplicates)
        boeking = self._boeking_model(current["id"], body, now)
        self.boekingen[current["id"]] = boeking
        factuur = self._factuur_of(boeking["id"])
        if factuur is not None:
            self._sync_factuur(boeking, factuur, now)
        return boeking

    def delete_boeking(self, ident: str) -> None:
        boeking = self.boeking(ident)
        del self.boekingen[boeking["id"]]
        factuur = self._factuur_of(boeking["id"])
        if factuur is not None:
            del self.facturen[factuur["id"]]

    def boeking(self, ident: str) -> dict[str, Any]:
        model = self.boekingen.get(guid(ident) or "")
        if model is None:
            raise not_found("Verkoopboeking", ident)
        return model

    def duplicates(self) -> list[str]:
        counts = Counter(b["factuurnummer"] for b in self.boekingen.values())
        return sorted(number for number, count in counts.items() if count > 1)

    def pay(self, factuurnummer: str, amount: Decimal, now: datetime) -> dict[str, Any]:
        """Lower the open balance of the first still-open invoice with that number (a bank booking would)."""
        candidates = [f for f in self.facturen.values() if f["factuurnummer"] == factuurnummer]
        if not candidates:
            raise KeyError(f"no verkoopfactuur {factuurnummer!r} in administratie {self.naam!r}")
        factuur = next((f for f in candidates if f["openstaandSaldo"] != 0), candidates[0])
        self.paid[factuur["id"]] = self.paid.get(factuur["id"], _ZERO) + Decimal(amount)
        factuur["openstaandSaldo"] = factuur["factuurBedrag"] - self.paid[factuur["id"]]
        factuur["modifiedOn"] = format_datetime(now)
        return factuur

    def _boeking_model(self, ident: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        model = defaults(VERKOOPBOEKING_MODEL) | _known(VERKOOPBOEKING_MODEL, body)
        model |= {"id": ident, "uri": f"/verkoopboekingen/{ident}", "modifiedOn": format_datetime(now)}
        model["klant"] = _ref(model.get("klant"), "relaties")
        datum = model.get("factuurdatum")
        model["factuurdatum"] = format_datetime(
            parse_datetime(datum) if datum else now.replace(hour=0, minute=0, second=0, microsecond=0)
        )
        model["factuurbedrag"] = _amount(model.get("factuurbedrag"))
        model["boekingsregels"] = [
            defaults(_REGEL_MODEL)
            | _known(_REGEL_MODEL, regel)
            | {
                "grootboek": _ref(regel.get("grootboek"), "grootboeken"),
                "kostenplaats": _ref(regel.get("kostenplaats"), "kostenplaatsen"),
                "bedrag": _amount(regel.get("bedrag")),
            }
            for regel in model.get("boekingsregels") or []
        ]
        model["btw"] = [defaults(_BTW_MODEL) | _known(_BTW_MODEL, regel) for regel in model.get("btw") or []]
        model["documents"] = model.get("documents") or []
        return model

    def _sync_factuur(self, boeking: dict[str, Any], factuur: dict[str, Any], now: datetime) -> None:
        """The invoice SnelStart derives from a booking; betalingstermijn 0/absent falls back to the relatie's
        krediettermijn for the due date [I]."""
        klant = self.relaties[boeking["klant"]["id"]]
        termijn = boeking.get("betalingstermijn") or klant.get("krediettermijn") or 0
        datum = parse_datetime(boeking["factuurdatum"])
        factuur |= {
            "factuurnummer": boeking["factuurnummer"],
            "factuurDatum": boeking["factuurdatum"],
            "vervalDatum": format_datetime(datum + timedelta(days=int(termijn))),
            "factuurBedrag": boeking["factuurbedrag"],
            "openstaandSaldo": boeking["factuurbedrag"] - self.paid.get(factuur["id"], _ZERO),
            "relatie": dict(boeking["klant"]),
            "verkoopBoeking": {"id": boeking["id"], "uri": boeking["uri"]},
            "modifiedOn": format_datetime(now),
        }

    def _factuur_of(self, boeking_id: str) -> dict[str, Any] | None:
        return next((f for f in self.facturen.values() if (f["verkoopBoeking"] or {}).get("id") == boeking_id), None)

    def _check_boeking(self, body: Any, own_id: str | None, refuse_duplicates: bool) -> None:
        if not isinstance(body, dict):
            raise invalid(("BOE-9000", "De body moet een VerkoopBoekingModel (JSON-object) zijn."))
        problems = [("BOE-9000", message) for message in schema_errors(VERKOOPBOEKING_MODEL, body)]
        if problems:
            raise invalid(*problems)
        nummer = str(body.get("factuurnummer") or "").strip()
        if not nummer:
            problems.append(("BOE-9001", "factuurnummer: het veld is verplicht."))
        klant = guid((body.get("klant") or {}).get("id"))
        if klant not in self.relaties:
            problems.append(
                ("BOE-9002", f"klant: relatie met id {body['klant'].get('id')} bestaat niet in deze administratie.")
            )
        regels = body.get("boekingsregels") or []
        if not regels:
            problems.append(("BOE-9003", "boekingsregels: een verkoopboeking heeft minstens één boekingsregel."))
        problems += self._check_regels(regels) + self._check_btw(body.get("btw") or [])
        problems += self._check_balance(body, regels)
        if (
            refuse_duplicates
            and nummer
            and any(b["factuurnummer"] == nummer and b["id"] != own_id for b in self.boekingen.values())
        ):
            problems.append(("BOE-0021", "Het factuurnummer bestaat al"))
        if problems:
            raise invalid(*problems)

    def _check_regels(self, regels: list[dict[str, Any]]) -> list[tuple[str, str]]:
        problems = []
        for index, regel in enumerate(regels):
            ident = (regel.get("grootboek") or {}).get("id")
            grootboek = self.grootboeken.get(guid(ident) or "")
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

    @staticmethod
    def _check_btw(btw: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [
            ("BOE-9007", f"btw[{index}].btwSoort: {regel['btwSoort']} hoort bij inkopen, niet bij een verkoopboeking.")
            for index, regel in enumerate(btw)
            if str(regel.get("btwSoort") or "").startswith("Inkopen")
        ]

    @staticmethod
    def _check_balance(body: dict[str, Any], regels: list[dict[str, Any]]) -> list[tuple[str, str]]:
        factuurbedrag = _amount(body.get("factuurbedrag"))
        omzet = sum((_amount(regel.get("bedrag")) for regel in regels), _ZERO)
        btw = sum((_amount(regel.get("btwBedrag")) for regel in body.get("btw") or []), _ZERO)
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
