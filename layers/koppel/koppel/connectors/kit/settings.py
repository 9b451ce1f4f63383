"""Connector settings: a connection's settings for one vendor validated with every problem named, and the
booking-description template every target offers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, Field, ValidationError

from koppel.errors import InputError

if TYPE_CHECKING:
    from koppel.model import SalesDocument

M = TypeVar("M", bound=BaseModel)
_TEMPLATE_EXAMPLE = {"number": "1001", "reference": "REF", "name": "Jan Jansen", "date": "2026-05-01"}


def _fillable(template: str) -> str:
    try:
        template.format_map(_TEMPLATE_EXAMPLE)
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(
            f"{template!r} cannot be filled in: use only {{number}}, {{reference}}, {{name}}, {{date}}"
        ) from error
    return template


DescriptionTemplate = Annotated[str, Field(min_length=1), AfterValidator(_fillable)]
"""A booking description setting; may use {number}, {reference}, {name} and {date} of the document."""


def describe(template: str, doc: SalesDocument) -> str:
    fields = {"number": doc.number, "reference": doc.reference, "name": doc.party.name, "date": str(doc.issue_date)}
    return template.format_map(fields)


def load_settings(model: type[M], raw: Any, vendor: str) -> M:
    """A connection's settings for one connector; wrong ones are refused with every problem named."""
    try:
        return model.model_validate(dict(raw))
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        raise InputError(f"the {vendor} settings of this connection are wrong: {problems}") from error
