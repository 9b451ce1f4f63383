"""SnelStart's purchase side for one administratie: inkoopboekingen, the inkoopfacturen derived from them, and the
documents (attachments) uploaded to them. Shapes are the spec's InkoopboekingModel, InkoopfactuurModel and
DocumentContentModel; refusals are rules.py's.

Business rules beyond the spec's schema, all [I] except where marked:
- an inkoopboeking needs a non-empty factuurnummer, an existing leverancier (any relatie: the spec does not say
  that it must carry the Leverancier soort), at least one boekingsregel on an existing, active grootboek with a
  ``btwSoort`` the grootboek allows, and it must balance: factuurbedrag == Σ bedrag + Σ btwBedrag;
- a line on a ledger with grootboekfunctie InkopenKostenAlleBtwTarieven (30) or InkopenVraagPosten (34) must name
  its ``btwSoort`` [V: the spec's description of InkoopboekingRegelModel.btwSoort];
- ``btw`` entries carry Inkopen… kinds (or Geen), never Verkopen…;
- a factuurnummer repeats freely across suppliers; one supplier's repeat is accepted and counted (``duplicates``)
  unless ``refuse_duplicates`` is set, which answers BOE-0021 as for sales;
- the inkoopfactuur falls due after the leverancier's krediettermijn (the booking carries no term of its own).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.snelstart.rules import (
    ZERO,
    amount,
    booking_lines,
    check_regels,
    guid,
    invalid,
    known,
    not_found,
    reference,
    unbalanced,
)
from devkit.sandboxes.snelstart.schema import (
    DOCUMENT_CONTENT_MODEL,
    INKOOPBOEKING_MODEL,
    INKOOPFACTUUR_MODEL,
    MODELS,
    defaults,
    format_datetime,
    parse_datetime,
    schema_errors,
)

if TYPE_CHECKING:
    from devkit.sandboxes.snelstart.store import Administratie

_REGEL_MODEL = MODELS + "Inkoopboekingen.InkoopboekingRegelModel"
_BTW_MODEL = MODELS + "Inkoopboekingen.BtwBoekingModel"
_SOORT_REQUIRED = ("InkopenKostenAlleBtwTarieven", "InkopenVraagPosten")
DOCUMENT_TYPES = {"inkoopboekingen": "Inkoopboekingen", "verkoopboekingen": "Verkoopboekingen", "relaties": "Relaties"}


def check_inkoopboeking(admin: Administratie, body: Any, own_id: str | None, refuse_duplicates: bool) -> None:
    """Refuse an inkoopboeking body SnelStart would not take (own_id: the boeking a PUT replaces)."""
    if not isinstance(body, dict):
        raise invalid(("BOE-9000", "De body moet een InkoopboekingModel (JSON-object) zijn."))
    problems = [("BOE-9000", message) for message in schema_errors(INKOOPBOEKING_MODEL, body)]
    if problems:
        raise invalid(*problems)
    nummer = str(body.get("factuurnummer") or "").strip()
    if not nummer:
        problems.append(("BOE-9001", "factuurnummer: het veld is verplicht."))
    leverancier = guid((body.get("leverancier") or {}).get("id"))
    if leverancier not in admin.relaties:
        problems.append(
            (
                "BOE-9002",
                f"leverancier: relatie met id {body['leverancier'].get('id')} bestaat niet in deze administratie.",
            )
        )
    regels = body.get("boekingsregels") or []
    if not regels:
        problems.append(("BOE-9003", "boekingsregels: een inkoopboeking heeft minstens één boekingsregel."))
    problems += check_regels(admin, regels) + _soort_where_required(admin, regels) + _check_btw(body.get("btw") or [])
    problems += unbalanced(body, regels)
    if (
        refuse_duplicates
        and nummer
        and any(
            b["factuurnummer"] == nummer and (b["leverancier"] or {}).get("id") == leverancier and b["id"] != own_id
            for b in admin.inkoopboekingen.values()
        )
    ):
        problems.append(("BOE-0021", "Het factuurnummer bestaat al"))
    if problems:
        raise invalid(*problems)


def _soort_where_required(admin: Administratie, regels: list[dict[str, Any]]) -> list[tuple[str, str]]:
    problems = []
    for index, regel in enumerate(regels):
        grootboek = admin.grootboeken.get(guid((regel.get("grootboek") or {}).get("id")) or "")
        if grootboek and grootboek["grootboekfunctie"] in _SOORT_REQUIRED and not regel.get("btwSoort"):
            problems.append(
                (
                    "BOE-9009",
                    f"boekingsregels[{index}].btwSoort: verplicht op grootboek {grootboek['nummer']} "
                    f"(grootboekfunctie {grootboek['grootboekfunctie']}).",
                )
            )
    return problems


def _check_btw(btw: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        ("BOE-9007", f"btw[{index}].btwSoort: {regel['btwSoort']} hoort bij verkopen, niet bij een inkoopboeking.")
        for index, regel in enumerate(btw)
        if str(regel.get("btwSoort") or "").startswith("Verkopen")
    ]


class Purchases:
    """The purchase records of one administratie (a part of store.Administratie)."""

    def __init__(self, admin: Administratie) -> None:
        self.admin = admin

    def create(self, body: Any, now: datetime, *, refuse_duplicates: bool = False) -> dict[str, Any]:
        check_inkoopboeking(self.admin, body, None, refuse_duplicates)
        ident, factuur_id = str(uuid.uuid4()), str(uuid.uuid4())
        boeking = self._model(ident, body, now)
        self.admin.inkoopboekingen[ident] = boeking
        factuur = defaults(INKOOPFACTUUR_MODEL) | {"id": factuur_id, "uri": f"/inkoopfacturen/{factuur_id}"}
        self.admin.inkoopfacturen[factuur_id] = factuur
        self._sync_factuur(boeking, factuur, now)
        return boeking

    def update(self, ident: str, body: Any, now: datetime, *, refuse_duplicates: bool = False) -> dict[str, Any]:
        current = self.get(ident)
        check_inkoopboeking(self.admin, body, current["id"], refuse_duplicates)
        boeking = self._model(current["id"], body, now) | {"documents": current["documents"]}
        self.admin.inkoopboekingen[current["id"]] = boeking
        factuur = self._factuur_of(boeking["id"])
        if factuur is not None:
            self._sync_factuur(boeking, factuur, now)
        return boeking

    def delete(self, ident: str) -> None:
        boeking = self.get(ident)
        del self.admin.inkoopboekingen[boeking["id"]]
        factuur = self._factuur_of(boeking["id"])
        if factuur is not None:
            del self.admin.inkoopfacturen[factuur["id"]]

    def get(self, ident: str) -> dict[str, Any]:
        model = self.admin.inkoopboekingen.get(guid(ident) or "")
        if model is None:
            raise not_found("Inkoopboeking", ident)
        return model

    def of_relatie(self, ident: str) -> list[dict[str, Any]]:
        return [b for b in self.admin.inkoopboekingen.values() if (b["leverancier"] or {}).get("id") == guid(ident)]

    def duplicates(self) -> list[str]:
        """Supplier invoice numbers booked more than once for the same supplier."""
        counts = Counter(
            (b["factuurnummer"], (b["leverancier"] or {}).get("id")) for b in self.admin.inkoopboekingen.values()
        )
        return sorted(number for (number, _), count in counts.items() if count > 1)

    # -- documenten ---------------------------------------------------------------------------------------------
    def upload(self, documenttype: str, body: Any) -> dict[str, Any]:
        """POST /documenten/{documenttype}: a base64 file for an inkoopboeking (other parents are not kept here)."""
        kind = DOCUMENT_TYPES.get(documenttype.lower())
        if kind is None:
            raise invalid(("DOC-9000", f"documenttype: {documenttype!r} is ongeldig; toegestaan: "
                                       f"{', '.join(DOCUMENT_TYPES.values())}."))  # fmt: skip
        if not isinstance(body, dict):
            raise invalid(("DOC-9000", "De body moet een DocumentContentModel (JSON-object) zijn."))
        problems = [("DOC-9000", message) for message in schema_errors(DOCUMENT_CONTENT_MODEL, body)]
        if not str(body.get("fileName") or "").strip():
            problems.append(("DOC-9001", "fileName: het veld is verplicht."))
        try:
            content = base64.b64decode(str(body.get("content") or ""), validate=True)
        except (binascii.Error, ValueError):
            problems.append(("DOC-9002", "content: geen geldige base64."))
            content = b""
        if not content and not problems:
            problems.append(("DOC-9002", "content: het document is leeg."))
        if problems:
            raise invalid(*problems)
        parent = guid(body.get("parentIdentifier"))
        if kind != "Inkoopboekingen" or parent not in self.admin.inkoopboekingen:
            raise not_found(kind[:-2] if kind.endswith("en") else kind, str(body.get("parentIdentifier")))
        ident = str(uuid.uuid4())
        document = {"id": ident, "uri": f"/documenten/{ident}", "fileName": body["fileName"], "readOnly": False,
                    "parentIdentifier": parent, "content": content}  # fmt: skip
        self.admin.documenten[ident] = document
        self.admin.inkoopboekingen[parent]["documents"].append(_document_model(document))
        return {"id": ident, "uri": document["uri"]}

    def documents(self, documenttype: str, parent: str) -> list[dict[str, Any]]:
        """GET /documenten/{documenttype}/{pid}: the spec answers VerkoopBoekingBijlageReferenceModel rows for every
        type, the parent's id in ``verkoopBoekingId`` [I]."""
        if DOCUMENT_TYPES.get(documenttype.lower()) != "Inkoopboekingen":
            raise invalid(("DOC-9000", f"documenttype: {documenttype!r} wordt hier niet bijgehouden."))
        self.get(parent)
        return [
            {
                "fileName": d["fileName"],
                "id": d["id"],
                "readOnly": d["readOnly"],
                "uri": d["uri"],
                "verkoopBoekingId": d["parentIdentifier"],
            }
            for d in self.admin.documenten.values()
            if d["parentIdentifier"] == guid(parent)
        ]

    def _model(self, ident: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        model = defaults(INKOOPBOEKING_MODEL) | known(INKOOPBOEKING_MODEL, body)
        model |= {"id": ident, "uri": f"/inkoopboekingen/{ident}", "modifiedOn": format_datetime(now)}
        model["leverancier"] = reference(model.get("leverancier"), "relaties")
        model["factuurdatum"] = format_datetime(parse_datetime(model["factuurdatum"]))
        model["factuurbedrag"] = amount(model.get("factuurbedrag"))
        booking_lines(model, _REGEL_MODEL, _BTW_MODEL)
        model["documents"] = []  # attached through /documenten, not with the booking
        return model

    def _sync_factuur(self, boeking: dict[str, Any], factuur: dict[str, Any], now: datetime) -> None:
        leverancier = self.admin.relaties[boeking["leverancier"]["id"]]
        datum = parse_datetime(boeking["factuurdatum"])
        factuur |= {
            "factuurnummer": boeking["factuurnummer"],
            "factuurDatum": boeking["factuurdatum"],
            "vervalDatum": format_datetime(datum + timedelta(days=int(leverancier.get("krediettermijn") or 0))),
            "factuurBedrag": boeking["factuurbedrag"],
            "openstaandSaldo": boeking["factuurbedrag"] - self.admin.paid.get(factuur["id"], ZERO),
            "relatie": dict(boeking["leverancier"]),
            "inkoopBoeking": {"id": boeking["id"], "uri": boeking["uri"]},
            "modifiedOn": format_datetime(now),
        }

    def _factuur_of(self, boeking_id: str) -> dict[str, Any] | None:
        facturen = self.admin.inkoopfacturen.values()
        return next((f for f in facturen if (f["inkoopBoeking"] or {}).get("id") == boeking_id), None)


def _document_model(document: dict[str, Any]) -> dict[str, Any]:
    keys = ("parentIdentifier", "fileName", "readOnly", "id", "uri")
    return {key: document[key] for key in keys}
