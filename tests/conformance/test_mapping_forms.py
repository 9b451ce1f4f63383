"""Every target's mapping form tells the truth about its settings: each field the console lets a bookkeeper edit is a
field of the connector's settings model, of a type its kind fits, and ``chart()`` gives back what the connect step
synced into a fresh account's settings (nothing invented), against which the mapping the connect step leaves is
accepted as it stands."""

from __future__ import annotations

from types import UnionType
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin

import pytest

from koppel import connectors
from koppel.connectors.contract import CHART_LISTS, ChartSync, Connector, MappingField

if TYPE_CHECKING:
    from tests.conformance.harness import TargetHarness

FORMS = [name for name in connectors.available() if connectors.load(name).can("console_mapping")]
SYNCED_CHART = {
    "snelstart": ("ledgers",),
    "eboekhouden": ("ledgers",),
    "quickbooks": ("ledgers", "tax_codes", "items"),
    "billy": ("ledgers", "tax_codes", "rulesets"),
}
"""Which parts of the chart a vendor's connect step stores."""


def _types(annotation: Any) -> set[Any]:
    """The types a field holds, None left out: ``int | None`` is {int}, ``dict[str, int]`` is {dict}."""
    members = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)
    return {get_origin(member) or member for member in members if member is not type(None)}


def _form(connector: Connector) -> tuple[MappingField, ...]:
    assert connector.mapping_form is not None
    return connector.mapping_form.fields


def test_every_accounting_target_has_a_mapping_form() -> None:
    # Given the packages that book into an accounting package, then the console can edit each one's mapping
    assert {"snelstart", "eboekhouden", "quickbooks", "billy"} <= set(FORMS)


@pytest.mark.parametrize("name", FORMS)
def test_every_field_of_the_form_is_a_settings_field_of_a_fitting_type(name: str) -> None:
    # Given a connector's mapping form and its settings model
    connector = connectors.load(name)
    model_fields = connector.settings.model_fields
    names = [field.name for field in _form(connector)]
    # Then each field is named once, exists on the model, says what it does, and its kind fits the model's type
    assert len(names) == len(set(names)), f"{name} lists a field twice"
    for field in _form(connector):
        assert field.name in model_fields, f"{name}: {field.name} is no field of {connector.settings.__name__}"
        assert field.label.strip() and field.help.strip(), f"{name}: {field.name} has no label or help"
        types = _types(model_fields[field.name].annotation)
        if field.kind == "ledger":
            assert types and types <= {int, str}, f"{name}: {field.name} is {types}, not one ledger code"
            assert field.keys == "none", f"{name}: one ledger has no keys"
        else:
            assert types == {dict}, f"{name}: {field.name} is {types}, not a map"
        if field.kind == "ledger_map":
            value = get_args(model_fields[field.name].annotation)[1]
            assert value in (int, str), f"{name}: {field.name} maps to {value}, not a ledger code"


@pytest.mark.parametrize("name", FORMS)
def test_nothing_synced_is_an_empty_chart(name: str) -> None:
    # Given a connection that was not connected yet, when its chart is read, then it holds nothing to check against
    connector = connectors.load(name)
    assert connector.mapping_form is not None
    chart = connector.mapping_form.chart({})
    assert all(dict(getattr(chart, part)) == {} for part in CHART_LISTS)


def _synced(harness: TargetHarness) -> dict[str, Any]:
    """The settings of a fresh account once the connect step ran (what ``koppel connect`` stores)."""
    descriptor = connectors.load(harness.name)
    assert descriptor.build_target is not None
    settings = harness.settings()
    built = descriptor.build_target(harness.context(harness.connection(), settings, harness.secrets()))
    return {**settings, **built.after_connect()} if isinstance(built, ChartSync) else settings


def _strings(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {str(k) for k in value} | {s for v in value.values() for s in _strings(v)}
    if isinstance(value, (list, tuple)):
        return {s for v in value for s in _strings(v)}
    return {str(value)}


def _values(value: Any) -> list[str]:
    """The codes a field holds: its one value, or every value of its map; None or "" (not set) holds none."""
    if value is None or value == "":
        return []
    return [str(v) for v in value.values()] if isinstance(value, dict) else [str(value)]


def test_the_chart_is_what_the_connect_step_synced_and_the_mapping_it_leaves_fits_it(target: TargetHarness) -> None:
    connector = connectors.load(target.name)
    if connector.mapping_form is None:
        pytest.skip(f"{target.name} has no mapping form (nothing to map)")
    # Given a fresh account, connected: the connect step synced its chart into the settings
    synced = _synced(target)
    # When the console reads the chart
    chart = connector.mapping_form.chart(synced)
    # Then it holds what was synced, nothing invented, and the part the vendor syncs is there
    stored = _strings(synced)
    assert all(set(getattr(chart, part)) <= stored for part in CHART_LISTS)
    for part in SYNCED_CHART.get(target.name, ()):
        assert getattr(chart, part), f"{target.name}: the synced {part} are missing from the chart"
    # And the mapping the connection has now (the defaults and what the connect step chose) passes the console's
    # check: every ledger and code it names is in the chart, where the chart has that part
    settings = connector.settings.model_validate(synced)
    for field in connector.mapping_form.fields:
        known = chart.for_field(field)
        if not known:
            continue
        missing = [code for code in _values(getattr(settings, field.name)) if code not in known]
        assert not missing, f"{target.name}: {field.name} names {missing}, which the synced chart lacks"
