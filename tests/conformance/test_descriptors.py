"""Every vendor package's descriptor tells the truth: its name, its settings, each capability it claims (and none
it does not claim), its README. A new vendor package is walked here without being listed anywhere."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from koppel import connectors
from koppel.connectors.contract import (
    CAPABILITIES,
    ActivationFlow,
    AppExtension,
    AttachmentTarget,
    BookingTarget,
    Capability,
    ChangeNotices,
    ChartSync,
    Connector,
    ConnectorContext,
    InvoiceActions,
    MappingCheck,
    OAuthFlow,
    PartyUpdater,
    PaymentChangeFeed,
    PaymentStatusReader,
    PaymentStatusWriter,
    PolledSource,
    ProductGroups,
    PurchaseStatusReader,
    PurchaseTarget,
    RecordSide,
    WebhookRegistration,
    WebhookSource,
)
from koppel.errors import InputError
from koppel.model import Connection
from koppel.preview import PlaceholderSecrets

ROOT = Path(__file__).resolve().parents[2]
CONNECTORS = ROOT / "layers" / "koppel" / "koppel" / "connectors"
NAMES = connectors.available()
OUTSIDE_DOCUMENTS = ("../shared", "VENDORS.md", "ARCHITECTURE.md", "STYLE.md", "vendor-specs", "vendor-samples")


def _context(connector: Connector) -> ConnectorContext:
    connection = Connection(
        connection_id="conformance",
        tenant_id="conformance",
        source="ccvshop",
        targets=("snelstart",),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return ConnectorContext(
        connection=connection,
        settings=dict(connector.example_settings),
        secrets=PlaceholderSecrets(),
        session=requests.Session(),
        partner_secret=PlaceholderSecrets,
    )


def _built(connector: Connector) -> tuple[Any, Any]:
    ctx = _context(connector)
    source = connector.build_source(ctx) if connector.build_source else None
    target = connector.build_target(ctx) if connector.build_target else None
    return source, target


def _implements(connector: Connector, capability: Capability) -> bool:
    source, target = _built(connector)
    checks: dict[Capability, bool] = {
        "polled_source": isinstance(source, PolledSource),
        "webhook_source": isinstance(source, WebhookSource),
        "webhook_registration": isinstance(source, WebhookRegistration),
        "product_groups": isinstance(source, ProductGroups),
        "record_sync": isinstance(source, RecordSide) or isinstance(target, RecordSide),
        "mapping_check": isinstance(source, MappingCheck),
        "target": isinstance(target, BookingTarget),
        "purchase_booking": isinstance(target, PurchaseTarget),
        "attachments": isinstance(target, AttachmentTarget),
        "purchase_status_reader": isinstance(target, PurchaseStatusReader),
        "party_updates": isinstance(target, PartyUpdater),
        "payment_status_reader": isinstance(target, PaymentStatusReader),
        "payment_changes": isinstance(target, PaymentChangeFeed),
        "payment_status_writer": isinstance(target, PaymentStatusWriter),
        "chart_sync": isinstance(target, ChartSync),
        "invoice_actions": isinstance(target, InvoiceActions),
        "activation": isinstance(connector.activation, ActivationFlow),
        "oauth": isinstance(connector.oauth, OAuthFlow),
        "app_extension": isinstance(connector.app_extension, AppExtension),
        "change_notices": isinstance(connector.change_notices, ChangeNotices),
        "preview_source": connector.preview_events is not None,
        "preview_target": connector.preview_account is not None,
        "console_mapping": connector.mapping_form is not None,
        "document_links": connector.document_link is not None,
    }
    return checks[capability]


def test_there_are_vendor_packages_and_the_shared_kit_is_none() -> None:
    # Given the connectors folder, when its vendor packages are listed, then the kit is not among them
    assert {"ccvshop", "snelstart", "bizzcloud", "eboekhouden"} <= set(NAMES)
    assert "kit" not in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_the_descriptor_is_named_after_its_package(name: str) -> None:
    # Given a vendor package, when its descriptor is loaded, then it carries the package's name
    connector = connectors.load(name)
    assert connector.name == name
    assert importlib.import_module(f"koppel.connectors.{name}").CONNECTOR is connector
    assert set(connector.capabilities) <= set(CAPABILITIES)


@pytest.mark.parametrize("name", NAMES)
def test_the_settings_model_validates_its_defaults(name: str) -> None:
    # Given the descriptor's settings model, when only the required example settings are given, then it validates
    connector = connectors.load(name)
    connector.settings.model_validate(dict(connector.example_settings))


@pytest.mark.parametrize(("name", "capability"), [(n, c) for n in NAMES for c in CAPABILITIES])
def test_a_capability_is_implemented_exactly_when_it_is_claimed(name: str, capability: Capability) -> None:
    # Given a descriptor, when its source and target are built, then what they implement is what it claims:
    # a claim without the code fails, and so does code nobody declared (a polled-only source stubs no webhooks)
    connector = connectors.load(name)
    assert _implements(connector, capability) == connector.can(capability), f"{name}: {capability}"


@pytest.mark.parametrize("name", NAMES)
def test_a_source_is_polled_and_a_target_books(name: str) -> None:
    # Given a descriptor that builds a source or a booking target, then it claims the matching capability
    connector = connectors.load(name)
    if connector.build_source is not None:
        assert connector.can("polled_source")
    if connector.build_target is not None:
        assert connector.can("target") or connector.can("payment_status_writer")


@pytest.mark.parametrize("name", NAMES)
def test_every_vendor_has_a_readme_of_its_own(name: str) -> None:
    # Given a vendor package, then its README states the vendor's facts without pointing outside the repository
    readme = CONNECTORS / name / "README.md"
    assert readme.is_file(), f"{name} has no README.md"
    text = readme.read_text()
    assert len(text) > 500
    assert "https://" in text, f"{name}'s README links no vendor documentation"
    for outside in OUTSIDE_DOCUMENTS:
        assert outside not in text, f"{name}'s README cites {outside}"


WRITTEN = ("*.py", "*.md", "*.txt", "*.json", "*.yaml", "*.toml")


def test_no_code_cites_documents_outside_the_repository() -> None:
    # Given the layer, the handlers, the dev kit, the tests with their fixtures, the docs and the template, then
    # nothing points at design or vendor notes the repository lacks (this file names them only to look for them)
    folders = ("layers/koppel/koppel", "functions", "devkit", "tests", "docs", "infra", "events")
    paths = [ROOT / "README.md", ROOT / "Makefile", ROOT / "samconfig.toml"]
    paths += [path for folder in folders for pattern in WRITTEN for path in (ROOT / folder).rglob(pattern)]
    for path in paths:
        if path == Path(__file__).resolve():
            continue
        text = path.read_text(errors="replace")
        for outside in OUTSIDE_DOCUMENTS:
            assert outside not in text, f"{path.relative_to(ROOT)} cites {outside}"


def test_an_unknown_or_shared_name_is_no_connector() -> None:
    # Given names that are not vendors, when loaded, then the error lists the known connectors
    for name in ("kit", "contract", "nosuchvendor"):
        with pytest.raises(InputError, match="known connectors: banqup, billy, bizzcloud, ccvshop"):
            connectors.load(name)


def test_koppel_connectors_prints_every_vendor_with_its_capabilities() -> None:
    # Given the CLI, when `koppel connectors` runs, then every vendor package is a row with what it can do
    from typer.testing import CliRunner

    from koppel.cli import app

    result = CliRunner().invoke(app, ["connectors"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for name in NAMES:
        connector = connectors.load(name)
        assert name in result.output
        assert connector.title in result.output
    assert "payment_status_writer" in result.output
    assert "webhook_registration" in result.output
