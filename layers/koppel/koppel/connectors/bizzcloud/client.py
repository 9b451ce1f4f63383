"""How Koppel talks to Bizzcloud: Odoo's external API, over JSON-RPC (default) or XML-RPC
(README.md in this folder).

Both speak ``execute_kw(db, uid, api_key, model, method, args, kwargs)`` after ``authenticate``; the transport is
a setting, so if Bizzcloud turns out to expose only one of them (or something else), only this module changes.
JSON-RPC answers are parsed with every number as Decimal. XML-RPC has ``<double>``: Odoo writes the shortest
repr of its float, so each double is read back as the Decimal of that same text, never as a binary float.
Errors: Odoo's ``AccessDenied`` (a revoked API key) is an AuthError, its validation and user errors are permanent
with Odoo's own message, and the HTTP layer (nginx in front of Odoo) gives 429/5xx as retryable.
"""

from __future__ import annotations

import itertools
import xmlrpc.client
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol
from xml.sax.saxutils import escape as xml_escape

from koppel import wire
from koppel.errors import AuthError, PermanentError, RetryableError
from koppel.http import json_body, send

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    import requests

VENDOR = "Bizzcloud"
_AUTH_ERRORS = ("AccessDenied", "SessionExpired")
_RETRY_ERRORS = ("SerializationFailure", "concurrent update", "could not serialize")
_FAULT_NAMES = {
    1: "builtins.Exception",
    2: "odoo.exceptions.UserError",
    3: "odoo.exceptions.AccessDenied",
    4: "odoo.exceptions.AccessError",
}
"""Odoo's XML-RPC fault codes (odoo/service/wsgi_server.py): the exception class is not sent, only its code."""


class Transport(Protocol):
    def call(self, service: str, method: str, args: list[Any]) -> Any:
        """One RPC: ``service`` is "common" or "object"."""


