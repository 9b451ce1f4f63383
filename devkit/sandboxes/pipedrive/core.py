"""What seeding and the HTTP routes share: the sandbox's state, its lookups and the firing of webhooks.

``Core`` declares the state PipedriveSandbox sets up and holds the helpers every part uses: finding the
company, a deal, the custom fields, applying a deal change (which fires ``change.deal``), queueing the
webhooks of a change and delivering them.
"""

from __future__ import annotations

import copy
import threading
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.pipedrive import deals, fields
from devkit.sandboxes.pipedrive.delivery import Delivery, ban_on_failure, banned, post_with_requests
from devkit.sandboxes.pipedrive.oauth import Grant
from devkit.sandboxes.pipedrive.products import check_line_values, set_tax_method
from devkit.sandboxes.pipedrive.store import Company, User, contacts, money
from devkit.sandboxes.pipedrive.webhooks import matches, payload
from devkit.sandboxes.pipedrive.wire import not_found

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from devkit.sandboxes.pipedrive.budget import Budget
    from devkit.sandboxes.pipedrive.delivery import Outbox
    from devkit.sandboxes.pipedrive.oauth import TokenBook
    from devkit.sandboxes.pipedrive.store import Store

MONEY_KEYS = ("item_price", "quantity", "discount", "tax")
READ_ONLY = {"id", "deal_id", "add_time", "update_time", "sum", "is_deleted"}


