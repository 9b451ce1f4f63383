"""Pipedrive → QuickBooks Online connected as an owner connects it: Koppel's app credentials in the partner
secrets (pointing at the sandboxes), `koppel connections add`, then both OAuth consents through the local HTTP API
(start link → the sandbox's consent page → ``GET /connect/<system>/callback``). The demo, the chaos run and
`make invoke` (the connection ``demo-deals`` the recorded events name) all connect this way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from devkit.koppelingen import cli, cli_output
from devkit.koppelingen.pipedrive_quickbooks.scenarios import REALM, dutch_b2b_deal
from devkit.sandboxes.quickbooks.seed import DUTCH_VAT_CODES

if TYPE_CHECKING:
    from devkit.local import LocalStack
    from devkit.sandboxes.pipedrive.sandbox import PipedriveSandbox, User
    from devkit.sandboxes.quickbooks.sandbox import QuickbooksSandbox

CONNECTION = "demo-deals"
QUICKBOOKS_APP = ("koppel-quickbooks-app", "koppel-quickbooks-client-secret")
PIPEDRIVE_APP = ("koppel-pipedrive-app", "koppel-pipedrive-client-secret")
JWT_SECRET = "koppel-pipedrive-extension-jwt-secret"
VERIFIER_TOKEN = "koppel-intuit-webhook-verifier-token"
"""Intuit signs its webhooks (``intuit-signature``) with the app's verifier token from the developer portal."""
"""Signs the app-extension requests (Pipedrive's Developer Hub gives it to the app); the recorded apps events too."""
COMPANY_ID, USER_ID = 13472, 26510409
"""The Pipedrive company and user the recorded apps events' tokens name."""
BOOKED_DEAL, NEW_DEAL = 801, 802
"""The deal booked when `make invoke` seeds (its panel, action and write-back events) and the one the button and
deliver events name."""
TIMEOUT = 10


@dataclass(frozen=True)
class Consent:
    """What one OAuth consent did, as the owner's browser saw it."""

    system: str
    start: str
    """Where the start link sent the browser: the vendor's consent page."""
    back: str
    """Where the consent page sent it back: Koppel's callback with a code."""
    done: int
    """The callback's status (302 to the done page)."""


def partner_secrets(stack: LocalStack, pipedrive: PipedriveSandbox, quickbooks: QuickbooksSandbox) -> None:
    """The operator's step: Koppel's app credentials at Intuit and Pipedrive, pointing at the sandboxes, in the
    partner secrets; and the apps registered at the vendors with the local API's callback."""
    prefix = stack._outputs().partner_secret_prefix
    callback = f"{stack.http_url}/connect/{{}}/callback"
    quickbooks.add_client(*QUICKBOOKS_APP, (callback.format("quickbooks"),))
    pipedrive.add_oauth_client(*PIPEDRIVE_APP, callback.format("pipedrive"), jwt_secret=JWT_SECRET)
    values: dict[str, dict[str, str]] = {
        "quickbooks": {
            "client_id": QUICKBOOKS_APP[0],
            "client_secret": QUICKBOOKS_APP[1],
            "authorize_url": f"{quickbooks.base_url}/connect/oauth2",
            "token_url": f"{quickbooks.base_url}/oauth2/v1/tokens/bearer",
            "webhook_verifier_token": VERIFIER_TOKEN,
        },
        "pipedrive": {
            "client_id": PIPEDRIVE_APP[0],
            "client_secret": PIPEDRIVE_APP[1],
            "jwt_secret": JWT_SECRET,
            "oauth_url": pipedrive.base_url,
        },
    }
    quickbooks.set_webhook(f"{stack.http_url}/notices/quickbooks", VERIFIER_TOKEN)  # the app's, for every realm
    secrets = stack.client("secretsmanager")
    for vendor, value in values.items():
        secrets.put_secret_value(SecretId=f"{prefix}{vendor}", SecretString=json.dumps(value))


def add_connection(
    connection: str, pipedrive: PipedriveSandbox, quickbooks: QuickbooksSandbox, *, tenant: str, name: str
) -> None:
    """`koppel connections add`: no credentials yet, both systems are connected by their owners' consent."""
    p, q = pipedrive.base_url, quickbooks.base_url
    cli(
        "connections", "add", connection, "--tenant", tenant, "--name", name,
        "--source", "pipedrive", "--target", "quickbooks",
        "--setting", f"pipedrive.api_url={p}", "--setting", f"pipedrive.oauth_url={p}",
        "--setting", "pipedrive.won_deals_create_invoices=true", "--setting", "pipedrive.due_days=14",
        "--setting", f"quickbooks.base_url={q}", "--setting", f"quickbooks.token_url={q}/oauth2/v1/tokens/bearer",
        "--setting", f"quickbooks.authorize_url={q}/connect/oauth2", "--setting", f"quickbooks.app_url={q}",
    )  # fmt: skip


