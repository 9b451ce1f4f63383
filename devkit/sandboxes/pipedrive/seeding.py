"""Seeding and inspection from Python: companies, users, credentials, contacts, products, deals, fields.

Every change made here fires the webhooks Pipedrive would send (``change_source`` "app", as if a
salesperson did it in the web app); changes over HTTP fire them with "api". Amounts go in as Decimal, int
or str (never float) and come back as Decimal.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from devkit.sandboxes.pipedrive import deals, fields
from devkit.sandboxes.pipedrive.core import Core
from devkit.sandboxes.pipedrive.oauth import Grant, OAuthClient
from devkit.sandboxes.pipedrive.products import ProductLine, check_line, deal_product, set_tax_method
from devkit.sandboxes.pipedrive.store import Company, User, money


class Seeding(Core):
    """Mixed into PipedriveSandbox: the methods tests use to set the scene and look at the result."""

    # -- accounts and credentials -----------------------------------------------------------------------------
    def add_company(
        self,
        name: str = "Koppel Demo B.V.",
        *,
        domain: str = "koppeldemo",
        plan: str = "growth",
        seats: int = 1,
        daily_budget: int | None = None,
        user_name: str = "Sanne de Vries",
        user_email: str = "sanne@koppeldemo.nl",
        company_id: int | None = None,
    ) -> Company:
        """A Pipedrive company (account) with its first user, an admin; the first company is the default."""
        with self.lock:
            ident = company_id or self.store.next_id("company")
            company = Company(ident, name, domain, plan, seats, daily_budget)
            self.store.companies[ident] = company
            now = self.clock()
            for field in fields.builtin_fields(self.store.next_id("field"), now):
                self.store.put("field", field, ident)
                self.store._ids["field"] = max(self.store._ids["field"], field["id"])
            self.add_user(company, user_name, user_email)
            return company

    def add_user(self, company: Company | int | None, name: str, email: str) -> User:
        with self.lock:
            target = self.company(company)
            user = User(self.store.next_id("user"), target.id, name, email)
            target.users[user.id] = user
            return user

    def add_api_token(self, user: User, token: str | None = None) -> str:
        """The user's personal API token (one per user per company; a new one replaces the old [V])."""
        token = token or secrets.token_hex(20)
        with self.lock:
            for old in [t for t, g in self.tokens.api_tokens.items() if g.user_id == user.id]:
                del self.tokens.api_tokens[old]
            self.tokens.api_tokens[token] = Grant(user.company_id, user.id)
        return token

    def add_oauth_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        scope: str | None = None,
        jwt_secret: str | None = None,
    ) -> OAuthClient:
        client = OAuthClient(client_id, client_secret, redirect_uri, jwt_secret=jwt_secret)
        if scope is not None:
            client.scope = scope
        self.tokens.clients[client_id] = client
        return client

    def consent_as(self, user: User) -> None:
        """The user who approves the next ``/oauth/authorize`` (default: the first user of the first company)."""
        self.consenting_user = user

    def refresh_token_uses(self) -> dict[str, int]:
        """How often each refresh token was presented to ``/oauth/token`` (a value over 1 is a reuse)."""
        with self.tokens.lock:
            return dict(self.tokens.uses)

    # -- contacts and products ----------------------------------------------------------------------------------
    def add_person(
        self,
        name: str,
        *,
        emails: list[dict[str, Any]] | None = None,
        phones: list[dict[str, Any]] | None = None,
        org_id: int | None = None,
        company: Company | int | None = None,
    ) -> dict[str, Any]:
        """``emails``/``phones`` items are ``{"value", "primary"?, "label"?}`` (label defaults to "work")."""
        with self.lock:
            target = self.company(company)
            record = self.store.new_person(
                target.id, self.owner(target), name, emails or [], phones or [], org_id, self.clock()
            )
            self.emit(target, "create", "person", record["id"], None)
            return dict(record)

    def add_organization(
        self,
        name: str,
        *,
        address: dict[str, Any] | None = None,
        company: Company | int | None = None,
    ) -> dict[str, Any]:
        """``address`` takes the v2 subfields (route, street_number, postal_code, locality, country, …)."""
        with self.lock:
            target = self.company(company)
            record = self.store.new_organization(target.id, self.owner(target), name, address, self.clock())
            self.emit(target, "create", "organization", record["id"], None)
            return dict(record)

    def add_product(
        self,
        name: str,
        price: Decimal | int | str,
        *,
        code: str | None = None,
        tax: Decimal | int | str = 21,
        currency: str = "EUR",
        company: Company | int | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            target = self.company(company)
            now = self.clock()
            record = self.store.new_product(
                target.id, self.owner(target), name, code, money(price), currency, money(tax), now
            )
            self.emit(target, "create", "product", record["id"], None)
            return dict(record)

    # -- deals --------------------------------------------------------------------------------------------------
    def add_deal(
        self,
        title: str,
        products: list[ProductLine] | None = None,
        *,
        person_id: int | None = None,
        org_id: int | None = None,
        currency: str = "EUR",
        value: Decimal | int | str | None = None,
        status: str = "open",
        custom_fields: dict[str, Any] | None = None,
        company: Company | int | None = None,
        deal_id: int | None = None,
    ) -> dict[str, Any]:
        """A deal with its products; ``value`` follows the products unless given. ``status`` "won"/"lost"
        is set after creation, so it fires ``change.deal`` like a salesperson closing the deal. ``deal_id`` gives
        it that id (a recorded event names it; later ids count on from the highest)."""
        for line in products or []:
            check_line(line)
        with self.lock:
            target = self.company(company)
            if deal_id is None:
                ident = self.store.next_id("deal")
            else:
                if deal_id in self.store.deals:
                    raise ValueError(f"deal {deal_id} exists")
                ident = deal_id
                self.store._ids["deal"] = max(self.store._ids["deal"], deal_id)
            record = deals.new_deal(
                ident,
                title=title,
                owner_id=self.owner(target),
                person_id=person_id,
                org_id=org_id,
                currency=currency,
                value=Decimal(0),
                now=self.clock(),
                custom_fields=custom_fields,
            )
            self.store.put("deal", record, target.id)
            for line in products or []:
                self._attach(target, record, line)
            record["value"] = money(value) if value is not None else self.store.deal_value(ident)
            self.emit(target, "create", "deal", ident, None)
        if status != "open":
            self.set_deal_status(ident, status)
        return self.get_deal(ident)

    def add_deal_product(self, deal_id: int, line: ProductLine) -> dict[str, Any]:
        """Attach a product to an existing deal (fires ``create.deal_product`` and the deal's value change)."""
        check_line(line)
        with self.lock:
            target, deal = self.find_deal(deal_id)
            attached = self._attach(target, deal, line)
            self.change_deal(deal_id, {"value": self.store.deal_value(deal_id)}, company=target.id, source="app")
            return dict(attached)

    def _attach(self, target: Company, deal: dict[str, Any], line: ProductLine) -> dict[str, Any]:
        product_id = line.product_id or next(
            (
                p["id"]
                for p in self.store.products.values()
                if p["name"] == line.name and self.store.owner[("product", p["id"])] == target.id
            ),
            None,
        )
        if product_id is None:
            made = self.store.new_product(
                target.id,
                deal["owner_id"],
                line.name,
                None,
                money(line.item_price),
                deal["currency"],
                money(line.tax),
                self.clock(),
            )
            product_id = made["id"]
        order_nr = len(self.store.products_of(deal["id"])) + 1
        made_line = deal_product(self.store.next_id("deal_product"), deal, line, product_id, order_nr, self.clock())
        for other in self.store.products_of(deal["id"]):
            if other["tax_method"] != line.tax_method:
                set_tax_method(other, line.tax_method)
        attached = self.store.put("deal_product", made_line, target.id)
        self.emit(target, "create", "deal_product", attached["id"], None)
        return attached

    def update_deal(self, deal_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Change a deal as a salesperson would in the web app (same rules as PATCH)."""
        target, _ = self.find_deal(deal_id)
        return self.change_deal(deal_id, changes, company=target.id, source="app")

    def set_deal_status(self, deal_id: int, status: str, lost_reason: str | None = None) -> dict[str, Any]:
        changes: dict[str, Any] = {"status": status}
        if lost_reason is not None:
            changes["lost_reason"] = lost_reason
        return self.update_deal(deal_id, changes)

    def get_deal(self, deal_id: int) -> dict[str, Any]:
        with self.lock:
            return deals.render(self.find_deal(deal_id)[1])

    def get_deal_products(self, deal_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(p) for p in self.store.products_of(deal_id)]

    def custom_field_values(self, deal_id: int) -> dict[str, Any]:
        """The deal's ``custom_fields`` (key → value), e.g. to read the invoice status the connector wrote."""
        return dict(self.get_deal(deal_id)["custom_fields"])

    def preview_deal(self, deal_id: int) -> dict[str, Any]:
        """The deal as GET returns its data, plus ``products``, ``person`` and ``organization`` (or None)."""
        with self.lock:
            target, deal = self.find_deal(deal_id)
            person = self.store.find("person", deal["person_id"] or 0, target.id)
            org = self.store.find("organization", deal["org_id"] or 0, target.id)
            products = [dict(p) for p in self.store.products_of(deal_id)]
            return {**deals.render(deal), "products": products, "person": person, "organization": org}

    def update_person(self, person_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Change a person (e.g. ``{"emails": [...]}``); fires ``change.person`` with ``previous``."""
        return self.change_record("person", person_id, changes)

    def update_organization(self, org_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Change an organization (e.g. ``{"address": {...}}``); fires ``change.organization``."""
        return self.change_record("organization", org_id, changes)

    def update_deal_product(self, deal_product_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Change a deal's line (quantity, item_price, discount, …); its sum and the deal's value follow."""
        return self.change_record("deal_product", deal_product_id, changes)

    # -- fields -------------------------------------------------------------------------------------------------
    def add_deal_field(self, name: str, field_type: str = "varchar", *, company: Company | int | None = None) -> str:
        """A custom deal field as an admin would make it; returns its 40-character key."""
        target = self.company(company)
        user = next(iter(target.users.values()))
        return str(self.add_deal_field_from({"name": name, "field_type": field_type}, Grant(target.id, user.id))["key"])
