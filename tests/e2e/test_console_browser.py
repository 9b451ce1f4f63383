"""The console in a real browser (headless Chromium) against the local stack: an accounting firm sees a red
integration, reads SnelStart's refusal, fixes the mapping, retries and sees it booked and green; another firm's
client sees none of it; the overview works on a phone and from the keyboard. Screenshots of every step are in
test-artifacts/screenshots/<test>/.

The world is the smallest that parks a record a retry fixes: the recorded CCV Shop order of ``demo-shop``
(CCV Shop → SnelStart), whose revenue at 21 % is mapped to ledger 8001, which SnelStart's administratie does not
have, so SnelStart refuses the booking (BOE-9004) and Koppel parks it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from devkit import console_auth
from devkit.koppelingen.ccvshop_snelstart.seed import CONNECTION, seed_demo_shop
from devkit.local import LocalStack
from devkit.sandboxes.ccvshop.sandbox import CcvShopSandbox
from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox
from tests.e2e.browser import desktop, phone

if TYPE_CHECKING:
    from collections.abc import Iterator

    from koppel.ports import ConnectionStore
    from tests.e2e.browser import Browser

pytestmark = pytest.mark.e2e
__all__ = ["desktop", "phone"]  # the fixtures, imported for pytest

SUBSCRIPTION_KEY = "console-browser-subscription-key"
FIRM_TENANT, CLIENT = "tenant-demo", "Demo B.V."
OTHER_TENANT, OTHER_CLIENT, OTHER_CONNECTION = "tenant-noord", "Bakkerij Noord", "noord-shop"
PASSWORD = "Correct-Horse-9-Battery"
FIRM_USER, OTHER_USER = "boekhouder", "bakker-noord"
WRONG_LEDGER, RIGHT_LEDGER = 8001, "8000"
REFUSAL = "bestaat niet in deze administratie"
"""SnelStart's words for a ledger it does not have (BOE-9004)."""


@dataclass
class World:
    stack: LocalStack
    snelstart: SnelstartSandbox
    koppelsleutel: str

    @property
    def console(self) -> str:
        return f"{self.stack.http_url}/console"


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    snelstart, ccv = SnelstartSandbox(subscription_key=SUBSCRIPTION_KEY), CcvShopSandbox()
    with LocalStack() as stack, snelstart, ccv:
        key = seed_demo_shop(stack, snelstart, subscription_key=SUBSCRIPTION_KEY, ccv=ccv)
        _named_and_mismapped()
        _other_firms_connection(ccv.base_url)
        outputs = stack.outputs
        assert outputs is not None
        console_auth.add_user(outputs, FIRM_USER, PASSWORD, "firm", tenant=FIRM_TENANT)
        console_auth.add_user(outputs, OTHER_USER, PASSWORD, "client", tenant=OTHER_TENANT, client=OTHER_CLIENT)
        # The shop's order is read and sent to SnelStart, which refuses it: parked
        _cli("backfill", CONNECTION, "--since", (datetime.now(UTC) - timedelta(days=2)).date().isoformat())
        stack.run_until_idle()
        yield World(stack, snelstart, key)


def _store() -> ConnectionStore:
    from koppel import bootstrap
    from koppel.settings import StoreSettings

    return bootstrap.connection_store(StoreSettings.load())


def _named_and_mismapped() -> None:
    """demo-shop as a firm's client sees it, its 21 % revenue mapped to a ledger SnelStart does not have."""
    store = _store()
    connection = store.get(CONNECTION)
    snelstart = dict(connection.target_settings["snelstart"]) | {"revenue_high": WRONG_LEDGER}
    update = {"client": CLIENT, "name": "Demo webshop", "target_settings": {"snelstart": snelstart}}
    store.put(connection.model_copy(update=update))


def _other_firms_connection(shop_url: str) -> None:
    """Another firm's client's own integration, so the other login has a table of its own to look at."""
    from koppel.model import Connection

    _store().put(
        Connection(
            connection_id=OTHER_CONNECTION,
            tenant_id=OTHER_TENANT,
            client=OTHER_CLIENT,
            name="Bakkerij Noord webshop",
            source="ccvshop",
            targets=("snelstart",),
            source_settings={"base_url": shop_url},
            target_settings={"snelstart": {}},
            created_at=datetime.now(UTC) - timedelta(days=1),
        )
    )


