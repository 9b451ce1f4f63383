"""Odoo domain evaluation in memory, with the semantics of ``odoo/osv/expression.py`` (Odoo 17).

- Prefix operators ``&`` ``|`` ``!`` with an implicit ``&`` between consecutive terms; ``(1, '=', 1)`` and
  ``(0, '=', 1)`` are the TRUE/FALSE leaves.
- Leaf operators ``= != > >= < <= in not in like not like ilike not ilike =like =ilike``; anything else raises
  ``ValueError("Invalid leaf (...)")``, an unknown field ``ValueError("Invalid field <model>.<f> in leaf (...)")``.
- SQL NULL rules: ``('f', '=', False)`` is ``IS NULL`` (also ``''`` for char, ``false`` for booleans); negative
  operators (``!=``, ``not in``, ``not like``, ``not ilike``) also match NULL, ordering comparisons never do.
- Dotted paths follow many2one/x2many fields (``partner_id.email``, ``invoice_line_ids.product_id``): the record
  matches when its related record(s) match the rest of the leaf, which is how Odoo rewrites them into subqueries.
- String operators on a many2one compare the related record's display name, as ``name_search`` does.
"""

from __future__ import annotations

import operator as op
import re
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from devkit.sandboxes.bizzcloud.errors import invalid_value

if TYPE_CHECKING:
    from devkit.sandboxes.bizzcloud.models import Field

TERM_OPERATORS = ("=", "!=", "<=", "<", ">", ">=", "=like", "=ilike", "like", "not like", "ilike", "not ilike")
TERM_OPERATORS += ("in", "not in")  # type: ignore[assignment]
NEGATIVE = ("!=", "not like", "not ilike", "not in")
_ORDERING = {"=": op.eq, "!=": op.ne, "<": op.lt, "<=": op.le, ">": op.gt, ">=": op.ge}
TRUE_LEAF = (1, "=", 1)
FALSE_LEAF = (0, "=", 1)


class Records(Protocol):
    """What the evaluator needs from the store."""

    def fields_of(self, model: str) -> dict[str, Field]: ...

    def ids_of(self, model: str) -> list[int]: ...

    def raw(self, model: str, record_id: int, field: str) -> Any: ...

    def label(self, model: str, record_id: int) -> str: ...


