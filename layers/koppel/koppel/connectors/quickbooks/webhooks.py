"""QuickBooks Online webhooks, pure: the ``intuit-signature`` check and the notices of a body, in the classic
``eventNotifications`` format and the CloudEvents format Intuit moves every app to. A notice only says that an
entity changed: the receiver re-reads it (notices are batched and may come late or out of order)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from koppel.connectors.quickbooks.settings import VENDOR
from koppel.errors import InputError, SignatureError
from koppel.inbound import read_json, same_secret

if TYPE_CHECKING:
    from collections.abc import Mapping

SIGNATURE_HEADER = "intuit-signature"
VERBS = {"created": "Create", "updated": "Update", "deleted": "Delete", "voided": "Void", "merged": "Merge",
         "emailed": "Emailed"}  # fmt: skip
ENTITIES = {"invoice": "Invoice", "creditmemo": "CreditMemo", "customer": "Customer", "payment": "Payment",
            "salesreceipt": "SalesReceipt", "vendor": "Vendor", "employee": "Employee", "item": "Item",
            "account": "Account", "estimate": "Estimate", "refundreceipt": "RefundReceipt"}  # fmt: skip


@dataclass(frozen=True)
class Notice:
    """One entity change: which company, what, which id, how (Create, Update, Delete, Void, Merge, Emailed), when."""

    realm_id: str
    entity: str
    entity_id: str
    operation: str
    time: str


def verify_signature(headers: Mapping[str, str], body: bytes, verifier_token: str) -> None:
    """``intuit-signature`` must be base64(HMAC-SHA256(verifier token, raw body)); SignatureError otherwise."""
    given = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), "")
    if not verifier_token:
        raise SignatureError(f"no {VENDOR} webhook verifier token is stored: a body cannot be verified")
    expected = base64.b64encode(hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()).decode()
    if not given or not same_secret(given.strip(), expected):
        raise SignatureError(f"the {VENDOR} webhook signature ({SIGNATURE_HEADER}) does not match the body")


def parse_notices(body: bytes) -> list[Notice]:
    """Every change a webhook body names, in either format; InputError with the reason for anything else."""
    data = read_json(body, f"{VENDOR} webhook body")
    if isinstance(data, list):
        return [_cloud_event(event) for event in data]
    if isinstance(data, dict) and isinstance(data.get("eventNotifications"), list):
        return [notice for item in data["eventNotifications"] for notice in _classic(item)]
    raise InputError(f"the {VENDOR} webhook body is neither eventNotifications nor a list of CloudEvents")


def _classic(item: Any) -> list[Notice]:
    if not isinstance(item, dict):
        raise InputError(f"a {VENDOR} eventNotification is not an object")
    realm = _text(item.get("realmId"), "realmId")
    entities = (item.get("dataChangeEvent") or {}).get("entities")
    if not isinstance(entities, list):
        raise InputError(f"the {VENDOR} eventNotification of {realm} has no dataChangeEvent.entities")
    return [
        Notice(
            realm,
            _text(e.get("name"), "name"),
            _text(e.get("id"), "id"),
            _text(e.get("operation"), "operation"),
            str(e.get("lastUpdated") or ""),
        )
        for e in entities
        if isinstance(e, dict)
    ]


def _cloud_event(event: Any) -> Notice:
    if not isinstance(event, dict):
        raise InputError(f"a {VENDOR} CloudEvent is not an object")
    kind = _text(event.get("type"), "type").split(".")
    if len(kind) != 4 or kind[0] != "qbo":
        raise InputError(f"{'.'.join(kind)!r} is not a {VENDOR} event type like qbo.invoice.created.v1")
    entity = ENTITIES.get(kind[1].lower(), kind[1][:1].upper() + kind[1][1:])
    operation = VERBS.get(kind[2].lower(), kind[2][:1].upper() + kind[2][1:])
    realm = _text(event.get("intuitaccountid"), "intuitaccountid")
    return Notice(
        realm, entity, _text(event.get("intuitentityid"), "intuitentityid"), operation, str(event.get("time") or "")
    )


def _text(value: Any, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise InputError(f"the {VENDOR} webhook body has no {name}")
    return str(value).strip()[:200]


BOOKED_ENTITIES = frozenset({"Invoice", "CreditMemo", "Payment"})
"""What Koppel books or reads back: a change of anything else (a customer, an item) changes no status."""


class QuickbooksChangeNotices:
    """``ChangeNotices`` (on the descriptor): Intuit's webhooks, verified with Koppel's app verifier token."""

    def changed_accounts(self, headers: Mapping[str, str], body: bytes, partner: Mapping[str, str]) -> tuple[str, ...]:
        verify_signature(headers, body, partner.get("webhook_verifier_token", ""))
        realms = {notice.realm_id for notice in parse_notices(body) if notice.entity in BOOKED_ENTITIES}
        return tuple(sorted(realms))
