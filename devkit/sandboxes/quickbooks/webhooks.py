"""QuickBooks webhooks: entity changes batched into signed POSTs, in the classic or the CloudEvents format.

- Classic [V: Intuit's SDK test payloads]: ``{"eventNotifications": [{"realmId", "dataChangeEvent": {"entities":
  [{"name", "id", "operation", "lastUpdated"}]}}]}``, one notification per company in a batch.
- CloudEvents [V: Intuit's .NET SDK test payload; the format Intuit moves every app to in 2026]: a JSON array of
  ``{"specversion": "1.0", "id", "source", "type": "qbo.<entity>.<created|updated|deleted|voided>.v1", "time",
  "intuitentityid", "intuitaccountid", "data"}`` with the realm id as ``intuitaccountid`` [I] and an empty
  ``data`` [I: the sample carries alternative ids].
- Signature [V: Intuit's SDKs and their test vectors]: header ``intuit-signature`` = base64(HMAC-SHA256(verifier
  token, raw body)). Bodies are compact JSON like the samples.
Changes wait in the outbox until ``deliver`` POSTs them, all pending in one batch, so tests control timing;
a failed POST keeps the batch for the next call (Intuit retries [I: its schedule is not published]).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.ccvshop.webhooks import Delivery, post_with_requests

if TYPE_CHECKING:
    from collections.abc import Callable

    from devkit.sandboxes.quickbooks.store import Change

FORMATS = ("classic", "cloudevents")
SILENT = ("TaxCode", "TaxRate", "CompanyInfo")  # entities QuickBooks sends no webhooks for (of those here)
CLOUD_VERBS = {"Create": "created", "Update": "updated", "Delete": "deleted", "Void": "voided", "Merge": "merged"}


def sign(verifier_token: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()).decode()


def verify(verifier_token: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(verifier_token, body), signature)


def _stamp(change: Change) -> str:
    return change.at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{change.at.microsecond // 1000:03d}Z"


def classic_body(events: list[tuple[str, Change]]) -> list[dict[str, Any]]:
    by_realm: dict[str, list[dict[str, str]]] = {}
    for realm, change in events:
        entity = {
            "name": change.entity,
            "id": change.ident,
            "operation": change.operation,
            "lastUpdated": _stamp(change),
        }
        by_realm.setdefault(realm, []).append(entity)
    return [{"realmId": realm, "dataChangeEvent": {"entities": entities}} for realm, entities in by_realm.items()]


def cloud_events(events: list[tuple[str, Change]], source: str) -> list[dict[str, Any]]:
    return [
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": source,
            "type": f"qbo.{change.entity.lower()}.{CLOUD_VERBS.get(change.operation, change.operation.lower())}.v1",
            "time": _stamp(change),
            "intuitentityid": change.ident,
            "intuitaccountid": realm,
            "data": {},
        }
        for realm, change in events
    ]


class Webhooks:
    """The app's webhook registration (one URL and verifier token, as in the developer portal) and its outbox."""

    def __init__(self) -> None:
        self.url = ""
        self.verifier_token = ""
        self.format = "classic"
        self.source = "intuit." + base64.b64encode(hashlib.sha256(b"koppel-sandbox-app").digest()).decode()
        self.pending: list[tuple[str, Change]] = []
        self.delivered: list[Delivery] = []

    def configure(self, url: str, verifier_token: str, format: str = "classic") -> None:
        if format not in FORMATS:
            raise ValueError(f"unknown webhook format {format!r}; use one of {FORMATS}")
        self.url, self.verifier_token, self.format = url, verifier_token, format

    def record(self, realm: str, change: Change) -> None:
        if change.entity not in SILENT:
            self.pending.append((realm, change))

    def build(self, events: list[tuple[str, Change]] | None = None) -> Delivery | None:
        """The next POST for the pending changes (or ``events``), signed; None when nothing waits."""
        events = self.pending if events is None else events
        if not events:
            return None
        if self.format == "cloudevents":
            payload: Any = cloud_events(events, self.source)
        else:
            payload = {"eventNotifications": classic_body(events)}
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "intuit-signature": sign(self.verifier_token, body)}
        return Delivery(address=self.url, headers=headers, body=body, event=self.format)

    def deliver(self, post: Callable[[Delivery], Any] | None = None) -> Delivery | None:
        """POST everything pending as one batch; on failure the batch stays pending and the error is raised."""
        delivery = self.build()
        if delivery is None:
            return None
        if not self.url:
            raise ValueError("no webhook URL registered: call configure(url, verifier_token) first")
        (post or post_with_requests)(delivery)
        self.pending = []
        self.delivered.append(delivery)
        return delivery
