"""One request's work: the organization it acts for, the sandbox options, and every record it changed.

Billy answers a POST/PUT/PATCH/DELETE with **all records that changed because of the request**, keyed by plural
name, and the ids of deleted records in ``meta.deletedRecords`` [V, https://www.billy.dk/api/ "Responses to
create/update/delete requests"]. ``Changes`` collects both while a handler works, so the answer follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.billy.store import public

if TYPE_CHECKING:
    from devkit.sandboxes.billy.store import Organization, Record, Store

LINE_TAX_RATE = ("ignore", "accept", "refuse")


@dataclass
class Options:
    """Behaviours the public docs leave open; each default is our best reading (see README)."""

    line_tax_rate: str = "ignore"  # a line's taxRateId: ignored (read-only, the docs) | used | refused with 422
    invoice_no_on: str = "create"  # automatic invoiceNo at creation (the docs) or only at approval
    overpayment: str = "contact_balance"  # the excess goes to the contact's balance (the docs) or 422
    vat_rounding: str = "line"  # VAT rounded per line, or once per rate over the invoice
    updated_time: bool = False  # Billy documents no updatedTime; True adds one (a what-if for connectors)

    def update(self, settings: dict[str, Any]) -> None:
        choices = {
            "line_tax_rate": LINE_TAX_RATE,
            "invoice_no_on": ("create", "approve"),
            "overpayment": ("contact_balance", "refuse"),
            "vat_rounding": ("line", "invoice"),
            "updated_time": (True, False),
        }
        for key, value in settings.items():
            if key not in choices or value not in choices[key]:
                raise ValueError(f"unknown option {key}={value!r}")
            setattr(self, key, value)


@dataclass
class Changes:
    store: Store
    org: Organization
    options: Options
    changed: dict[str, dict[str, Record]] = field(default_factory=dict)
    deleted: dict[str, list[str]] = field(default_factory=dict)

    def put(self, plural: str, record: Record) -> Record:
        """Store (or re-store) a record and note it as changed; its internal change time moves."""
        record["_changed"] = self.store.now()
        self.org.table(plural)[record["id"]] = record
        self.changed.setdefault(plural, {})[record["id"]] = record
        return record

    def delete(self, plural: str, ident: str) -> None:
        self.org.table(plural).pop(ident, None)
        self.changed.get(plural, {}).pop(ident, None)
        self.deleted.setdefault(plural, []).append(ident)

    def body(self, client_ids: dict[str, str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.deleted:
            out["meta"] = {"deletedRecords": self.deleted}
        for plural, records in self.changed.items():
            out[plural] = [self.render(r, (client_ids or {}).get(r["id"])) for r in records.values()]
        return out

    def render(self, record: Record, client_id: str | None = None) -> Record:
        out = public(record)
        if self.options.updated_time:
            out["updatedTime"] = record.get("_changed")
        if client_id:
            out["_clientId"] = client_id  # Billy's web client matches answers to records by it [V, billy-data]
        return out
