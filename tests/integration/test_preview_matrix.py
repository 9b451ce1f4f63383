"""Any source to any target: a representative document of every source, previewed into every target.

The pairs come from the connectors themselves (``previewable()``): a vendor package that declares it can be a
preview source or target joins the matrix without being listed here, with its documents from
``tests/fixtures/<source>/preview_*.json`` (or ``preview_*.xml``: a document file, a purchase invoice as Banqup
hands it over). Each preview must reconcile to the cent: Σ net lines + Σ VAT = the
source's total. A pair the capabilities do not allow is refused by ``koppel preview`` with the reason.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from devkit.sandboxes.eboekhouden.chart import VAT_CODES
from koppel import connectors
from koppel.errors import InputError, PermanentError
from koppel.model import Connection, SalesDocument
from koppel.preview import preview
from tests.integration.test_cli import koppel

if TYPE_CHECKING:
    from collections.abc import Callable

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def previewable() -> tuple[list[str], list[str]]:
    """(sources, targets) ``koppel preview`` can take, as the connectors declare them: the one place the matrix
    learns its vendors."""
    names = connectors.available()
    sources = [name for name in names if connectors.load(name).can("preview_source")]
    targets = [name for name in names if connectors.load(name).can("preview_target")]
    return sources, targets


SOURCES, TARGETS = previewable()
DOCUMENTS = [path for source in SOURCES for path in sorted((FIXTURES / source).glob("preview_*.*"))]
PAIRS = [(path, target) for path in DOCUMENTS for target in TARGETS]


REFUSED: dict[tuple[str, str], str] = {
    # A Danish organization's invoice (DKK, 25 %) cannot be booked by a package that books euros only, or whose preview
    # company has no 25 % tax code: the preview refuses it with the target's reason instead of booking it wrong.
    ("billy", "eboekhouden"): "is in DKK: e-Boekhouden.nl books euros only",
    ("billy", "snelstart"): "is in DKK: SnelStart bookings carry euros only",
    ("billy", "quickbooks"): "VAT rate 25 %, which has no QuickBooks Online tax code",
    # A German supplier charging German VAT: not deductible, and no target's default mapping has a ledger for it.
    **{
        ("banqup/preview_german_vat", target): "charges DE VAT (19 %, 7 %), which the default mapping cannot place"
        for target in ("snelstart", "eboekhouden", "quickbooks", "billy")
    },
    # A CRM books sales only: a supplier's invoice is parked saying so.
    **{
        (f"banqup/preview_{name}", "simplycrm"): "simplycrm takes no purchase invoices from Koppel"
        for name in ("two_rates", "credit_note", "reverse_charge", "german_vat")
    },
}
"""Pairs whose representative document the target refuses, with the words of its refusal."""


def read(path: Path) -> dict[str, Any]:
    if path.suffix == ".xml":  # a document file, handed over the way `koppel preview` hands it
        return {"filename": path.name, "content": path.read_bytes()}
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    return loaded


def refusal(path: Path, target: str) -> str | None:
    """What the target says when it refuses this document (by source, or by the one document), else None."""
    source = path.parent.name
    return REFUSED.get((source, target)) or REFUSED.get((f"{source}/{path.stem}", target))


def source_total(source: str, record: dict[str, Any]) -> Decimal:
    """The document's total as the source states it, read the way deliver gets it (the canonical event)."""
    connection = Connection(
        connection_id="preview", tenant_id="preview", source=source, targets=(TARGETS[0],), created_at=datetime.now(UTC)
    )
    read_events = connectors.load(source).preview_events
    assert read_events is not None
    (document,) = [
        event.payload for event in read_events(record, connection) if isinstance(event.payload, SalesDocument)
    ]
    return document.total


# How each target's booking request adds up: (Σ net lines, Σ VAT, the total it books), read from the wire body.
def _snelstart(requests: list[dict[str, Any]]) -> tuple[Decimal, Decimal, Decimal]:
    paths = ("/v2/verkoopboekingen", "/v2/inkoopboekingen")  # a sale, or a supplier's invoice
    (body,) = [r["body"] for r in requests if r["method"] == "POST" and r["path"] in paths]
    net = sum((Decimal(str(line["bedrag"])) for line in body["boekingsregels"]), Decimal(0))
    vat = sum((Decimal(str(row["btwBedrag"])) for row in body["btw"]), Decimal(0))
    return net, vat, Decimal(str(body["factuurbedrag"]))


def _eboekhouden(requests: list[dict[str, Any]]) -> tuple[Decimal, Decimal, Decimal]:
    """e-Boekhouden computes the VAT itself, per row and rounded half-up (its sandbox's rates)."""
    (body,) = [r["body"] for r in requests if r["method"] == "POST" and r["path"] == "/v1/mutation"]
    net = vat = Decimal(0)
    for row in body["rows"]:
        amount, rate = Decimal(str(row["amount"])), VAT_CODES[row["vatCode"]].rate or Decimal(0)
        factor = rate / (1 + rate) if body["inExVat"] == "IN" else rate
        row_vat = (amount * factor).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        net, vat = net + (amount - row_vat if body["inExVat"] == "IN" else amount), vat + row_vat
    return net, vat, net + vat


