"""SnelStart's wire format for the sandbox: the OpenAPI spec as JSON Schema, defaults, and Decimal-safe JSON.

The spec (OpenAPI 3.0.1, 585 KB) is parsed once per process and every validator is compiled once and cached.
Two places where the spec and the live .NET API differ are bridged on purpose:
- The spec marks nothing ``nullable``, yet SnelStart's own examples send ``"kostenplaats": null`` and
  ``"eenmaligeIncassoMachtiging": null``. .NET binds null like an absent member, so nulls are dropped
  before validation (a required member that is null is then reported as missing, as .NET does).
- ``format: date-time`` is .NET's DateTime, which takes a zone-less ``2021-07-29T00:00:00``; RFC 3339
  would refuse that, so date-times are checked with ``datetime.fromisoformat``.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator, FormatChecker
from jsonschema.validators import extend

from devkit.sandboxes.kit import decimal_json

SPEC_NAME = "snelstart-b2b-api-v2.openapi.yaml"
_REPO = Path(__file__).resolve().parents[3]
_SPEC_CANDIDATES = (_REPO / "devkit" / "specs" / "snelstart" / SPEC_NAME,)  # the vendor's published spec (SOURCE.txt)
MODELS = "SnelStart.B2B.Api.V2.Models."
RELATIE_MODEL = MODELS + "Relaties.RelatieModel"
RELATIE_WRITE_MODEL = MODELS + "Relaties.RelatieWriteModel"
VERKOOPBOEKING_MODEL = MODELS + "VerkoopBoekingen.VerkoopBoekingModel"
VERKOOPFACTUUR_MODEL = MODELS + "Verkoopfacturen.VerkoopfactuurModel"
GROOTBOEK_MODEL = MODELS + "Grootboeken.GrootboekModel"
INKOOPBOEKING_MODEL = MODELS + "Inkoopboekingen.InkoopboekingModel"
INKOOPFACTUUR_MODEL = MODELS + "Inkoopfacturen.InkoopfactuurModel"
DOCUMENT_CONTENT_MODEL = MODELS + "Documenten.DocumentContentModel"
LAND_MODEL = MODELS + "Landen.LandModel"


def spec_path() -> Path:
    """The spec file: ``KOPPEL_SNELSTART_SPEC`` if set, else the copy in devkit/specs."""
    explicit = os.environ.get("KOPPEL_SNELSTART_SPEC")
    if explicit:
        return Path(explicit)
    for candidate in _SPEC_CANDIDATES:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"SnelStart OpenAPI spec not found; looked in {[str(c) for c in _SPEC_CANDIDATES]}")


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with spec_path().open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=loader)  # type: ignore[no-any-return]


def component(name: str) -> dict[str, Any]:
    return spec()["components"]["schemas"][name]  # type: ignore[no-any-return]


def properties(name: str) -> dict[str, Any]:
    return component(name).get("properties", {})  # type: ignore[no-any-return]


# -- validation ---------------------------------------------------------------------------------------------
def _is_integer(checker: Any, instance: Any) -> bool:
    """Numbers arrive as Decimal (parse_float=Decimal); 14.0 binds to a .NET int like 14 does."""
    if isinstance(instance, Decimal):
        return instance == instance.to_integral_value()
    return bool(Draft7Validator.TYPE_CHECKER.is_type(instance, "integer"))


def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(uuid.UUID(value))


def _is_datetime(value: object) -> bool:
    return not isinstance(value, str) or bool(parse_datetime(value))


_formats = FormatChecker(formats=())
_formats.checks("uuid", raises=ValueError)(_is_uuid)
_formats.checks("date-time", raises=ValueError)(_is_datetime)

_Validator = extend(Draft7Validator, type_checker=Draft7Validator.TYPE_CHECKER.redefine("integer", _is_integer))


@lru_cache(maxsize=16)
def validator(name: str) -> Any:
    """A compiled validator for one component; ``$ref``s resolve inside the embedded components."""
    root = {"$ref": f"#/components/schemas/{name}", "components": spec()["components"]}
    return _Validator(root, format_checker=_formats)


def drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: drop_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [drop_nulls(item) for item in value]
    return value


def schema_errors(name: str, body: Any) -> list[str]:
    """Every way ``body`` breaks component ``name``, as messages naming the field (empty when valid)."""
    errors = sorted(validator(name).iter_errors(drop_nulls(body)), key=lambda e: list(map(str, e.absolute_path)))
    return [_describe(error) for error in errors]


def _field(path: Any) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe(error: Any) -> str:
    where = _field(error.absolute_path)
    kind, limit = error.validator, error.validator_value
    if kind == "required":
        missing = error.message.split("'")[1]
        return f"{_field([*error.absolute_path, missing])}: het veld is verplicht."
    if kind == "maxLength":
        return f"{where}: de waarde is {len(error.instance)} tekens lang, maximaal {limit} toegestaan."
    if kind == "enum":
        return f"{where}: {error.instance!r} is geen geldige waarde; toegestaan: {', '.join(limit)}."
    if kind in ("minimum", "maximum"):
        return f"{where}: {error.instance} ligt buiten het bereik ({kind} {limit})."
    return f"{where or 'body'}: {error.message}"


# -- defaults and dates ---------------------------------------------------------------------------------------
def defaults(name: str) -> dict[str, Any]:
    """A model with every member at its .NET default, so responses carry the spec's full shape.

    Strings, references and nullable values are null, numbers 0, booleans false, arrays empty, and an
    enum takes its first value (a C# enum's default is its first member).
    """
    out: dict[str, Any] = {}
    for key, prop in properties(name).items():
        kind = prop.get("type")
        if "enum" in prop:
            out[key] = prop["enum"][0]
        elif kind == "array":
            out[key] = []
        elif kind in ("integer", "number"):
            out[key] = 0
        elif kind == "boolean":
            out[key] = False
        else:
            out[key] = None
    return out


def parse_datetime(value: str) -> datetime:
    """A .NET DateTime as the API takes it: ISO 8601 with or without a zone (no zone = UTC here)."""
    return datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))


def format_datetime(moment: datetime) -> str:
    """SnelStart answers zone-less wall-clock timestamps; the sandbox's wall clock is UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds" if moment.microsecond else "seconds")


# -- JSON -------------------------------------------------------------------------------------------------------
def loads(raw: bytes | str) -> Any:
    return decimal_json.loads(raw)


def dumps(value: Any) -> str:
    """JSON with Decimal written as a number in its own digits (81.46 stays 81.46; no float on the way)."""
    return decimal_json.dumps(value, lambda amount: f"{amount:f}", _snelstart_time)


def _snelstart_time(value: Any) -> Any:
    return format_datetime(value) if isinstance(value, datetime) else value