def py_repr(value: Any) -> str:
    """``str(leaf)`` as Odoo prints it, with Decimals shown as the floats Odoo would have received."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        inner = ", ".join(py_repr(item) for item in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    return repr(value)


def _is_leaf(element: Any) -> bool:
    return isinstance(element, list | tuple) and len(element) == 3


def _parse(domain: list[Any], position: int) -> tuple[Any, int]:
    element = domain[position]
    if element in ("&", "|"):
        left, after = _parse(domain, position + 1)
        right, after = _parse(domain, after)
        return (element, left, right), after
    if element == "!":
        operand, after = _parse(domain, position + 1)
        return ("!", operand), after
    if not _is_leaf(element):
        raise invalid_value(f"Invalid leaf {py_repr(element)}")
    leaf = tuple(element)
    if leaf not in (TRUE_LEAF, FALSE_LEAF) and (not isinstance(leaf[0], str) or leaf[1] not in TERM_OPERATORS):
        raise invalid_value(f"Invalid leaf {py_repr(leaf)}")
    return ("leaf", leaf), position + 1


def parse(domain: list[Any] | None) -> Any:
    """The domain as a tree; consecutive top-level terms are and-ed."""
    terms: list[Any] = []
    position = 0
    domain = list(domain or [])
    try:
        while position < len(domain):
            term, position = _parse(domain, position)
            terms.append(term)
    except IndexError:
        raise invalid_value(f"Invalid domain {py_repr(domain)}") from None
    if not terms:
        return ("leaf", TRUE_LEAF)
    tree = terms[-1]
    for term in reversed(terms[:-1]):
        tree = ("&", term, tree)
    return tree


def mentions(tree: Any, field: str) -> bool:
    if tree[0] == "leaf":
        return isinstance(tree[1][0], str) and tree[1][0].split(".")[0] == field
    return any(mentions(child, field) for child in tree[1:])


def _check(store: Records, model: str, tree: Any) -> None:
    """Odoo resolves every field of the domain before running it, so errors come even when nothing matches."""
    if tree[0] != "leaf":
        for child in tree[1:]:
            _check(store, model, child)
        return
    leaf = tree[1]
    if leaf in (TRUE_LEAF, FALSE_LEAF):
        return
    current = model
    for part in leaf[0].split("."):
        field = store.fields_of(current).get(part)
        if field is None:
            raise invalid_value(f"Invalid field {current}.{part} in leaf {py_repr(leaf)}")
        current = field.relation or current


def search(store: Records, model: str, domain: list[Any] | None) -> list[int]:
    tree = parse(domain)
    _check(store, model, tree)
    return [record_id for record_id in store.ids_of(model) if _matches(store, model, record_id, tree)]


def _matches(store: Records, model: str, record_id: int, tree: Any) -> bool:
    kind = tree[0]
    if kind == "&":
        return _matches(store, model, record_id, tree[1]) and _matches(store, model, record_id, tree[2])
    if kind == "|":
        return _matches(store, model, record_id, tree[1]) or _matches(store, model, record_id, tree[2])
    if kind == "!":
        return not _matches(store, model, record_id, tree[1])
    return _leaf(store, model, record_id, tree[1])


def _leaf(store: Records, model: str, record_id: int, leaf: tuple[Any, ...]) -> bool:
    if leaf == TRUE_LEAF:
        return True
    if leaf == FALSE_LEAF:
        return False
    path, operator, right = leaf
    head, _, rest = path.partition(".")
    field = store.fields_of(model).get(head)
    if field is None:
        raise invalid_value(f"Invalid field {model}.{head} in leaf {py_repr(leaf)}")
    value = store.raw(model, record_id, head)
    if rest:
        if field.relation is None:
            raise invalid_value(f"Invalid field {model}.{path} in leaf {py_repr(leaf)}")
        related = [value] if field.type == "many2one" and value else list(value or [])
        sub = (rest, operator, right)
        return any(_leaf(store, field.relation, other, sub) for other in related)
    if field.relation and isinstance(right, str):
        labels = [store.label(field.relation, other) for other in _ids(value)]
        return any(compare(label, operator, right, "char") for label in labels) if labels else operator in NEGATIVE
    if field.type in ("one2many", "many2many"):
        return _x2many(value, operator, right)
    return compare(value, operator, right, field.type)


def _ids(value: Any) -> list[int]:
    if isinstance(value, list):
        return value
    return [value] if value else []


def _x2many(ids: list[int], operator: str, right: Any) -> bool:
    wanted = set(right) if isinstance(right, list | tuple) else {right}
    if right is False:
        return not ids if operator == "=" else bool(ids)
    hit = bool(wanted & set(ids))
    return not hit if operator in NEGATIVE else hit


def _is_null(value: Any, kind: str) -> bool:
    if kind == "boolean":
        return value is not True
    return value is None or value is False or (kind in ("char", "selection") and value == "")


def _to_datetime(right: Any) -> datetime:
    if isinstance(right, datetime):
        return right.replace(tzinfo=None)
    if isinstance(right, date):
        return datetime(right.year, right.month, right.day)
    text = right if len(right) > 10 else f"{right} 00:00:00"
    return datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S")


def _coerce(right: Any, kind: str) -> Any:
    if right is False or right is None:
        return None
    if kind == "datetime":
        return _to_datetime(right)
    if kind == "date":
        return right[:10] if isinstance(right, str) else right.isoformat()[:10]
    if kind in ("float", "monetary") and isinstance(right, int | float) and not isinstance(right, bool):
        return Decimal(str(right))
    return right


def _like(value: str, pattern: str, *, wrap: bool, fold: bool) -> bool:
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    if wrap:
        regex = f".*{regex}.*"
    return re.fullmatch(regex, value, re.DOTALL | (re.IGNORECASE if fold else 0)) is not None


def compare(value: Any, operator: str, right: Any, kind: str) -> bool:
    """One leaf against a stored value, NULL handled the SQL way Odoo generates."""
    null = _is_null(value, kind)
    if operator in ("in", "not in"):
        return _compare_in(value, null, operator, right, kind)
    if right is False or right is None:
        return (null if operator == "=" else not null) if operator in ("=", "!=") else False
    if kind == "boolean" and operator in ("=", "!="):
        return (value is True) == bool(right) if operator == "=" else (value is True) != bool(right)
    if null:
        return operator in NEGATIVE
    if operator.lstrip("=").endswith("like"):
        folded = operator.endswith("ilike")
        hit = _like(str(value), str(right), wrap=not operator.startswith("="), fold=folded)
        return not hit if operator.startswith("not") else hit
    plain, target = _plain(value, kind), _coerce(right, kind)
    try:
        return bool(_ORDERING[operator](plain, target))
    except TypeError:  # PostgreSQL would refuse the cast; Odoo reports it as a bad value
        raise invalid_value(f"Invalid value {right!r} for a {kind} field") from None


def _compare_in(value: Any, null: bool, operator: str, right: Any, kind: str) -> bool:
    """``in`` with False in the list also takes NULL, as Odoo adds ``OR col IS NULL``."""
    items = list(right) if isinstance(right, list | tuple) else [right]
    accepts_null = any(item is False or item is None for item in items)
    coerced = {_coerce(item, kind) for item in items if item is not False and item is not None}
    hit = (null and accepts_null) or (not null and _plain(value, kind) in coerced)
    return not hit if operator == "not in" else hit


def _plain(value: Any, kind: str) -> Any:
    if kind == "date" and isinstance(value, date):
        return value.isoformat()[:10]
    return value