def consent(stack: LocalStack, connection: str, system: str) -> Consent:
    """The owner opens the start link `koppel connections activate` printed, approves on the vendor's page and comes
    back to Koppel's callback, each step a real HTTP request on loopback."""
    link = cli_output("connections", "activate", connection, system)
    start = requests.get(link, allow_redirects=False, timeout=TIMEOUT)
    if start.status_code != 302:
        raise RuntimeError(f"{system} consent did not start: {start.status_code} {start.text[:300]}")
    page = requests.get(start.headers["Location"], allow_redirects=False, timeout=TIMEOUT)
    if page.status_code not in (302, 303):
        raise RuntimeError(f"{system} consent page did not send the owner back: {page.status_code} {page.text[:300]}")
    back = page.headers["Location"]
    done = requests.get(back, allow_redirects=False, timeout=TIMEOUT)
    if done.status_code != 302:
        raise RuntimeError(f"{system} callback refused the consent: {done.status_code} {done.text[:300]}")
    return Consent(system, start.headers["Location"], back, done.status_code)


def connect(
    stack: LocalStack,
    pipedrive: PipedriveSandbox,
    quickbooks: QuickbooksSandbox,
    connection: str,
    *,
    tenant: str,
    name: str,
    webhooks: bool = True,
) -> list[Consent]:
    """Partner secrets, the connection, both consents, then the won-deal webhook subscribed (OAuth credentials)."""
    # On loopback QuickBooks answers in a millisecond, so the functions together call it more than 10 times in a
    # second, which Intuit's own latency spreads out: the sandbox keeps Intuit's 500 a minute, not the 10 a second.
    quickbooks.set_rate_limit(None, 500)
    partner_secrets(stack, pipedrive, quickbooks)
    add_connection(connection, pipedrive, quickbooks, tenant=tenant, name=name)
    consents = [consent(stack, connection, "quickbooks"), consent(stack, connection, "pipedrive")]
    if webhooks:
        cli("connections", "webhooks", connection, "--webhook-base", stack.http_url)
    return consents


def seed_demo_deals(stack: LocalStack, pipedrive: PipedriveSandbox, quickbooks: QuickbooksSandbox) -> None:
    """``demo-deals`` for the recorded events: company 13472 and its first user, QuickBooks company REALM with Dutch
    VAT codes, both consents, deal 801 booked through the button (panel, action and write-back events) and deal 802
    waiting for its button (the button and deliver events)."""
    user = company_user(pipedrive)
    quickbooks.add_company("Demo Deals B.V.", realm=REALM, currency="EUR", vat_codes=DUTCH_VAT_CODES)
    connect(stack, pipedrive, quickbooks, CONNECTION, tenant="tenant-demo", name="Demo deals", webhooks=False)
    stack.tick()  # the scheduled poll's target sync reads the company's tax codes
    stack.run_until_idle()
    booked = dutch_b2b_deal(pipedrive, deal_id=BOOKED_DEAL)
    dutch_b2b_deal(pipedrive, deal_id=NEW_DEAL)
    answer = press(stack, pipedrive, "invoice", booked, user=user)
    if answer.status_code != 202:
        raise RuntimeError(f"the seed's Create invoice was refused: {answer.status_code} {answer.text[:300]}")
    stack.run_until_idle()
    if user.id != USER_ID:
        raise RuntimeError(f"Pipedrive's first user is {user.id}, the recorded apps events name {USER_ID}")


def company_user(pipedrive: PipedriveSandbox) -> User:
    """The company the recorded events name (kept over a sandbox reset, like Pipedrive's accounts) and its user."""
    company = pipedrive.store.companies.get(COMPANY_ID) or pipedrive.add_company(
        "Demo Deals B.V.", company_id=COMPANY_ID
    )
    user = company.users[min(company.users)]
    pipedrive.consent_as(user)
    return user


def press(
    stack: LocalStack,
    pipedrive: PipedriveSandbox,
    what: str,
    deal: int,
    *,
    user: User | None = None,
    method: str = "POST",
) -> requests.Response:
    """A salesperson's click in Pipedrive: the signed request Pipedrive sends to Koppel's app URL, on the local API
    (``what``: ``invoice``, ``panel`` or ``invoices/<action>``)."""
    request = pipedrive.app_extension_request(
        f"{stack.http_url}/apps/pipedrive/{what}", PIPEDRIVE_APP[0], [deal], user=user
    )
    return requests.request(method, request.full_url, headers=request.headers, timeout=TIMEOUT * 3)


def as_json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"status": response.status_code, "body": response.text[:200]}
