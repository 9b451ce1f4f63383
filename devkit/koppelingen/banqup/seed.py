"""An accounting firm connects its clients' Banqup spaces as it does for real: Koppel's app in Banqup's Developer
Portal gives the firm a client id and secret, each client's legal representative whitelists that app for its space,
and `koppel connections add` joins one space to one accounting package with that package's credentials. One
Connection is one client space and one target; its tenant is the firm.

How each target's credentials come about, as in that target's own pairs: SnelStart by its activation (the
koppelsleutel arrives at Koppel's callback), e-Boekhouden by an API token, QuickBooks Online by the owner's OAuth
consent, Billy by an access token. `make demo`, the chaos runs and `make invoke` (the connection ``demo-inbox`` the
recorded events name) all connect this way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import requests

from devkit.koppelingen import cli, cli_output

if TYPE_CHECKING:
    from devkit.local import LocalStack
    from devkit.sandboxes.banqup.sandbox import BanqupSandbox
    from devkit.sandboxes.banqup.store import Firm
    from devkit.sandboxes.billy.sandbox import BillySandbox
    from devkit.sandboxes.eboekhouden.sandbox import EboekhoudenSandbox
    from devkit.sandboxes.quickbooks.sandbox import QuickbooksSandbox
    from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox

FIRM = "Boekhoudkantoor De Telling"
CLIENT_ID, CLIENT_SECRET = "de-telling-koppel-app", "de-telling-app-secret-0000000000000001"
"""Koppel's app as the firm registered it in Banqup's Developer Portal."""
SNELSTART_APP, SNELSTART_KEY = "koppel", "koppel-partner-subscription-key"
"""Koppel's app at SnelStart and its partner subscription key: one per stack, as the CCV Shop part has it."""
TIMEOUT = 10


@dataclass(frozen=True)
class ClientSpace:
    """One client of the firm in Banqup: its space, whitelisted for the firm's app."""

    firm: str
    """The firm's client id."""
    secret: str
    space_id: str
    client: str

    def options(self, host: str) -> tuple[str, ...]:
        """The Banqup half of `koppel connections add`."""
        return (
            "--setting", f"banqup.space_id={self.space_id}", "--setting", f"banqup.host={host}",
            "--setting", f"banqup.client_name={self.client}",
            "--secret", f"banqup.client_id={self.firm}", "--secret", f"banqup.client_secret={self.secret}",
        )  # fmt: skip