def _cli(*args: str) -> None:
    from koppel.cli import app

    app(list(args), standalone_mode=False)


def _log_in(browser: Browser, world: World, username: str) -> None:
    browser.open(world.console)
    browser.wait("#login-form")
    browser.wait("#username").send_keys(username)
    browser.wait("#password").send_keys(PASSWORD + Keys.ENTER)
    browser.wait_text("#whoami", username)


def _row(connection_id: str) -> str:
    return f'#connections tr[data-connection-id="{connection_id}"]'


def test_on_a_phone_the_overview_fits_and_says_each_status_in_words(world: World, phone: Browser) -> None:
    # Given the firm logged in on a phone
    _log_in(phone, world, FIRM_USER)
    row = phone.wait(_row(CONNECTION))
    phone.shot("overview")
    # Then nothing needs a sideways scroll: not the page, and no part of it (a long vendor message wraps)
    assert phone.viewport()[0] == 390
    assert phone.horizontal_overflow() == 0
    assert phone.cut_off("#view") == []
    # And each integration's status is a word one can read on the screen, not only a colour
    status = row.find_element("css selector", ".status")
    assert phone.is_visible_on_screen(status)
    assert status.text.split()[0].strip("◆●■▲ ") in {"Red", "Green", "Waiting"}
    assert phone.is_visible_on_screen(row.find_element("css selector", "a.open"))


def test_a_firm_fixes_a_refused_booking_retries_it_and_sees_it_booked_and_green(world: World, desktop: Browser) -> None:
    # Given the console's login page, used from the keyboard: Tab reaches the fields, Enter submits
    desktop.open(world.console)
    desktop.wait("#login-form")
    desktop.shot("01-login")
    desktop.tab_to("#username")
    desktop.press(FIRM_USER)
    desktop.tab_to("#password", limit=3)
    desktop.press(PASSWORD + Keys.ENTER)
    # Then the firm sees its client's integration red
    desktop.wait_text("#whoami", FIRM_USER)
    row = desktop.wait_attribute(_row(CONNECTION), "data-colour", "red")
    assert "Red" in row.find_element("css selector", ".status").text
    assert row.find_element("css selector", ".parked").text.strip() == "1"
    desktop.shot("02-overview-red")

    # When it opens the integration
    row.find_element("css selector", "a.open").click()
    desktop.wait_text("h1", "Demo webshop")
    parked = desktop.wait('#history tr[data-state="parked"]')
    event_id = parked.get_attribute("data-event-id")
    # Then the parked record says in SnelStart's words what was refused
    assert REFUSAL in parked.find_element("css selector", ".message").text
    assert desktop.wait("#status").get_attribute("data-colour") == "red"
    desktop.js("arguments[0].scrollIntoView({block: 'center'})", parked)
    desktop.shot("03-connection-parked")

    # When it maps revenue at 21 % to a ledger SnelStart has, on the mapping page
    desktop.wait("a.mapping").click()
    ledger = Select(desktop.wait('#mapping-form select[name="revenue_high"]'))
    assert ledger.first_selected_option.get_attribute("value") == str(WRONG_LEDGER)
    ledger.select_by_value(RIGHT_LEDGER)
    desktop.shot("04-mapping")
    desktop.wait("#save-mapping").click()
    desktop.wait_text("#mapping-message", "Saved")
    desktop.shot("05-mapping-saved")

    # And goes back and presses Retry on the record, from the keyboard
    desktop.wait(".crumbs a").click()
    desktop.wait_text("h1", "Demo webshop")
    desktop.wait(f'#history tr[data-event-id="{event_id}"] button.retry')
    desktop.tab_to(f'#history tr[data-event-id="{event_id}"] button.retry', limit=150)
    desktop.press(Keys.ENTER)
    desktop.wait_text("#notice", "queued for retry")
    desktop.shot("06-retry-queued")
    # And the queues are worked off (Lambda's event source mappings on the local stack)
    world.stack.run_until_idle()

    # Then the page shows the record booked and the integration green, without a reload
    booked = desktop.wait(f'#history tr[data-event-id="{event_id}"][data-state="booked"]', timeout=40)
    desktop.wait_attribute("#status", "data-colour", "green", timeout=40)
    assert not booked.find_elements("css selector", "button.retry")
    desktop.shot("07-booked-green")
    # And SnelStart holds the booking once, on the ledger that was chosen
    [booking] = world.snelstart.bookings(world.koppelsleutel)
    assert booked.find_element("css selector", ".document").text.strip() == booking["factuurnummer"]
    chosen = world.snelstart.grootboek_id(world.koppelsleutel, int(RIGHT_LEDGER))
    assert chosen in {line["grootboek"]["id"] for line in booking["boekingsregels"]}

    # When the firm logs out
    desktop.wait("#logout").click()
    # Then the login form is back, no token is kept, and the header no longer names anyone or offers to log out
    desktop.wait("#login-form")
    assert desktop.js("return sessionStorage.getItem('koppel.id_token')") is None
    assert not desktop.find("#logout")[0].is_displayed()
    assert not desktop.find("#whoami")[0].text
    desktop.shot("08-logged-out")


