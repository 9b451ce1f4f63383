"""``execute_kw`` dispatch onto the in-memory books, and the wire encodings of both transports.

Dispatch follows ``odoo/service/model.py`` (``execute_cr``: unknown model -> UserError "Object x doesn't exist";
``check_method_name``: names starting with ``_`` -> AccessError "Private methods (such as x) cannot be called
remotely.") and ``odoo/api.py`` ``call_kw`` (unknown method -> AttributeError "The method 'x' does not exist on
the model 'y'"). ``create`` answers an id for one dict and a list of ids for a list, as Odoo 17 does.
Monetary values are Decimals inside; on the wire they are numbers the way Python prints a float (``12.1``).
"""

from __future__ import annotations

import json
import re
import xmlrpc.client
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.bizzcloud.errors import AccessError, PythonError

if TYPE_CHECKING:
    from collections.abc import Callable

    from devkit.sandboxes.bizzcloud.accounting import Books

SIGNATURES: dict[str, tuple[str, ...]] = {
    "search": ("domain", "offset", "limit", "order"),
    "search_read": ("domain", "fields", "offset", "limit", "order"),
    "search_count": ("domain", "limit"),
    "read": ("ids", "fields", "load"),
    "create": ("vals_list",),
    "write": ("ids", "vals"),
    "unlink": ("ids",),
    "fields_get": ("allfields", "attributes"),
    "name_search": ("name", "args", "operator", "limit"),
    "action_post": ("ids",),
    "button_cancel": ("ids",),
    "button_draft": ("ids",),
    "action_create_payments": ("ids",),
}
RECORD_METHODS = {"account.move": {"action_post", "button_cancel", "button_draft"}}
RECORD_METHODS["account.payment.register"] = {"action_create_payments"}
_ORM = {"search", "search_read", "search_count", "read", "create", "write", "unlink", "fields_get", "name_search"}
_DECIMAL_TOKEN = re.compile(r'"@@dec:(-?[0-9.]+)@@"')


def _bind(model: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    names = SIGNATURES[method]
    if len(args) > len(names):
        raise PythonError("TypeError", f"{method}() takes {len(names)} positional arguments but {len(args)} were given")
    bound = dict(zip(names, args, strict=False))
    for key, value in kwargs.items():
        if key not in names:
            raise PythonError("TypeError", f"{model}.{method}() got an unexpected keyword argument '{key}'")
        bound[key] = value
    return bound


def _ids(value: Any) -> list[int]:
    if isinstance(value, int):
        return [value]
    return [int(item) for item in value or []]


def call_kw(books: Books, model: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if method.startswith("_"):
        raise AccessError(f"Private methods (such as {method}) cannot be called remotely.")
    books.model(model)
    kwargs = dict(kwargs)
    context = kwargs.pop("context", None) or {}
    if method not in _ORM and method not in RECORD_METHODS.get(model, set()):
        raise PythonError("AttributeError", f"The method '{method}' does not exist on the model '{model}'")
    bound = _bind(model, method, list(args), kwargs)
    handler = _HANDLERS.get(method)
    if handler is not None:
        return handler(books, model, bound, context)
    ids = _ids(bound.get("ids"))
    actions: dict[str, Callable[[list[int]], Any]] = {
        "action_post": books.post,
        "button_cancel": books.cancel,
        "button_draft": books.to_draft,
        "action_create_payments": books.create_payments,
    }
    return actions[method](ids)


def _search(books: Books, model: str, b: dict[str, Any], _ctx: dict[str, Any]) -> Any:
    return books.search(model, b.get("domain"), b.get("offset") or 0, b.get("limit"), b.get("order"))


def _search_read(books: Books, model: str, b: dict[str, Any], ctx: dict[str, Any]) -> Any:
    return books.read(model, _search(books, model, b, ctx), b.get("fields"))


def _search_count(books: Books, model: str, b: dict[str, Any], _ctx: dict[str, Any]) -> Any:
    return len(books.search(model, b.get("domain"), limit=b.get("limit")))


def _read(books: Books, model: str, b: dict[str, Any], _ctx: dict[str, Any]) -> Any:
    return books.read(model, _ids(b.get("ids")), b.get("fields"))


def _create(books: Books, model: str, b: dict[str, Any], ctx: dict[str, Any]) -> Any:
    vals = b.get("vals_list") or {}
    rows = vals if isinstance(vals, list) else [vals]
    if model == "account.payment.register":
        ids = [books.open_payment_wizard(row, ctx) for row in rows]
    else:
        ids = [books.create(model, row) for row in rows]
    return ids if isinstance(vals, list) else ids[0]


def _write(books: Books, model: str, b: dict[str, Any], _ctx: dict[str, Any]) -> Any:
    return books.write(model, _ids(b.get("ids")), b.get("vals") or {})


def _unlink(books: Books, model: str, b: dict[str, Any], _ctx: dict[str, Any]) -> Any:
    return books.unlink(model, _ids(b.get("ids")))


def _fields_get(books: Books, model: str, b: dict[str, Any], _ctx: dict[str, Any]) -> Any:
    return books.fields_get(model, b.get("allfields"), b.get("attributes"))


def _name_search(books: Books, model: str, b: dict[str, Any], _ctx: dict[str, Any]) -> Any:
    limit = b.get("limit", 100)
    return books.name_search(model, b.get("name") or "", b.get("args"), b.get("operator") or "ilike", limit)


_HANDLERS: dict[str, Callable[[Books, str, dict[str, Any], dict[str, Any]], Any]] = {
    "search": _search,
    "search_read": _search_read,
    "search_count": _search_count,
    "read": _read,
    "create": _create,
    "write": _write,
    "unlink": _unlink,
    "fields_get": _fields_get,
    "name_search": _name_search,
}


# -- wire encodings ---------------------------------------------------------------------------------------------
def number_text(value: Decimal) -> str:
    """A Decimal written as Python writes the float Odoo would hold: 12.10 -> 12.1, 12 -> 12.0."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0")
    return text + "0" if text.endswith(".") else text if "." in text else text + ".0"


def _mark(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"@@dec:{number_text(value)}@@"
    if isinstance(value, dict):
        return {key: _mark(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mark(item) for item in value]
    return value


def json_text(payload: Any) -> str:
    """JSON with Decimals as bare numbers, never through float arithmetic."""
    return _DECIMAL_TOKEN.sub(r"\1", json.dumps(_mark(payload)))


def decimals_from_floats(value: Any) -> Any:
    """XML-RPC hands doubles over as floats; keep their decimal text exactly."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {key: decimals_from_floats(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [decimals_from_floats(item) for item in value]
    return value


class _Marshaller(xmlrpc.client.Marshaller):
    dispatch = dict(xmlrpc.client.Marshaller.dispatch)  # noqa: RUF012 (xmlrpc.client's own class attribute)

    def dump_decimal(self, value: Decimal, write: Callable[[str], Any]) -> None:
        write(f"<value><double>{number_text(value)}</double></value>\n")

    dispatch[Decimal] = dump_decimal  # type: ignore[index,assignment]


def xml_text(params: tuple[Any, ...] | xmlrpc.client.Fault) -> str:
    """Odoo's ``dumps``: allow_none=False, so a None result is itself a marshalling fault as in Odoo."""
    body = _Marshaller(allow_none=False).dumps(params)
    return f'<?xml version="1.0"?>\n<methodResponse>\n{body}</methodResponse>\n'
