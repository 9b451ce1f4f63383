"""Test helpers in Python: organizations with tokens, seeded records, changes made "by a person" in Billy's
app, deletes, payments, and reading everything back. Each helper runs the same rules as the API (a bad seed is
refused with the same ``BillyError``), so what a test builds is what the API could have built.
"""

from __future__ import annotations

import copy
import hashlib
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar, cast

from devkit.sandboxes.billy import catalog, invoices, payments
from devkit.sandboxes.billy.changes import Changes
from devkit.sandboxes.billy.reference import seed_organization
from devkit.sandboxes.billy.store import Organization, public
from devkit.sandboxes.billy.wire import BillyError, not_found

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from devkit.sandboxes.billy.changes import Options
    from devkit.sandboxes.billy.store import Record, Store

T = TypeVar("T")
REFERENCE = frozenset(
    {"organizations", "users", "countries", "currencies", "countryGroups", "taxRates", "salesTaxRulesets"}
    | {"salesTaxRules", "accounts"}
)
CHANGEABLE: dict[str, Callable[[Changes, Record, dict[str, Any]], Record]] = {
    "contacts": lambda work, record, body: catalog.save_contact(work, body, "contact", record),
    "contactPersons": lambda work, record, body: catalog.save_person(work, body, "contactPerson", record),
    "products": lambda work, record, body: catalog.save_product(work, body, "product", record),
    "invoices": lambda work, record, body: invoices.update(work, record, body, "invoice"),
}
SEEDERS: dict[str, Callable[[Changes, dict[str, Any]], Record]] = {
    "contacts": lambda work, body: catalog.save_contact(work, body, "contact"),
    "products": lambda work, body: catalog.save_product(work, body, "product"),
    "invoices": lambda work, body: invoices.create(work, body, "invoice"),
}
DELETERS = {
    "contacts": catalog.delete_contact,
    "products": catalog.delete_product,
    "invoices": invoices.delete,
    "bankPayments": payments.delete,
}