def test_another_firms_client_sees_none_of_it_not_even_by_its_address(world: World, desktop: Browser) -> None:
    # Given a client of another firm, logged in
    _log_in(desktop, world, OTHER_USER)
    # Then the overview lists its own integration and not the first firm's
    desktop.wait(_row(OTHER_CONNECTION))
    assert desktop.find(_row(CONNECTION)) == []
    assert CLIENT not in desktop.wait("#connections").text
    desktop.shot("01-own-overview")
    # When it types the other firm's integration's address
    desktop.open(f"{world.console}/index.html#/connections/{CONNECTION}")
    # Then the console says it is not found, and shows nothing of it
    desktop.wait_text("h1", "not found")
    assert REFUSAL not in desktop.wait("#view").text
    assert not desktop.find("#history")
    desktop.shot("02-address-not-found")


def test_a_new_client_chooses_their_own_password_at_the_first_login(world: World, desktop: Browser) -> None:
    # Given a client the operator has just added with a first password (`koppel users add` without --permanent)
    first, own = "First-Pass-From-Ops-1", "Only-Known-To-Me-42"
    _cli("users", "add", "nieuwe-klant", "--role=client", f"--tenant={FIRM_TENANT}", f"--client={CLIENT}",
         "--email=klant@demo.example", f"--password={first}")  # fmt: skip
    # When they log in with it
    desktop.open(world.console)
    desktop.wait("#username").send_keys("nieuwe-klant")
    desktop.wait("#password").send_keys(first + Keys.ENTER)
    # Then the console asks for a password of their own and says what it needs, the new field focused
    desktop.wait_text("h1", "Choose your own password")
    assert "12 characters" in desktop.wait("#password-rules").text
    assert desktop.focused().get_attribute("id") == "new-password"
    desktop.shot("01-choose-password")
    # When the two fields differ, then it says so and sends nothing
    desktop.wait("#new-password").send_keys(own)
    desktop.wait("#repeat-password").send_keys(own + "x" + Keys.ENTER)
    desktop.wait_text("#password-error", "differ")
    # When the password is too weak for the user pool, then Cognito's rule is shown in words
    for field in ("#new-password", "#repeat-password"):
        desktop.wait(field).clear()
        desktop.wait(field).send_keys("zwak")
    desktop.wait("#repeat-password").send_keys(Keys.ENTER)
    desktop.wait_text("#password-error", "12 characters")
    desktop.shot("02-too-weak")
    # When they choose a good one, then they are in, and see their own integration
    for field in ("#new-password", "#repeat-password"):
        desktop.wait(field).clear()
        desktop.wait(field).send_keys(own)
    desktop.wait("#repeat-password").send_keys(Keys.ENTER)
    desktop.wait_text("#whoami", "nieuwe-klant")
    desktop.wait(_row(CONNECTION))
    desktop.shot("03-own-overview")
    # And after logging out, their own password is the one that logs in
    desktop.wait("#logout").click()
    desktop.wait("#username").clear()
    desktop.wait("#username").send_keys("nieuwe-klant")
    desktop.wait("#password").send_keys(own + Keys.ENTER)
    desktop.wait_text("#whoami", "nieuwe-klant")