def firm_app(banqup: BanqupSandbox, name: str = FIRM, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> Firm:
    """The firm's app in Banqup (kept over a sandbox reset, like the firm's account)."""
    return banqup.firm_by_client(client_id) or banqup.add_firm(name, client_id, secret)


def client_space(banqup: BanqupSandbox, firm: Firm, client: str) -> ClientSpace:
    """A client's space: invisible to the firm's app until the client's legal representative whitelists it."""
    space = banqup.add_space(firm, client, whitelisted=False)
    banqup.whitelist(space.id, True)
    return ClientSpace(firm.client_id, firm.client_secret, space.id, client)


def add_connection(
    banqup: BanqupSandbox,
    space: ClientSpace,
    connection: str,
    target: str,
    target_options: tuple[str, ...],
    *,
    tenant: str = FIRM,
    poll_minutes: int = 5,
) -> None:
    """`koppel connections add` for (space, target): polled every ``poll_minutes`` instead of Banqup's 15."""
    cli(
        "connections", "add", connection, "--tenant", tenant, "--client", client_key(space.client),
        "--name", f"{space.client} → {target}",
        "--source", "banqup", "--target", target, "--poll-minutes", str(poll_minutes),
        *space.options(banqup.base_url), *target_options,
    )  # fmt: skip


def client_key(client: str) -> str:
    """The firm's client as the console names it: "Bakkerij Jansen BV" → "bakkerij-jansen-bv"."""
    return "-".join(client.lower().split())


def _put_partner_secret(stack: LocalStack, vendor: str, value: dict[str, str]) -> None:
    """The operator's step: Koppel's app at the vendor, here pointing at this part's sandbox. The functions cache a
    partner secret for five minutes; an earlier part of `make demo` may have read another sandbox's, and the demo's
    minutes pass in seconds, so the new one is read at once."""
    from aws_lambda_powertools.utilities import parameters

    prefix = stack._outputs().partner_secret_prefix
    stack.client("secretsmanager").put_secret_value(SecretId=f"{prefix}{vendor}", SecretString=json.dumps(value))
    parameters.clear_caches()  # type: ignore[no-untyped-call]


# -- each target's credentials, as its owner gives them ------------------------------------------------------------
def connect_snelstart(
    stack: LocalStack,
    banqup: BanqupSandbox,
    snelstart: SnelstartSandbox,
    space: ClientSpace,
    connection: str,
    *,
    subscription_key: str = SNELSTART_KEY,
) -> None:
    """Koppel's partner key in the stack, the connection, then the client activates Koppel in SnelStart: the start
    link sends them to SnelStart, whose activation posts the new administratie's koppelsleutel to Koppel."""
    _put_partner_secret(stack, "snelstart", {"subscription_key": subscription_key, "app_short_name": SNELSTART_APP})
    snelstart.register_app(SNELSTART_APP, f"{stack.http_url}/connect/snelstart/callback")
    s = snelstart.base_url
    add_connection(banqup, space, connection, "snelstart", (
        "--setting", f"snelstart.api_base={s}/v2", "--setting", f"snelstart.auth_url={s}/b2b/token",
        "--setting", f"snelstart.activation_base={s}",
    ))  # fmt: skip
    link = cli_output("connections", "activate", connection, "snelstart", "--return-url", "https://koppel.example/ok")
    start = requests.get(link, allow_redirects=False, timeout=TIMEOUT)
    activated = requests.get(start.headers.get("Location", ""), allow_redirects=False, timeout=TIMEOUT)
    if start.status_code != 302 or activated.status_code != 302:
        raise RuntimeError(f"SnelStart activation of {connection} failed: {activated.status_code} {activated.text}")


def connect_eboekhouden(
    banqup: BanqupSandbox, eboekhouden: EboekhoudenSandbox, space: ClientSpace, connection: str
) -> str:
    """An API token of the client's e-Boekhouden administration (Beheer > Instellingen > API); returns it."""
    token = eboekhouden.add_administration(space.client)
    add_connection(banqup, space, connection, "eboekhouden", (
        "--setting", f"eboekhouden.api_base={eboekhouden.base_url}", "--secret", f"eboekhouden.api_token={token}",
    ))  # fmt: skip
    return token


def connect_quickbooks(
    stack: LocalStack, banqup: BanqupSandbox, quickbooks: QuickbooksSandbox, space: ClientSpace, connection: str
) -> str:
    """The client's QuickBooks company with Dutch VAT codes, Koppel's Intuit app in the partner secret, the
    connection, then the owner's consent through the start link; returns the company's realm id."""
    from devkit.koppelingen.pipedrive_quickbooks.seed import QUICKBOOKS_APP, VERIFIER_TOKEN, consent
    from devkit.sandboxes.quickbooks.seed import DUTCH_VAT_CODES

    quickbooks.set_rate_limit(None, 500)  # loopback answers in a millisecond; Intuit's own latency spreads calls
    realm = quickbooks.add_company(space.client, currency="EUR", country="NL", vat_codes=DUTCH_VAT_CODES)
    quickbooks.add_client(*QUICKBOOKS_APP, (f"{stack.http_url}/connect/quickbooks/callback",))
    q = quickbooks.base_url
    partner = {
        "client_id": QUICKBOOKS_APP[0], "client_secret": QUICKBOOKS_APP[1], "authorize_url": f"{q}/connect/oauth2",
        "token_url": f"{q}/oauth2/v1/tokens/bearer", "webhook_verifier_token": VERIFIER_TOKEN,
    }  # fmt: skip
    _put_partner_secret(stack, "quickbooks", partner)
    add_connection(banqup, space, connection, "quickbooks", (
        "--setting", f"quickbooks.base_url={q}", "--setting", f"quickbooks.token_url={q}/oauth2/v1/tokens/bearer",
        "--setting", f"quickbooks.authorize_url={q}/connect/oauth2", "--setting", f"quickbooks.app_url={q}",
    ))  # fmt: skip
    consent(stack, connection, "quickbooks")
    return realm


def connect_billy(
    banqup: BanqupSandbox, billy: BillySandbox, space: ClientSpace, connection: str, *, token: str, tenant: str = FIRM
) -> None:
    """An access token of the client's Billy organization (Settings > Access tokens)."""
    billy.add_organization(space.client, token=token)
    add_connection(banqup, space, connection, "billy", (
        "--setting", f"billy.base_url={billy.base_url}/v2", "--secret", f"billy.access_token={token}",
    ), tenant=tenant)  # fmt: skip


# -- the world of the recorded events --------------------------------------------------------------------------------
CONNECTION = "demo-inbox"
BILLY_TOKEN = "demo-inbox-billy-access-token-000000001"
PAID_FILE = "6f1c2a4e-0b7d-4c55-9a1e-3d2f8b7c9e01"
"""The Banqup file events/deliver__banqup_payment_status.json marks paid: a purchase invoice of 4,747.50 DKK."""


def seed_demo_inbox(banqup: BanqupSandbox, billy: BillySandbox) -> str:
    """``demo-inbox`` for the recorded events: the firm's client Nordisk Design in Banqup, connected to Billy, with
    the purchase invoice the write-back event names (file PAID_FILE); returns the client's space id."""
    from devkit.koppelingen.banqup.scenarios import EVENT_DAY, add_document, danish_documents

    space = client_space(banqup, firm_app(banqup), "Nordisk Design ApS")
    connect_billy(banqup, billy, space, CONNECTION, token=BILLY_TOKEN, tenant="tenant-demo")
    add_document(banqup, space.space_id, danish_documents(EVENT_DAY)[0], file_id=PAID_FILE)
    return space.space_id