class JsonRpc:
    def __init__(self, session: requests.Session, base_url: str) -> None:
        self._session = session
        self._url = base_url.rstrip("/") + "/jsonrpc"
        self._ids = itertools.count(1)

    def call(self, service: str, method: str, args: list[Any]) -> Any:
        params = {"service": service, "method": method, "args": args}
        request = {"jsonrpc": "2.0", "method": "call", "params": params, "id": next(self._ids)}
        response = send(
            self._session,
            "POST",
            self._url,
            vendor=VENDOR,
            data=wire.dumps(request).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        answer = json_body(response)
        if isinstance(answer, dict) and answer.get("error"):
            raise rpc_error(answer["error"], f"{service}.{method}")
        return answer.get("result") if isinstance(answer, dict) else None


class XmlRpc:
    def __init__(self, session: requests.Session, base_url: str) -> None:
        self._session = session
        self._base = base_url.rstrip("/")

    def call(self, service: str, method: str, args: list[Any]) -> Any:
        payload = _dumps_decimal(tuple(args), method).encode()
        response = send(
            self._session,
            "POST",
            f"{self._base}/xmlrpc/2/{service}",
            vendor=VENDOR,
            data=payload,
            headers={"Content-Type": "text/xml"},
        )
        try:
            result, _ = _loads_decimal(response.content)
        except xmlrpc.client.Fault as fault:
            name = _FAULT_NAMES.get(fault.faultCode, "")
            raise rpc_error({"message": fault.faultString, "data": {"name": name}}, method) from fault
        return result[0] if result else None


def rpc_error(error: Any, what: str) -> Exception:
    """Odoo's error envelope ``{"code", "message", "data": {"name", "message"}}`` as a Koppel error."""
    data = error.get("data") if isinstance(error, dict) else None
    name = str(data.get("name", "")) if isinstance(data, dict) else ""
    detail = str(data.get("message", "")) if isinstance(data, dict) else ""
    detail = detail or (str(error.get("message", "")) if isinstance(error, dict) else str(error))
    text = f"{VENDOR} refused {what}: {_last_words(detail) or name}"
    if any(marker in name or marker in detail for marker in _AUTH_ERRORS):
        return AuthError(f"{text}. The API key was revoked or the user changed: reconnect {VENDOR}")
    if any(marker in detail for marker in _RETRY_ERRORS):
        return RetryableError(text)
    return PermanentError(text, vendor_message=detail)


def _last_words(detail: str) -> str:
    """Odoo's message: the last line of a traceback (XML-RPC sends the whole of it), else the first line."""
    lines = [line.strip() for line in detail.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    if lines[0].startswith("Traceback"):
        last = lines[-1]
        return last.split(": ", 1)[1] if ": " in last and last.split(": ", 1)[0].replace(".", "").isalnum() else last
    return lines[0]


class _DecimalMarshaller(xmlrpc.client.Marshaller):
    """A Decimal as ``<double>`` in its own digits (hand-written: xmlrpc.client writes only floats as doubles).
    Odoo reads the text into its float field; no binary float is made on our side."""

    def __init__(self) -> None:
        super().__init__("utf-8", allow_none=True)
        dispatch: dict[Any, Any] = {**xmlrpc.client.Marshaller.dispatch, Decimal: _DecimalMarshaller.dump_decimal}
        self.dispatch = dispatch

    def dump_decimal(self, value: Decimal, write: Callable[[str], Any]) -> None:
        if not value.is_finite():
            raise ValueError(f"{value} cannot be sent to {VENDOR}")
        write(f"<value><double>{value:f}</double></value>\n")


def _dumps_decimal(params: tuple[Any, ...], method: str) -> str:
    """xmlrpc.client.dumps of a method call, with the Decimal-aware marshaller above."""
    body = _DecimalMarshaller().dumps(params)
    name = xml_escape(method)
    return f"<?xml version='1.0'?>\n<methodCall>\n<methodName>{name}</methodName>\n{body}</methodCall>\n"


class _DecimalUnmarshaller(xmlrpc.client.Unmarshaller):
    """``<double>`` as the Decimal of its text (hand-written: xmlrpc.client has no parse_float hook)."""

    def __init__(self) -> None:
        super().__init__(use_builtin_types=True)
        double: Any = _DecimalUnmarshaller.end_decimal
        self.dispatch = {**xmlrpc.client.Unmarshaller.dispatch, "double": double}

    def end_decimal(self, data: str) -> None:
        self.append(Decimal(data.strip()))
        self._value = False


def _loads_decimal(data: bytes) -> tuple[tuple[Any, ...], str | None]:
    unmarshaller = _DecimalUnmarshaller()
    parser = xmlrpc.client.ExpatParser(unmarshaller)
    parser.feed(data)
    parser.close()
    return unmarshaller.close(), unmarshaller.getmethodname()


class Odoo:
    """``execute_kw`` with the uid from ``authenticate`` (asked once per instance)."""

    def __init__(self, transport: Transport, database: str, login: str, api_key: str) -> None:
        self._transport = transport
        self._db = database
        self._login = login
        self._key = api_key
        self._uid: int | None = None

    def uid(self) -> int:
        if self._uid is None:
            uid = self._transport.call("common", "authenticate", [self._db, self._login, self._key, {}])
            if not isinstance(uid, int) or isinstance(uid, bool):
                raise AuthError(
                    f"{VENDOR} did not accept the stored login and API key on database {self._db!r}: "
                    f"create a new API key in Bizzcloud (Preferences > Account Security) and reconnect"
                )
            self._uid = uid
        return self._uid

    def execute(self, model: str, method: str, args: list[Any], **kwargs: Any) -> Any:
        return self._transport.call(
            "object", "execute_kw", [self._db, self.uid(), self._key, model, method, args, kwargs]
        )

    def search_read(self, model: str, domain: list[Any], fields: list[str], **kwargs: Any) -> list[dict[str, Any]]:
        rows = self.execute(model, "search_read", [domain], fields=fields, **kwargs)
        return list(rows or [])

    def read(self, model: str, ids: Iterable[int], fields: list[str]) -> dict[int, dict[str, Any]]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        return {row["id"]: row for row in self.execute(model, "read", [wanted], fields=fields) or []}

    def pages(self, model: str, domain: list[Any], fields: list[str], size: int) -> Iterator[list[dict[str, Any]]]:
        offset = 0
        while True:
            page = self.search_read(model, domain, fields, offset=offset, limit=size, order="write_date asc, id asc")
            if page:
                yield page
            if len(page) < size:
                return
            offset += size


def transport_for(kind: str, session: requests.Session, base_url: str) -> Transport:
    return XmlRpc(session, base_url) if kind == "xmlrpc" else JsonRpc(session, base_url)
