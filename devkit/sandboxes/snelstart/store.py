"""One SnelStart administratie: its relaties, grootboeken, verkoopboekingen and verkoopfacturen, as the API
writes and reads them (the purchase side is purchases.py). What it refuses, and how, is in rules.py.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from devkit.sandboxes.snelstart.chart import STANDARD_CHART
from devkit.sandboxes.snelstart.journals import seed_dagboeken
from devkit.sandboxes.snelstart.purchases import Purchases
from devkit.sandboxes.snelstart.rules import (
    ZERO,
    amount,
    booking_lines,
    check_boeking,
    check_relatie,
    guid,
    known,
    not_found,
    reference,
)
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
)

_REGEL_MODEL = MODELS + "VerkoopBoekingen.VerkoopBoekingRegelModel"
_BTW_MODEL = MODELS + "VerkoopBoekingen.VerkoopBoekingBtwRegelModel"
_ADRES_MODEL = MODELS + "Relaties.AdresModel"


@dataclass
class Administratie:
    naam: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    relaties: dict[str, dict[str, Any]] = field(default_factory=dict)
    grootboeken: dict[str, dict[str, Any]] = field(default_factory=dict)
    boekingen: dict[str, dict[str, Any]] = field(default_factory=dict)
    facturen: dict[str, dict[str, Any]] = field(default_factory=dict)
    paid: dict[str, Decimal] = field(default_factory=dict)
    inkoopboekingen: dict[str, dict[str, Any]] = field(default_factory=dict)
    inkoopfacturen: dict[str, dict[str, Any]] = field(default_factory=dict)
    documenten: dict[str, dict[str, Any]] = field(default_factory=dict)
    dagboeken: dict[str, dict[str, Any]] = field(default_factory=dict)
    geldboekingen: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Kas- and bankboekingen (journals.py), each with its ``soort``."""

    @property
    def purchases(self) -> Purchases:
        return Purchases(self)

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
        seed_dagboeken(administratie)
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
        check_relatie(self, body, None)
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
        check_relatie(self, body, current["id"])
        keep = {key: current[key] for key in ("id", "uri", "relatiecode", "inkoopBoekingenUri", "verkoopBoekingenUri")}
        model = defaults(RELATIE_MODEL) | keep | self._relatie_fields(body) | {"modifiedOn": format_datetime(now)}
        self.relaties[current["id"]] = model
        return model

    @staticmethod
    def write_view(model: dict[str, Any]) -> dict[str, Any]:
        """POST/PUT /relaties answer with RelatieWriteModel (the read model minus e.g. ``fax``)."""
        return known(RELATIE_WRITE_MODEL, model)

    def _relatie(self, ident: str) -> dict[str, Any]:
        model = self.relaties.get(guid(ident) or "")
        if model is None:
            raise not_found("Relatie", ident)
        return model

    def _relatie_fields(self, body: dict[str, Any]) -> dict[str, Any]:
        fields = known(RELATIE_WRITE_MODEL, body)
        for key in ("id", "uri", "modifiedOn", "inkoopBoekingenUri", "verkoopBoekingenUri"):
            fields.pop(key, None)
        if fields.get("relatiecode") is None:
            fields.pop("relatiecode", None)
        for key in ("vestigingsAdres", "correspondentieAdres"):
            if isinstance(fields.get(key), dict):
                adres = defaults(_ADRES_MODEL) | known(_ADRES_MODEL, fields[key])
                adres["land"] = reference(adres.get("land"), "landen")
                fields[key] = adres
        if "factuurRelatie" in fields:
            fields["factuurRelatie"] = reference(fields["factuurRelatie"], "relaties")
        return fields

    # -- verkoopboekingen -------------------------------------------------------------------------------------
    def create_boeking(self, body: Any, now: datetime, *, refuse_duplicates: bool = False) -> dict[str, Any]:
        check_boeking(self, body, None, refuse_duplicates)
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
        check_boeking(self, body, current["id"], refuse_duplicates)
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
        self.settle(factuur, Decimal(amount), now)
        return factuur

    def settle(self, factuur: dict[str, Any], paid: Decimal, now: datetime) -> None:
        """A payment on a verkoop- or inkoopfactuur (negative: a refund): its openstaandSaldo goes down by it."""
        self.paid[factuur["id"]] = self.paid.get(factuur["id"], ZERO) + paid
        factuur["openstaandSaldo"] = factuur["factuurBedrag"] - self.paid[factuur["id"]]
        factuur["modifiedOn"] = format_datetime(now)

    def _boeking_model(self, ident: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        model = defaults(VERKOOPBOEKING_MODEL) | known(VERKOOPBOEKING_MODEL, body)
        model |= {"id": ident, "uri": f"/verkoopboekingen/{ident}", "modifiedOn": format_datetime(now)}
        model["klant"] = reference(model.get("klant"), "relaties")
        datum = model.get("factuurdatum")
        model["factuurdatum"] = format_datetime(
            parse_datetime(datum) if datum else now.replace(hour=0, minute=0, second=0, microsecond=0)
        )
        model["factuurbedrag"] = amount(model.get("factuurbedrag"))
        booking_lines(model, _REGEL_MODEL, _BTW_MODEL)
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
            "openstaandSaldo": boeking["factuurbedrag"] - self.paid.get(factuur["id"], ZERO),
            "relatie": dict(boeking["klant"]),
            "verkoopBoeking": {"id": boeking["id"], "uri": boeking["uri"]},
            "modifiedOn": format_datetime(now),
        }

    def _factuur_of(self, boeking_id: str) -> dict[str, Any] | None:
        return next((f for f in self.facturen.values() if (f["verkoopBoeking"] or {}).get("id") == boeking_id), None)
