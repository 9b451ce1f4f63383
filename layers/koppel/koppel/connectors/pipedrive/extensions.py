"""Pipedrive app extensions, the pure parts: the signed request a panel or action URL receives, and the JSON a
deal's JSON panel answers with (README.md in this folder says what of the protocol is verified).

Pipedrive calls the app's URL with ``resource``, ``view``, ``userId``, ``companyId``, ``selectedIds`` and ``token``,
a JWT signed with the extension's JWT secret (or the app's client secret when none is set). Only the token is
proof: its ``userId`` and ``companyId`` are trusted, the plain query values must agree with them.

The JWT is checked by hand with hmac/hashlib/base64: PyJWT is not a dependency of the layer, and Koppel needs one
algorithm (HS256, pinned: a token that names another, ``none`` included, is refused before anything else is read),
a constant-time signature compare and ``exp``/``nbf``, about thirty lines (RFC 7515 compact form, RFC 7519 claims).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from koppel.connectors.contract import ExtensionRequest
from koppel.connectors.pipedrive.mapping import deal_event_id
from koppel.connectors.pipedrive.webhooks import BUTTON
from koppel.errors import InputError, SignatureError
from koppel.inbound import same_secret
from koppel.ports import WebhookNotice

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from koppel.connectors.contract import PanelInvoice

MAX_TOKEN = 4096
REFUSED = "the Pipedrive extension request is not signed by Pipedrive for this app"


@dataclass(frozen=True)
class SignedRequest:
    """Who asked, from where: the company and user (from the verified token), and what they had selected."""

    company_id: int
    user_id: int
    resource: str
    view: str
    selected_ids: tuple[int, ...]


def read_extension_request(query: Mapping[str, str], jwt_secret: str, now: datetime) -> SignedRequest:
    """The query of a panel/action request, its ``token`` verified (HS256, signature, ``exp``/``nbf``); anything
    else is a SignatureError."""
    if not jwt_secret:
        raise SignatureError(
            "Koppel has no JWT secret for the Pipedrive app extension: set it from Developer Hub",
            check="no JWT secret in Koppel",
        )
    claims = _verified_claims(query.get("token") or "", jwt_secret, now.timestamp())
    company, user = _id(claims.get("companyId")), _id(claims.get("userId"))
    if company is None or user is None:
        raise SignatureError(f"{REFUSED}: its token names no companyId and userId", check="no company or user")
    for name, signed in (("companyId", company), ("userId", user)):
        given = query.get(name)
        if given is not None and _id(given) != signed:
            check = "wrong company" if name == "companyId" else "wrong user"
            raise SignatureError(f"{REFUSED}: its {name} differs from the one its token names", check=check)
    selected = tuple(_id(part) for part in (query.get("selectedIds") or "").split(",") if part.strip())
    if any(ident is None for ident in selected):
        raise SignatureError(f"{REFUSED}: selectedIds is not a list of ids", check="bad selectedIds")
    return SignedRequest(
        company_id=company,
        user_id=user,
        resource=(query.get("resource") or "").strip(),
        view=(query.get("view") or "").strip(),
        selected_ids=tuple(i for i in selected if i is not None),
    )


def _verified_claims(token: str, secret: str, now: float) -> dict[str, Any]:
    if not token:
        raise SignatureError(f"{REFUSED}: it carries no token", check="missing token")
    parts = token.split(".") if len(token) <= MAX_TOKEN else []
    if len(parts) != 3:
        raise SignatureError(
            f"{REFUSED}: its token is not a JWT (three parts separated by dots, at most {MAX_TOKEN} characters)",
            check="malformed token",
        )
    header, body = _json_part(parts[0]), _json_part(parts[1])
    if header.get("alg") != "HS256":  # pinned: never the algorithm the token itself asks for
        raise SignatureError(f"{REFUSED}: its token is not signed with HS256", check="not HS256")
    expected = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not same_secret(_unb64(parts[2]), expected):
        raise SignatureError(
            f"{REFUSED}: its token's signature does not match the app's JWT secret", check="bad signature"
        )
    for claim in ("exp", "nbf"):
        if body.get(claim) is not None and not _number(body[claim]):
            raise SignatureError(f"{REFUSED}: its token's {claim} is not a time in seconds", check="bad expiry")
    if body.get("exp") is not None and now >= body["exp"]:
        raise SignatureError(f"{REFUSED}: its token has expired; reload the panel in Pipedrive", check="expired")
    if body.get("nbf") is not None and now < body["nbf"]:
        raise SignatureError(f"{REFUSED}: its token is not valid yet", check="not valid yet")
    return body


def _json_part(part: str) -> dict[str, Any]:
    try:
        value = json.loads(_unb64(part))
    except ValueError as error:
        raise SignatureError(f"{REFUSED}: its token is not a JWT", check="malformed token") from error
    if not isinstance(value, dict):
        raise SignatureError(f"{REFUSED}: its token is not a JWT", check="malformed token")
    return value


def _unb64(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as error:
        raise SignatureError(f"{REFUSED}: its token is not a JWT", check="malformed token") from error


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _id(value: object) -> int | None:
    """Ids as numbers or as digits (Pipedrive is seen to send both)."""
    if isinstance(value, bool):
        return None
    text = str(value).strip() if isinstance(value, int | str) else ""
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) <= 19 else None


# -- the deal's JSON panel ----------------------------------------------------------------------------------------
COLORS = {
    "Open": "blue",
    "Overdue": "red",
    "Partially paid": "yellow",
    "Paid": "green",
    "Voided": "grey",
    "Cancelled": "grey",
    "Deleted": "grey",
    "Pending": "purple",
    "Needs attention": "red",
}
"""A status in words → the label colour (Pipedrive's six: green, red, blue, yellow, purple, grey)."""
ACTION_LABELS = {"void": "Void", "delete": "Delete", "send": "Send", "pdf": "PDF"}
MAX_OBJECTS = 10
PANEL_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["id", "header"],
        "properties": {
            "id": {"$ref": "#/definitions/numerical"},
            "header": {"$ref": "#/definitions/header"},
            "status": {"$ref": "#/definitions/label", "label": "Status"},
            "amount": {"$ref": "#/definitions/currency", "label": "Amount"},
            "open": {"$ref": "#/definitions/currency", "label": "Open"},
            "due_date": {"$ref": "#/definitions/date", "label": "Due date"},
            "invoice": {"$ref": "#/definitions/link", "label": "Invoice"},
            "reason": {"$ref": "#/definitions/text", "label": "Needs"},
            "actions": {"$ref": "#/definitions/tags", "label": "Actions"},
        },
    },
}
"""The panel's "JSON data structure" for Developer Hub (a multiple object panel): invoice_panel's objects fit it,
and nothing else may be sent (Pipedrive's schema has additionalProperties false). Register the object actions Void,
Delete, Send and PDF (at most three object actions: PDF as the panel's global action) in Developer Hub."""


