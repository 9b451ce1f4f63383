"""The console's mapping editor: the fields of a target's settings a bookkeeper edits (ledgers per VAT rate and
product group, tax codes), shown with the chart synced from the target, and changed only when every value is in that
chart and the target's own settings model takes the result. Nothing is half saved: one problem, nothing changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from koppel import connectors
from koppel.connectors.contract import CHART_LISTS
from koppel.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from koppel.connectors.contract import Chart, Connector, MappingField, MappingForm
    from koppel.model import Connection
    from koppel.ports import ConnectionStore

SUGGESTED_KEYS = {
    "vat_rates": ("21", "9", "0"),
    "purchase_categories": ("zero_rated", "exempt", "outside_scope", "reverse_charge", "intra_eu", "export"),
    "treatments": ("intra_eu", "export", "reverse_charge", "oss"),
}
"""As the targets' settings name them (``contract.MappingKeys``); product groups come from the mapping itself."""


CHART_WORDS = {"ledgers": "ledger", "tax_codes": "tax code", "items": "Item", "rulesets": "ruleset"}
"""A chart list's entry, as a refusal names it."""


class MappingProblems(InputError):
    """422: the values a person entered that the chart or the settings model refuse, each with its field."""

    def __init__(self, problems: list[dict[str, str]]) -> None:
        fields = ", ".join(sorted({p["field"] for p in problems}))
        super().__init__(f"nothing was saved: correct {fields}", status=422)
        self.problems = problems


def read_mapping(connection: Connection, target: str) -> dict[str, Any]:
    connector, form = _form(connection, target)
    settings = connection.target_settings.get(target, {})
    chart = form.chart(settings)
    return {
        "target": target,
        "title": connector.title,
        "fields": [_field(spec, settings) for spec in form.fields],
        **{part: _entries(getattr(chart, part)) for part in CHART_LISTS},
    }


def _entries(codes: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"code": code, "name": name} for code, name in sorted(codes.items())]


def change_mapping(
    connection: Connection, target: str, values: Mapping[str, Any], store: ConnectionStore
) -> dict[str, Any]:
    connector, form = _form(connection, target)
    settings = dict(connection.target_settings.get(target, {}))
    chart = form.chart(settings)
    specs = {spec.name: spec for spec in form.fields}
    problems = [problem for name, value in values.items() for problem in _check(name, value, specs.get(name), chart)]
    if problems:
        raise MappingProblems(problems)
    changed = dict(settings)
    for name, value in values.items():
        if value in (None, ""):
            changed.pop(name, None)  # cleared: the target's default applies again
        else:
            changed[name] = _stored(value)
    try:
        model = connector.settings.model_validate(changed)
    except ValidationError as error:
        raise MappingProblems(
            [{"field": str(e["loc"][0]) if e["loc"] else "", "message": e["msg"]} for e in error.errors()]
        ) from None
    typed = model.model_dump(mode="json")
    changed |= {name: typed[name] for name in values if name in changed}  # stored as the model reads them
    updated = connection.model_copy(update={"target_settings": {**connection.target_settings, target: changed}})
    store.put(updated)
    return read_mapping(updated, target)


def _form(connection: Connection, target: str) -> tuple[Connector, MappingForm]:
    if target not in connection.targets:
        raise NotFoundError(f"{connection.connection_id} books into {', '.join(connection.targets)}, not {target!r}")
    connector = connectors.load(target)
    if connector.mapping_form is None:
        raise NotFoundError(f"{connector.title} has no mapping to edit here: its defaults are used")
    return connector, connector.mapping_form


def _field(spec: MappingField, settings: Mapping[str, Any]) -> dict[str, Any]:
    value = settings.get(spec.name)
    if spec.kind == "ledger":
        shown: Any = None if value is None else str(value)
    else:
        shown = {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}
    suggested = SUGGESTED_KEYS.get(spec.keys, ())
    keys = list(dict.fromkeys([*suggested, *(shown if isinstance(shown, dict) else {})]))
    return {
        "name": spec.name, "label": spec.label, "kind": spec.kind, "value": shown, "keys": keys, "help": spec.help,
        "picks_from": spec.chart_list,
    }  # fmt: skip


def _check(name: str, value: Any, spec: MappingField | None, chart: Chart) -> list[dict[str, str]]:
    if spec is None:
        return [{"field": name, "message": "this setting is not edited here"}]
    known, what = chart.for_field(spec), CHART_WORDS[spec.chart_list]
    if spec.kind == "ledger":
        if value is None or value == "":
            return []  # cleared: the target's default ledger is used
        return _in_chart(name, str(value), known, what)
    if not isinstance(value, dict):
        return [{"field": name, "message": "give rows of a key and a value"}]
    problems = []
    for key, code in value.items():
        if not str(key).strip():
            problems.append({"field": name, "message": "a row has no key"})
        problems += _in_chart(name, str(code), known, what, key=key)
    return problems


def _in_chart(name: str, code: str, known: Mapping[str, str], what: str, key: str = "") -> list[dict[str, str]]:
    if not code.strip():
        return [{"field": name, "message": f"{key}: choose a {what}" if key else f"choose a {what}"}]
    if known and code not in known:
        row = f"{key}: " if key else ""
        return [
            {"field": name, "message": f"{row}{what} {code} is not in the chart read from the target: add it there"}
        ]
    return []


def _stored(value: Any) -> Any:
    """Keys and values as entered, trimmed; the settings model then types them (a ledger number as an int)."""
    if isinstance(value, dict):
        return {str(k).strip(): str(v).strip() for k, v in value.items()}
    return str(value).strip()
