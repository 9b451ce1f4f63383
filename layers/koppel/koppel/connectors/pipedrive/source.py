"""Pipedrive as a source: a deal becomes an invoice when a salesperson presses "Create invoice" (an app extension,
read with ``hydrate`` and the ``button`` topic), or, when the connection says so, when the deal is won (webhook and
poll). README.md in this folder has the API facts; HTTP is in ``client``, the translation in ``mapping``.

Every path gives the deal's one event id (``pipedrive:deal:<id>:invoice``), so the ledger books it once. The poll is
the safety net behind the won webhook (Pipedrive bans a webhook that fails too often, and drops what it would have
sent meanwhile): it lists won deals by ``updated_since`` and reads a deal's products and contacts only when the
ledger does not hold its invoice yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from koppel.connectors.kit import load_settings
from koppel.connectors.kit.dates import amsterdam_date
from koppel.connectors.kit.oauth import OAuthTokens
from koppel.connectors.pipedrive import webhooks
from koppel.connectors.pipedrive.client import PipedriveClient
from koppel.connectors.pipedrive.fields import VENDOR, moment, record_id
from koppel.connectors.pipedrive.mapping import SOURCE, deal_event, deal_event_id, read_preview_file
from koppel.connectors.pipedrive.oauth import renewer
from koppel.connectors.pipedrive.settings import PipedriveSettings, base_url_ok
from koppel.connectors.pipedrive.webhooks import BUTTON, IGNORED, WON
from koppel.connectors.pipedrive.writeback import PipedriveWriteBack
from koppel.errors import AuthError, InputError, PermanentError
from koppel.inbound import ascii_digits
from koppel.ports import PolledRecord, WebhookNotice

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from koppel.connectors.contract import ConnectorContext
    from koppel.model import Connection, HubEvent

POLL_INTERVAL_MINUTES = 5
"""The won webhook is the fast path; the poll only recovers what a banned or failed webhook missed."""
WON_SLACK = timedelta(minutes=10)
"""A deal won this long before the connection was made is still invoiced by the poll (the poll's overlap)."""


class PipedriveSource:
    name: ClassVar[str] = SOURCE

    def __init__(
        self,
        settings: PipedriveSettings,
        connection: Connection,
        client: PipedriveClient,
        *,
        webhook_user: str = "",
        webhook_password: str = "",
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.client = client
        self._connection = connection
        self._webhook = (webhook_user, webhook_password)
        self._clock = clock
        self._listed: dict[str, Mapping[str, Any]] = {}

    # -- webhooks -----------------------------------------------------------------------------------------------
    def verify_webhook(self, headers: Mapping[str, str], body: bytes, url: str) -> None:
        webhooks.verify_basic(headers, user=self._webhook[0], password=self._webhook[1])

    def parse_webhook(self, body: bytes) -> WebhookNotice:
        return webhooks.parse_deal_webhook(body, won_creates_invoice=self.settings.won_deals_create_invoices)

    def subscribe_webhooks(self, address: str) -> dict[str, str]:
        """``change.deal`` to ``address`` with Basic credentials: they become the webhook_user/password secrets."""
        return webhooks.subscribe(self.client, address)

    # -- reads --------------------------------------------------------------------------------------------------
    def hydrate(self, notice: WebhookNotice) -> list[HubEvent]:
        """The deal's invoice event: ``button`` (a salesperson's click: any open or won deal, dated today) or
        ``won`` (webhook, poll: only while the deal is won, dated the day it was won); [] for anything else."""
        if notice.topic == IGNORED:
            return []
        if notice.entity != "deal":
            raise InputError(f"the Pipedrive connector reads deals, not {notice.entity!r}")
        if notice.topic not in (WON, BUTTON):
            raise InputError(f"a Pipedrive notice is about a won deal or the invoice button, not {notice.topic!r}")
        deal_id = ascii_digits(notice.record_id, "a Pipedrive deal id")
        deal = self._listed.pop(deal_id, None) or self._deal(deal_id)
        status = deal.get("status")
        if notice.topic == WON:
            if status != WON:
                return []
            won_at = moment(deal.get("won_time"), f"deal {deal_id}'s won_time")
            return [self._event(deal, deal_id, issue_date=amsterdam_date(won_at), occurred_at=won_at)]
        if status not in ("open", WON):
            raise PermanentError(
                f"deal {deal_id} is {status}: only an open or won deal is invoiced; reopen it in Pipedrive first"
            )
        now = self._clock()
        return [self._event(deal, deal_id, issue_date=amsterdam_date(now), occurred_at=now)]

    def poll(self, since: datetime, until: datetime) -> Iterator[PolledRecord]:
        """Won deals changed in [since, until), oldest first; nothing while won deals do not make invoices."""
        if since.tzinfo is None or until.tzinfo is None:
            raise InputError("a Pipedrive poll window needs time-zone aware timestamps")
        self.client.keep_alive()  # the OAuth grant stays alive while the button is the only path
        if not self.settings.won_deals_create_invoices:
            return
        query = {
            "status": WON,
            "updated_since": _rfc3339(since.replace(microsecond=0)),
            "updated_until": _rfc3339(until.replace(microsecond=0) + timedelta(seconds=1)),
            "sort_by": "update_time",
            "sort_direction": "asc",
        }
        threshold = min(since, self._connection.created_at - WON_SLACK)
        listed = []
        for deal in self.client.pages_v2("/api/v2/deals", query, self.settings.page_size):
            ident = record_id(deal.get("id"))
            if ident is None or deal.get("status") != WON:
                continue
            changed = moment(deal.get("update_time"), f"deal {ident}'s update_time")
            listed.append((changed, ident, deal))
        listed.sort(key=lambda item: (item[0], item[1]))
        for changed, ident, deal in listed:
            yield self._polled(deal, str(ident), changed, threshold)

    def _polled(self, deal: Mapping[str, Any], ident: str, changed: datetime, threshold: datetime) -> PolledRecord:
        won_at = moment(deal.get("won_time"), f"deal {ident}'s won_time") if deal.get("won_time") else changed
        if won_at < threshold:
            reason = (
                f"won on {won_at:%Y-%m-%d}, before this connection invoiced won deals: use the Create invoice "
                "button, or a backfill from that date"
            )
            return PolledRecord(record_id=ident, changed_at=changed, skipped_reason=reason)
        self._listed[ident] = deal  # its products and contacts are read only if the poll asks (hydrate)
        return PolledRecord(
            record_id=ident,
            changed_at=changed,
            event_ids=(deal_event_id(ident),),
            notice=WebhookNotice(entity="deal", record_id=ident, topic=WON),
        )

    def _deal(self, deal_id: str) -> Mapping[str, Any]:
        deal = self._get(f"/api/v2/deals/{deal_id}", f"deal {deal_id}")
        if not isinstance(deal, Mapping):
            raise PermanentError(f"{VENDOR} answered GET deal {deal_id} with something that is not a deal")
        return deal

    def _event(self, deal: Mapping[str, Any], deal_id: str, *, issue_date: Any, occurred_at: datetime) -> HubEvent:
        products = list(self.client.pages_v2(f"/api/v2/deals/{deal_id}/products", {}, self.settings.page_size))
        person_id, org_id = record_id(deal.get("person_id")), record_id(deal.get("org_id"))
        person = self._get(f"/api/v2/persons/{person_id}", f"person {person_id}") if person_id else None
        organization = self._get(f"/api/v2/organizations/{org_id}", f"organization {org_id}") if org_id else None
        return deal_event(
            deal, products, _record(person), _record(organization), self._connection, self.settings,
            issue_date=issue_date, occurred_at=occurred_at,
        )  # fmt: skip

    def _get(self, path: str, what: str) -> Any:
        try:
            return self.client.data(path)
        except PermanentError as error:
            if error.status == 404:
                raise PermanentError(
                    f"{VENDOR} has no {what} (deleted, merged, or not visible to the connected user)",
                    status=404, vendor_message=error.vendor_message,
                ) from error  # fmt: skip
            raise


def build_source(ctx: ConnectorContext) -> PipedriveSource:
    settings = load_settings(PipedriveSettings, ctx.settings, VENDOR)
    return PipedriveSource(
        settings,
        ctx.connection,
        client_for(ctx, settings),
        webhook_user=ctx.secrets.get("webhook_user", "").strip(),
        webhook_password=ctx.secrets.get("webhook_password", "").strip(),
        clock=ctx.clock,
    )


def build_target(ctx: ConnectorContext) -> PipedriveWriteBack:
    """Pipedrive as the target of the invoice status carried back (its write-back queue)."""
    settings = load_settings(PipedriveSettings, ctx.settings, VENDOR)
    return PipedriveWriteBack(client_for(ctx, settings), settings, ctx.connection.connection_id)


def client_for(ctx: ConnectorContext, settings: PipedriveSettings) -> PipedriveClient:
    """A personal API token (secret ``api_token``) calls ``api_url``; an OAuth grant calls its ``api_domain``."""
    api_token = ctx.secrets.get("api_token", "").strip()
    if api_token:
        return PipedriveClient(settings.api_url, ctx.session, ctx.clock, api_token=api_token)
    api_domain = ctx.secrets.get("api_domain", "").strip().rstrip("/")
    if not api_domain:
        raise AuthError(
            f"{VENDOR} is not connected for connection {ctx.connection.connection_id}: connect it with the owner's "
            "consent (OAuth), or store a personal API token as the secret api_token, and reconnect"
        )
    if not base_url_ok(api_domain):
        raise AuthError(f"the stored {VENDOR} api_domain {api_domain[:80]!r} is not an https address: reconnect")
    tokens = OAuthTokens(ctx, SOURCE, renewer(ctx.session, settings, ctx.partner_secret), vendor=VENDOR)
    return PipedriveClient(api_domain, ctx.session, ctx.clock, tokens=tokens)


def preview_events(record: Mapping[str, Any], connection: Connection, *, now: datetime | None = None) -> list[HubEvent]:
    """``koppel preview``: one file (see mapping.PREVIEW_SHAPE) as the event the button would make at ``now``
    (a won deal: dated the day it was won); settings are the defaults."""
    deal, products, person, organization = read_preview_file(record)
    moment_of = now or datetime.now(UTC)
    if deal.get("status") == WON and deal.get("won_time"):
        moment_of = moment(deal.get("won_time"), "the deal's won_time")
    elif deal.get("status") not in ("open", WON):
        return []
    return [
        deal_event(
            deal,
            products,
            person,
            organization,
            connection,
            PipedriveSettings(),
            issue_date=amsterdam_date(moment_of),
            occurred_at=moment_of,
        )
    ]


def _record(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