class Seeding:
    store: Store
    options: Options
    lock: threading.RLock

    # -- organizations ------------------------------------------------------------------------------------------
    def add_organization(
        self, name: str = "Koppel Demo ApS", token: str | None = None, email: str = "demo@koppel.example"
    ) -> Organization:
        """A company with its own access token (made up from the seed when not given)."""
        with self.lock:
            org_id = self.store.new_id()
            token = token or hashlib.sha256(f"token:{self.store.seed}:{org_id}".encode()).hexdigest()[:40]
            org = Organization(org_id, token)
            self.store.organizations[org_id] = org
            self.store.tokens[token] = org_id
            seed_organization(self.store, org, name, email)
            return org

    def organization(self, which: Organization | str | None = None) -> Organization:
        """The organization by object, id or token; the first one when not named."""
        if isinstance(which, Organization):
            return which
        if which is None:
            return next(iter(self.store.organizations.values()))
        found = self.store.organizations.get(which) or self.store.by_token(which)
        if found is None:
            raise KeyError(f"no organization {which!r}")
        return found

    def find(self, plural: str, org: Organization | str | None = None, **match: Any) -> Record:
        """The first record whose fields equal ``match`` (e.g. ``find("taxRates", abbreviation="S25")``)."""
        for record in self.records(plural, org):
            if all(record.get(k) == v for k, v in match.items()):
                return record
        raise KeyError(f"no {plural} with {match}")

    # -- seeding --------------------------------------------------------------------------------------------------
    def add_contact(
        self,
        name: str,
        country: str = "DK",
        *,
        persons: list[tuple[str | None, str | None]] | None = None,
        org: Organization | str | None = None,
        **fields: Any,
    ) -> Record:
        """A contact; ``persons`` as (name, email) pairs, the first one primary."""
        body: dict[str, Any] = {"name": name, "countryId": country, **fields}
        if persons is not None:
            body["contactPersons"] = [
                {"name": n, "email": e, "isPrimary": index == 0} for index, (n, e) in enumerate(persons)
            ]
        return self._run(org, lambda work: catalog.save_contact(work, body, "contact"))

    def add_product(
        self,
        name: str,
        prices: dict[str, Decimal | int | str] | None = None,
        *,
        org: Organization | str | None = None,
        **fields: Any,
    ) -> Record:
        """A product with a unit price per currency (``{"DKK": "100.00"}``)."""
        body: dict[str, Any] = {"name": name, **fields}
        if prices:
            body["prices"] = [{"unitPrice": Decimal(str(v)), "currencyId": c} for c, v in prices.items()]
        return self._run(org, lambda work: catalog.save_product(work, body, "product"))

    def add_invoice(
        self,
        contact_id: str,
        lines: list[dict[str, Any]],
        *,
        entry_date: str = "2026-11-24",
        approve: bool = False,
        org: Organization | str | None = None,
        **fields: Any,
    ) -> Record:
        """An invoice (or ``type="creditNote"``), approved at once when asked."""
        body = {"contactId": contact_id, "entryDate": entry_date, "lines": lines, **fields}
        if approve:
            body["state"] = "approved"
        return self._run(org, lambda work: invoices.create(work, body, "invoice"))

    def seed(self, plural: str, body: dict[str, Any], org: Organization | str | None = None) -> Record:
        """A contact, product or invoice from an API body (embedded persons, prices, lines; an invoice with
        ``"state": "approved"`` is approved)."""
        seeder = SEEDERS[plural]
        return self._run(org, lambda work: seeder(work, body))

    # -- what people do in Billy's app --------------------------------------------------------------------------
    def change_by_person(
        self, plural: str, ident: str, org: Organization | str | None = None, **changes: Any
    ) -> Record:
        """Change a record as a bookkeeper would in Billy's app (same rules as PUT); nothing tells the connector,
        Billy has no webhooks and no updated-since filter."""
        if plural not in CHANGEABLE:
            raise ValueError(f"cannot change {plural} by hand here")
        return self._run(org, lambda work: CHANGEABLE[plural](work, self._existing(work, plural, ident), changes))

    def delete_record(self, plural: str, ident: str, org: Organization | str | None = None) -> None:
        def remove(work: Changes) -> None:
            deleter = DELETERS.get(plural, lambda w, i: w.delete(plural, i))
            deleter(work, ident)

        self._run(org, remove)

    def register_payment(
        self,
        invoice_id: str,
        amount: Decimal | int | str | None = None,
        *,
        entry_date: str = "2026-11-25",
        fee: Decimal | int | str | None = None,
        org: Organization | str | None = None,
    ) -> Record:
        """A payment of the invoice's balance (or ``amount``) into the company's bank account, as a person
        matching a bank line would register it."""

        def pay(work: Changes) -> Record:
            invoice = self._existing(work, "invoices", invoice_id)
            side = "debit" if invoice["type"] == "invoice" else "credit"
            cash = Decimal(str(amount)) if amount is not None else invoice["balance"]
            body: dict[str, Any] = {
                "entryDate": entry_date, "cashAmount": cash, "cashSide": side,
                "cashAccountId": work.org.record["defaultInvoiceBankAccountId"],
                "associations": [{"subjectReference": f"invoice:{invoice_id}"}],
            }  # fmt: skip
            if fee is not None:
                body |= {"feeAmount": Decimal(str(fee)), "feeAccountId": work.org.record["defaultBankFeeAccountId"]}
            return payments.create(work, body, "bankPayment")

        return self._run(org, pay)

    # -- reading ------------------------------------------------------------------------------------------------
    def records(self, plural: str, org: Organization | str | None = None) -> list[Record]:
        with self.lock:
            return [copy.deepcopy(public(r)) for r in self.organization(org).table(plural).values()]

    def record(self, plural: str, ident: str, org: Organization | str | None = None) -> Record:
        with self.lock:
            found = self.organization(org).get(plural, ident)
            if found is None:
                raise KeyError(f"no {plural} {ident}")
            return copy.deepcopy(public(found))

    def everything(self, org: Organization | str | None = None) -> dict[str, list[Record]]:
        """Every business record of an organization by plural name (reference data left out)."""
        with self.lock:
            tables = self.organization(org).tables
            return {
                p: [copy.deepcopy(public(r)) for r in t.values()] for p, t in tables.items() if p not in REFERENCE and t
            }

    # -- plumbing -------------------------------------------------------------------------------------------------
    def _run(self, org: Organization | str | None, action: Callable[[Changes], T]) -> T:
        with self.lock:
            target = self.organization(org)
            snapshot = copy.deepcopy(target.tables)
            work = Changes(self.store, target, self.options)
            try:
                result = action(work)
                payments.settle_new_credit_notes(work)
            except BillyError:
                target.tables = snapshot
                raise
            return cast("T", copy.deepcopy(public(result))) if isinstance(result, dict) else result

    @staticmethod
    def _existing(work: Changes, plural: str, ident: str) -> Record:
        record = work.org.get(plural, ident)
        if record is None:
            raise not_found(plural, ident)
        return record