def allowed_actions(status: str) -> tuple[str, ...]:
    """What may be done with an invoice in this state (words): void and delete only while nothing is paid, send
    while it stands, the PDF while it exists. The action endpoints must check this again (the panel only shows it)."""
    if status in ("Open", "Overdue"):
        return ("void", "delete", "send", "pdf")
    if status in ("Paid", "Partially paid"):
        return ("send", "pdf")
    if status == "Voided":
        return ("pdf",)
    return ()


def invoice_panel(
    invoices: Sequence[PanelInvoice], *, settings_url: str = "", external_link: tuple[str, str] | None = None
) -> dict[str, Any]:
    """The JSON panel's answer: one object per invoice (at most ten), amounts as Decimal (write the answer with
    ``koppel.wire.dumps``: numbers, never floats). No invoice: ``{"data": []}``, shown as "Nothing to show"."""
    data = []
    for position, invoice in enumerate(invoices[:MAX_OBJECTS], start=1):
        item: dict[str, Any] = {
            "id": position,
            "header": invoice.number,
            "status": {"color": COLORS.get(invoice.status, "grey"), "label": invoice.status[:40]},
        }
        for name, text in (("amount", invoice.total), ("open", invoice.amount_open)):
            money = _currency(text)
            if money is not None:
                item[name] = money
        due = getattr(invoice, "due_date", None)
        if due:
            item["due_date"] = str(due)[:10]
        if invoice.link:
            item["invoice"] = {"label": "Open invoice", "value": invoice.link, "external": True}
        if invoice.reason:
            item["reason"] = invoice.reason[:255]
        allowed = allowed_actions(invoice.status)
        item["actions"] = [ACTION_LABELS[a] for a in invoice.actions if a in allowed and a in ACTION_LABELS]
        data.append(item)
    panel: dict[str, Any] = {"data": data}
    if external_link:
        panel["external_link"] = {"url": external_link[0], "label": external_link[1][:40]}
    if settings_url:
        panel["settings"] = {"url": settings_url}
    return panel


def _currency(text: object) -> dict[str, Any] | None:
    """ "EUR 121.00" (how the ledger keeps a total) as Pipedrive's currency field ``{"code", "value"}``."""
    code, _, amount = str(text or "").strip().partition(" ")
    if len(code) != 3 or not code.isalpha() or not code.isupper():
        return None
    try:
        value = Decimal(amount.strip())
    except InvalidOperation:
        return None
    return {"code": code, "value": value} if value.is_finite() else None


class PipedriveAppExtension:
    """``AppExtension`` (on the descriptor): the deal's "Create invoice" button and its JSON panel. Koppel's partner
    secret holds the extension's ``jwt_secret`` (else Pipedrive signs with the app's ``client_secret``)."""

    def read_request(self, query: Mapping[str, str], partner: Mapping[str, str], now: datetime) -> ExtensionRequest:
        secret = (partner.get("jwt_secret") or partner.get("client_secret") or "").strip()
        signed = read_extension_request(query, secret, now)
        if signed.resource and signed.resource != "deal":
            raise InputError(f"Koppel's Pipedrive extension works on deals, not on a {signed.resource[:40]}")
        return ExtensionRequest(
            account_id=str(signed.company_id),
            user_id=str(signed.user_id),
            record_ids=tuple(str(ident) for ident in signed.selected_ids),
        )

    def event_ids(self, record_id: str) -> tuple[str, ...]:
        return (deal_event_id(record_id),)

    def notice(self, record_id: str) -> WebhookNotice:
        return WebhookNotice(entity="deal", record_id=record_id, topic=BUTTON)

    def panel(self, invoices: Sequence[PanelInvoice]) -> dict[str, Any]:
        return invoice_panel(invoices)