class Core:
    """State and lookups; PipedriveSandbox fills the attributes in its constructor."""

    base_url: str
    store: Store
    tokens: TokenBook
    budget: Budget
    outbox: Outbox
    webhooks: dict[int, dict[str, Any]]
    auto_deliver: bool
    clock: Callable[[], datetime]
    lock: threading.RLock
    consenting_user: User | None

    def emit(
        self,
        company: Company,
        action: str,
        entity: str,
        entity_id: int,
        previous: dict[str, Any] | None,
        *,
        user_id: int | None = None,
        source: str = "app",
    ) -> None:
        record = self.store.find(entity, entity_id, company.id)
        data: dict[str, Any] | None
        if entity == "deal" and record is not None:
            data = deals.webhook_data(record, self.field_types(company.id), created=action == "create")
        else:
            data = None if record is None else copy.deepcopy(record)
        now, who = self.clock(), user_id or self.owner(company)
        lost: list[str] = []
        fresh = [
            Delivery(
                url=hook["subscription_url"],
                auth=(hook["http_auth_user"], hook["http_auth_password"] or "") if hook["http_auth_user"] else None,
                payload=payload(
                    hook,
                    action=action,
                    entity=entity,
                    entity_id=entity_id,
                    data=data,
                    previous=previous,
                    user_id=who,
                    host=company.host,
                    change_source=source,
                    now=now,
                ),
                webhook_id=hook["id"],
                event=f"{action}.{entity}",
            )
            for hook in self.webhooks.values()
            if hook["company_id"] == company.id and matches(hook, action, entity) and not banned(hook, now, lost)
        ]
        self.outbox.add(fresh)
        self.outbox.lost.extend(f"{action}.{entity} {entity_id} for webhook {hook_id}" for hook_id in lost)
        if self.auto_deliver and fresh:
            threading.Thread(target=self.deliver_webhooks, daemon=True).start()

    def company(self, ref: Company | int | None = None) -> Company:
        if isinstance(ref, Company):
            return ref
        if ref is not None:
            return self.store.companies[ref]
        if not self.store.companies:
            raise ValueError("add a company first (add_company)")
        return next(iter(self.store.companies.values()))

    def owner(self, company: Company) -> int:
        return next(iter(company.users))

    def consenting_grant_user(self) -> User:
        if self.consenting_user is not None:
            return self.consenting_user
        return next(iter(self.company().users.values()))

    def consenting_grant(self) -> Grant:
        user = self.consenting_grant_user()
        return Grant(user.company_id, user.id)

    def api_domain(self, company_id: int) -> str:
        return self.base_url or f"https://{self.store.companies[company_id].host}"

    def find_deal(self, deal_id: int) -> tuple[Company, dict[str, Any]]:
        company_id = self.store.owner.get(("deal", deal_id))
        if company_id is None:
            raise KeyError(f"no deal {deal_id}")
        return self.store.companies[company_id], self.store.deals[deal_id]

    def field_types(self, company_id: int) -> dict[str, str]:
        return {f["key"]: f["field_type"] for f in self.deal_fields(company_id) if f["edit_flag"]}

    def deal_fields(self, company_id: int) -> list[dict[str, Any]]:
        with self.lock:
            owned = [
                f for f in self.store.deal_fields.values() if self.store.owner.get(("field", f["id"])) == company_id
            ]
            return sorted(owned, key=lambda f: f["order_nr"])

    def add_deal_field_from(self, body: dict[str, Any], grant: Grant) -> dict[str, Any]:
        with self.lock:
            ident = self.store.next_id("field")
            order = len(self.deal_fields(grant.company_id)) + 1
            field = fields.custom_field(ident, grant.company_id, order, grant.user_id, body, self.clock())
            return dict(self.store.put("field", field, grant.company_id))

    def change_deal(
        self, deal_id: int, changes: dict[str, Any], *, company: int, source: str, user_id: int | None = None
    ) -> dict[str, Any]:
        """Apply a change (PATCH rules), fire ``change.deal`` with ``previous``; returns the deal as GET shows it."""
        with self.lock:
            deal = self.store.find("deal", deal_id, company)
            if deal is None or deal["is_deleted"]:
                raise not_found("Deal")
            target = self.store.companies[company]
            previous = deals.apply_changes(deal, changes, self.field_types(company), self.clock())
            if previous:
                if "custom_fields" in previous:
                    previous["custom_fields"] = deals.typed_fields(previous["custom_fields"], self.field_types(company))
                self.emit(target, "change", "deal", deal_id, previous, user_id=user_id, source=source)
            return deals.render(deal)

    def deliver_webhooks(
        self, post: Callable[[Delivery], int] | None = None, *, due_only: bool = True
    ) -> list[tuple[Delivery, int]]:
        """POST the due deliveries (``requests`` unless ``post`` is given; it returns the HTTP status)."""
        now = self.clock()
        results = self.outbox.deliver(post or post_with_requests, now, due_only=due_only)
        with self.lock:
            for delivery, status in results:
                hook = self.webhooks.get(delivery.webhook_id)
                if hook is None:
                    continue
                hook["last_delivery_time"], hook["last_http_status"] = now.strftime("%Y-%m-%d %H:%M:%S"), status
                if delivery.attempt == 1 and not 200 <= status < 300:
                    ban_on_failure(hook, now)
        return results

    def change_record(self, entity: str, ident: int, changes: dict[str, Any], *, source: str = "app") -> dict[str, Any]:
        """Change a person, organization or deal product; fires ``change.<entity>`` with ``previous``."""
        with self.lock:
            company_id = self.store.owner.get((entity, ident))
            if company_id is None:
                raise KeyError(f"no {entity} {ident}")
            record = self.store.table(entity)[ident]
            unknown = sorted(set(changes) - (set(record) - READ_ONLY))
            if unknown:
                raise ValueError(f"cannot change {', '.join(unknown)} of a {entity}")
            changes = {k: contacts(v) if k in ("emails", "phones") else v for k, v in changes.items()}
            changes = {k: money(v) if k in MONEY_KEYS else v for k, v in changes.items()}
            if entity == "deal_product":
                check_line_values({**record, **changes})
            previous = {k: copy.deepcopy(record[k]) for k, v in changes.items() if record[k] != v}
            if not previous:
                return dict(record)
            record.update(changes)
            record["update_time"] = self.clock()
            if entity == "deal_product":
                for line in self.store.products_of(record["deal_id"]):
                    set_tax_method(line, record["tax_method"])  # one tax method per deal [V]
            company = self.store.companies[company_id]
            self.emit(company, "change", entity, ident, previous, source=source)
            if entity == "deal_product":
                value = self.store.deal_value(record["deal_id"])
                self.change_deal(record["deal_id"], {"value": value}, company=company_id, source=source)
            return dict(record)
