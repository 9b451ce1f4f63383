"""The sandbox's Python API for tests and the demo: seed companies, apps and names; read back what was booked.

Everything here goes through the same rules as the HTTP API (a customer added here can still collide with a
vendor's name), and every change it makes is logged for CDC and webhooks like an API change.
"""

from __future__ import annotations

import copy
import secrets
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.quickbooks.store import Company

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable
    from datetime import datetime

    from devkit.sandboxes.ccvshop.webhooks import Delivery
    from devkit.sandboxes.quickbooks.books import Books
    from devkit.sandboxes.quickbooks.gate import Limits
    from devkit.sandboxes.quickbooks.oauth import OAuth
    from devkit.sandboxes.quickbooks.webhooks import Webhooks

DEFAULT_CLIENT = ("sandbox-client-id", "sandbox-client-secret")


class SeedingMixin:
    """Needs ``_lock``, ``companies``, ``books``, ``oauth``, ``limits``, ``webhooks``, ``_now`` and ``_flush``."""

    _lock: threading.RLock
    companies: dict[str, Company]
    books: Books
    oauth: OAuth
    limits: Limits
    webhooks: Webhooks
    _now: Callable[[], datetime]
    _flush: Callable[[Company], None]

    # -- companies and apps ---------------------------------------------------------------------------------------
    def add_company(
        self,
        name: str = "Koppel Sandbox Ltd",
        *,
        realm: str | None = None,
        country: str = "GB",
        currency: str = "GBP",
        multicurrency: bool = False,
        vat_codes: Any = None,
    ) -> str:
        """A company with VAT codes/rates (UK by default), accounts, items and terms; returns its realmId."""
        with self._lock:
            realm = realm or str(9_130_000_000_000_000 + secrets.randbelow(10**15))
            options = {"country": country, "currency": currency, "multicurrency": multicurrency}
            self.companies[realm] = Company.seeded(realm, name, self._now(), vat_codes, **options)
            return realm

    def company(self, realm: str) -> Company:
        """The live company; mutable: hold the sandbox's ``_lock`` while changing it."""
        return self.companies[realm]

    def add_client(self, client_id: str, secret: str, redirect_uris: tuple[str, ...] = ()) -> None:
        with self._lock:
            self.oauth.add_client(client_id, secret, redirect_uris)

    def issue_tokens(self, realm: str, client_id: str | None = None) -> dict[str, Any]:
        """The token endpoint's answer for a company, for tests that are not about the OAuth flow."""
        with self._lock:
            if client_id is None:
                client_id = DEFAULT_CLIENT[0]
                self.oauth.clients.setdefault(client_id, (DEFAULT_CLIENT[1], ()))
            return self.oauth.issue(self.companies[realm].realm, client_id, self._now().timestamp())

    def refresh_uses(self, refresh_token: str) -> int:
        """How often a refresh token was presented at the token endpoint (refused presentations included)."""
        with self._lock:
            return self.oauth.uses(refresh_token)

    def refresh_token_uses(self) -> dict[str, int]:
        """How often each refresh token ever issued was presented at the token endpoint (over 1 is a reuse)."""
        with self._lock:
            return {token: grant.uses for token, grant in self.oauth.refresh.items()}

    def disconnect(self, realm: str) -> None:
        """The user disconnects the app in QuickBooks: every token for the company stops working."""
        with self._lock:
            self.oauth.disconnect(realm)

    def set_rate_limit(self, per_second: int | None = 10, per_minute: int | None = 500, style: str = "429") -> None:
        """Per-company limits (None lifts one) and how a throttle answers: "429", "403" or "html"."""
        with self._lock:
            self.limits.configure(per_second, per_minute, style)

    # -- names and lists ----------------------------------------------------------------------------------------------
    def _add(self, realm: str, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            company = self.companies[realm]
            try:
                return copy.deepcopy(self.books.add_name(company, entity, body, self._now()))
            finally:
                self._flush(company)

    def add_customer(self, realm: str, name: str, email: str | None = None, **fields: Any) -> dict[str, Any]:
        body = {"DisplayName": name, **({"PrimaryEmailAddr": {"Address": email}} if email else {}), **fields}
        return self._add(realm, "Customer", body)

    def add_vendor(self, realm: str, name: str, **fields: Any) -> dict[str, Any]:
        return self._add(realm, "Vendor", {"DisplayName": name, **fields})

    def add_employee(self, realm: str, name: str, **fields: Any) -> dict[str, Any]:
        return self._add(realm, "Employee", {"DisplayName": name, **fields})

    def add_item(self, realm: str, name: str, kind: str = "Service", income_account: str = "1") -> dict[str, Any]:
        return self._add(realm, "Item", {"Name": name, "Type": kind, "IncomeAccountRef": {"value": income_account}})

    def add_term(self, realm: str, name: str, due_days: int) -> dict[str, Any]:
        return self._add(realm, "Term", {"Name": name, "DueDays": due_days, "Type": "STANDARD"})

    def tax_code_id(self, realm: str, name: str) -> str:
        """The id of a TaxCode by its name (e.g. "20.0% S"), as a connector finds it by query."""
        with self._lock:
            for row in self.companies[realm].table("TaxCode").values():
                if row["Name"] == name:
                    return str(row["Id"])
        raise KeyError(f"no tax code {name!r}")

    # -- reading back -------------------------------------------------------------------------------------------------
    def entities(self, realm: str, entity: str) -> list[dict[str, Any]]:
        """Copies of every live row of an entity, in id order (Decimal amounts)."""
        with self._lock:
            rows = self.companies[realm].table(entity)
            return [copy.deepcopy(rows[i]) for i in sorted(rows, key=lambda i: (len(i), i))]

    def invoices(self, realm: str) -> list[dict[str, Any]]:
        return self.entities(realm, "Invoice")

    def entity(self, realm: str, entity: str, ident: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.companies[realm].get(entity, ident))

    def duplicates(self, realm: str) -> list[str]:
        """DocNumbers of live invoices booked more than once: what exactly-once delivery must keep empty."""
        numbers = [str(row["DocNumber"]) for row in self.invoices(realm) if row.get("DocNumber")]
        return sorted({n for n in numbers if numbers.count(n) > 1})

    # -- acting as the bookkeeper ------------------------------------------------------------------------------------
    def record_payment(self, realm: str, invoice_id: str, amount: Decimal | str | int) -> dict[str, Any]:
        """The customer pays (part of) an invoice; lowers its Balance (0 means paid)."""
        with self._lock:
            company = self.companies[realm]
            invoice = company.get("Invoice", invoice_id)
            body = {
                "CustomerRef": invoice["CustomerRef"],
                "TotalAmt": Decimal(str(amount)),
                "Line": [{"Amount": Decimal(str(amount)), "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}],
            }
            try:
                return copy.deepcopy(self.books.create(company, "Payment", body, self._now()))
            finally:
                self._flush(company)

    def pay_bill(self, realm: str, bill_id: str, amount: Decimal | str | int) -> dict[str, Any]:
        """The company pays (part of) a supplier's bill from its first bank account: a BillPayment, which lowers
        the bill's Balance and is linked from it. Answers the bill."""
        with self._lock:
            company = self.companies[realm]
            bill = company.get("Bill", bill_id)
            bank = next(a for a in company.table("Account").values() if a.get("AccountType") == "Bank")
            paid = Decimal(str(amount))
            body = {"VendorRef": bill["VendorRef"], "PayType": "Check", "TotalAmt": paid,
                    "CheckPayment": {"BankAccountRef": {"value": bank["Id"]}},
                    "Line": [{"Amount": paid, "LinkedTxn": [{"TxnId": bill_id, "TxnType": "Bill"}]}]}  # fmt: skip
            try:
                self.books.create(company, "BillPayment", body, self._now())
                return copy.deepcopy(company.get("Bill", bill_id))
            finally:
                self._flush(company)

    def void(self, realm: str, entity: str, ident: str) -> dict[str, Any]:
        return self._operate(realm, entity, ident, "void")

    def delete(self, realm: str, entity: str, ident: str) -> dict[str, Any]:
        return self._operate(realm, entity, ident, "delete")

    def _operate(self, realm: str, entity: str, ident: str, operation: str) -> dict[str, Any]:
        with self._lock:
            company = self.companies[realm]
            body = {"Id": ident, "SyncToken": company.get(entity, ident)["SyncToken"]}
            try:
                return copy.deepcopy(getattr(self.books, operation)(company, entity, body, self._now()))
            finally:
                self._flush(company)

    # -- webhooks -----------------------------------------------------------------------------------------------------
    def set_webhook(self, url: str, verifier_token: str, format: str = "classic") -> None:
        """The app's webhook endpoint and verifier token, and the format: "classic" or "cloudevents"."""
        with self._lock:
            self.webhooks.configure(url, verifier_token, format)

    def pending_webhook(self) -> Delivery | None:
        """The signed POST the next delivery would send, without sending it."""
        with self._lock:
            return self.webhooks.build()

    def deliver_webhooks(self, post: Callable[[Delivery], Any] | None = None) -> Delivery | None:
        """POST all pending changes as one signed batch (with ``requests`` unless ``post`` is given)."""
        with self._lock:
            return self.webhooks.deliver(post)
