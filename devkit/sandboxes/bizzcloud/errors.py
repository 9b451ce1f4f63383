"""Odoo's exceptions and how its two RPC transports put them on the wire.

Shapes copied from odoo/odoo (read through the code corpus):
- ``odoo/http.py`` ``serialize_exception``: ``{"name": "<module>.<Class>", "debug": <traceback>, "message": str(exc),
  "arguments": exc.args, "context": {}}``, wrapped by ``JsonRPCDispatcher.handle_error`` in
  ``{"code": 200, "message": "Odoo Server Error", "data": ...}`` (HTTP status stays 200; code 100
  "Odoo Session Expired" and 404 are the only other codes, neither reachable through ``/jsonrpc``).
- ``odoo/addons/base/controllers/rpc.py`` ``xmlrpc_handle_exception_int`` (``/xmlrpc/2/``): Fault 2 for UserError
  (and subclasses ValidationError/MissingError) and RedirectWarning, 4 for AccessError, 3 for AccessDenied,
  1 with the whole formatted traceback as faultString for anything else (ValueError, AttributeError, ...).
"""

from __future__ import annotations

import xmlrpc.client
from typing import Any

_ODOO_FILE = "/home/odoo/src/odoo/odoo"


class OdooError(Exception):
    """Base of what the sandbox raises; ``odoo_name`` is the dotted class name Odoo reports."""

    odoo_name = "builtins.Exception"
    fault_code: int | None = None  # None: XML-RPC sends code 1 with the traceback text

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class UserError(OdooError):
    odoo_name = "odoo.exceptions.UserError"
    fault_code = 2


class ValidationError(UserError):
    odoo_name = "odoo.exceptions.ValidationError"


class MissingError(UserError):
    odoo_name = "odoo.exceptions.MissingError"


class AccessError(OdooError):
    odoo_name = "odoo.exceptions.AccessError"
    fault_code = 4


class AccessDenied(OdooError):
    odoo_name = "odoo.exceptions.AccessDenied"
    fault_code = 3

    def __init__(self, message: str = "Access Denied") -> None:
        super().__init__(message)


class PythonError(OdooError):
    """A plain Python exception inside Odoo (ValueError, AttributeError, KeyError, TypeError...)."""

    def __init__(self, kind: str, message: str, module: str = "builtins") -> None:
        super().__init__(message)
        self.kind = kind
        self.module = module

    @property
    def odoo_name(self) -> str:  # type: ignore[override]
        return f"{self.module}.{self.kind}"


def invalid_value(message: str) -> PythonError:
    return PythonError("ValueError", message)


def traceback_text(error: OdooError) -> str:
    """A plausible server traceback ending the way Python prints the exception line."""
    label = error.odoo_name.removeprefix("builtins.").removeprefix("odoo.exceptions.")
    return (
        "Traceback (most recent call last):\n"
        f'  File "{_ODOO_FILE}/service/model.py", line 156, in retrying\n'
        "    result = func()\n"
        f'  File "{_ODOO_FILE}/api.py", line 468, in call_kw\n'
        "    result = _call_kw_multi(method, model, args, kwargs)\n"
        f"{label}: {error.message}\n"
    )


def json_error(error: OdooError) -> dict[str, Any]:
    return {
        "code": 200,
        "message": "Odoo Server Error",
        "data": {
            "name": error.odoo_name,
            "debug": traceback_text(error),
            "message": error.message,
            "arguments": list(error.args),
            "context": {},
        },
    }


def xmlrpc_fault(error: OdooError) -> xmlrpc.client.Fault:
    if error.fault_code is None:
        return xmlrpc.client.Fault(1, traceback_text(error))
    return xmlrpc.client.Fault(error.fault_code, error.message)