def _quickbooks(requests: list[dict[str, Any]]) -> tuple[Decimal, Decimal, Decimal]:
    """QuickBooks computes the tax per tax code on the sum of its lines, unless the invoice states it (TxnTaxDetail);
    a credit note is a CreditMemo of positive amounts."""
    from koppel.connectors.quickbooks.chart import PREVIEW_CODES

    documents = ("/invoice", "/creditmemo", "/bill", "/vendorcredit")  # sales, and a supplier's invoice or credit
    (request,) = [r for r in requests if r["method"] == "POST" and r["path"].split("?")[0].endswith(documents)]
    credit = request["path"].split("?")[0].endswith(("/creditmemo", "/vendorcredit"))
    body, sign = request["body"], (-1 if credit else 1)
    bases: dict[str, Decimal] = {}
    for line in body["Line"]:
        detail = line.get(line["DetailType"], {})
        if line["DetailType"] in ("SalesItemLineDetail", "AccountBasedExpenseLineDetail"):
            code = detail["TaxCodeRef"]["value"]
            bases[code] = bases.get(code, Decimal(0)) + Decimal(str(line["Amount"]))
    stated = (body.get("TxnTaxDetail") or {}).get("TotalTax")
    vat = (
        Decimal(str(stated))
        if stated is not None
        else sum(
            ((base * Decimal(PREVIEW_CODES[code][1]) / 100).quantize(Decimal("0.01"), "ROUND_HALF_UP")
             for code, base in bases.items()),
            Decimal(0),
        )
    )  # fmt: skip
    net = sum(bases.values(), Decimal(0))
    return sign * net, sign * vat, sign * (net + vat)


def _billy(requests: list[dict[str, Any]]) -> tuple[Decimal, Decimal, Decimal]:
    """Billy computes each line's VAT itself from its product's ruleset: its preview organization replays the
    requests and reads the invoice it would hold."""
    from koppel.connectors.billy.chart import preview_totals

    return preview_totals(requests)


def _simplycrm(requests: list[dict[str, Any]]) -> tuple[Decimal, Decimal, Decimal]:
    """Simply CRM (vtiger) computes each line's tax unrounded; the invoice's adjustment carries the booking's rounding,
    and a credit note is a Credit Invoice of positive amounts: its preview CRM reads the Invoice create."""
    from koppel.connectors.simplycrm.preview import preview_totals

    return preview_totals(requests)


BOOKED: dict[str, Callable[[list[dict[str, Any]]], tuple[Decimal, Decimal, Decimal]]] = {
    "snelstart": _snelstart,
    "eboekhouden": _eboekhouden,
    "quickbooks": _quickbooks,
    "billy": _billy,
    "simplycrm": _simplycrm,
}


def test_the_matrix_covers_every_source_and_target_the_connectors_declare() -> None:
    # Given the connectors' own declarations
    # Then every source has a document to preview, and every target a reader of its booking here
    assert SOURCES and TARGETS
    assert {path.parent.name for path in DOCUMENTS} == set(SOURCES), "add tests/fixtures/<source>/preview_*.json"
    assert set(TARGETS) <= BOOKED.keys(), "add how the new target's booking request adds up to BOOKED"


@pytest.mark.parametrize(("path", "target"), PAIRS, ids=[f"{p.parent.name}-{p.stem}-to-{t}" for p, t in PAIRS])
def test_every_source_document_previews_into_every_target_to_the_cent(path: Path, target: str) -> None:
    # Given a representative document of a source
    source, record, refused = path.parent.name, read(path), refusal(path, target)
    if refused:  # When it is previewed into a target that cannot take it  Then it says why
        with pytest.raises(PermanentError, match=re.escape(refused)):
            preview(source, target, record)
        return
    # When it is previewed into a target
    requests = preview(source, target, record)
    # Then the booking's net lines and VAT add up to the source's own total, to the cent
    net, vat, booked = BOOKED[target](requests)
    assert net + vat == booked == source_total(source, record)


@pytest.mark.parametrize(("path", "target"), PAIRS, ids=[f"{p.parent.name}-{p.stem}-to-{t}" for p, t in PAIRS])
def test_koppel_preview_prints_the_requests_for_every_pair(path: Path, target: str) -> None:
    # When a user previews the document from the command line
    done = koppel("preview", "--source", path.parent.name, "--target", target, str(path))
    if refused := refusal(path, target):  # Then a pair the target cannot take exits non-zero saying why
        assert done.returncode != 0
        assert refused in " ".join(done.stderr.split())
        return
    # Then it exits 0 with the requests, the same the preview path gives
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["requests"]


def test_a_pair_the_capabilities_do_not_allow_is_refused_with_the_reason() -> None:
    # Given every connector that cannot be previewed as a source, and every one that cannot as a target
    names = connectors.available()
    not_sources = [name for name in names if name not in SOURCES]
    not_targets = [name for name in names if name not in TARGETS]
    record = read(DOCUMENTS[0])
    # When each is asked for anyway, Then the preview says which side it cannot play, and which vendors can
    for name in not_sources:
        with pytest.raises(InputError, match=f"{name} is no source .*; sources: {', '.join(sorted(SOURCES))}"):
            preview(name, TARGETS[0], record)
    for name in not_targets:
        with pytest.raises(InputError, match=f"{name} books nothing.*; targets: {', '.join(sorted(TARGETS))}"):
            preview(DOCUMENTS[0].parent.name, name, record)


def test_koppel_preview_of_a_pair_that_cannot_work_exits_non_zero_saying_why() -> None:
    # Given a source that is no preview target (a source-only vendor)
    target = next(name for name in connectors.available() if name not in TARGETS)
    # When a user asks for it as the target
    done = koppel("preview", "--source", DOCUMENTS[0].parent.name, "--target", target, str(DOCUMENTS[0]))
    # Then the exit code is 2 and stderr names why
    assert done.returncode == 2
    assert f"{target} books nothing, so it is no target to preview" in " ".join(done.stderr.split())
