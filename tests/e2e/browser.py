"""Headless Chromium for the console's browser tests: Debian's chromium and chromedriver (`make browser`), never a
driver Selenium Manager would download. Fixtures ``desktop`` (1280×900) and ``phone`` (390×844, a touch screen that
honours the page's viewport meta) each yield a ``Browser``; screenshots go to
test-artifacts/screenshots/<test>/<step>.png at the steps a test names and, when it fails, as ``failed``.

Chromium that cannot start skips the test with the reason, unless KOPPEL_REQUIRE_BROWSER is set (`make test` sets
it, so a missing browser fails there instead of passing unseen)."""

from __future__ import annotations

import contextlib
import os
import re
from typing import TYPE_CHECKING, Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from selenium.webdriver.remote.webelement import WebElement

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DESKTOP = (1280, 900)
PHONE = (390, 844)
WAIT_SECONDS = 15.0
"""Long enough for a handler's cold start on a busy CI machine; a wait ends as soon as its condition holds."""
FLAGS = (
    "--headless=new",
    "--no-sandbox",  # root in a container has no user namespaces for Chromium's sandbox
    "--disable-gpu",
    "--disable-dev-shm-usage",  # a container's /dev/shm is small
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # nothing but the page under test goes out
    "--disable-component-update",
    "--disable-sync",
)


def start_chromium(size: tuple[int, int], profile: Path, *, phone: bool = False) -> webdriver.Chrome:
    """A headless Chromium whose page is ``size`` CSS pixels; ``phone`` also makes it a touch screen whose layout
    width is the page's viewport meta, as on a real phone."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}"):
        options.add_argument(flag)
    if phone:
        options.add_experimental_option(
            "mobileEmulation", {"deviceMetrics": {"width": size[0], "height": size[1], "pixelRatio": 2, "touch": True}}
        )
    # An explicit driver path: Selenium Manager is never asked to find or download one.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    if not phone:
        # --window-size is the outer window: make the page itself the size asked for
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False},
        )
    return driver


class Browser:
    """A started Chromium plus the waits and checks the tests share; every wait polls, none sleeps."""

    def __init__(self, driver: webdriver.Chrome, shots: Path, prefix: str = "") -> None:
        self.driver = driver
        self.shots = shots
        self.prefix = prefix
        self.taken: list[Path] = []

    # -- pages and screenshots ----------------------------------------------------------------------------------
    def open(self, url: str) -> None:
        self.driver.get(url)

    def shot(self, step: str) -> Path:
        """Save the page as test-artifacts/screenshots/<test>/<step>.png (the phone's get a ``phone-`` prefix)."""
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{self.prefix}{_slug(step)}.png"
        self.driver.save_screenshot(str(path))
        self.taken.append(path)
        return path

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    @property
    def hash(self) -> str:
        return str(self.js("return location.hash"))

    # -- finding and waiting --------------------------------------------------------------------------------
    def wait(self, css: str, *, timeout: float = WAIT_SECONDS) -> WebElement:
        """The first element matching ``css`` once it is visible."""
        element: WebElement = self.until(
            ec.visibility_of_element_located((By.CSS_SELECTOR, css)), f"{css} visible", timeout
        )
        return element

    def wait_gone(self, css: str, *, timeout: float = WAIT_SECONDS) -> None:
        self.until(lambda d: not d.find_elements(By.CSS_SELECTOR, css), f"no {css}", timeout)

    def wait_text(self, css: str, text: str, *, timeout: float = WAIT_SECONDS) -> WebElement:
        """The first element matching ``css`` once its visible text contains ``text`` (case-insensitive)."""

        def shows(driver: webdriver.Chrome) -> WebElement | None:
            for element in driver.find_elements(By.CSS_SELECTOR, css):
                try:
                    if text.lower() in element.text.lower():
                        return element
                except StaleElementReferenceException:  # re-rendered between find and read: look again
                    return None
            return None

        found: WebElement = self.until(shows, f"{css} showing {text!r}", timeout)
        return found

    def wait_attribute(self, css: str, name: str, value: str, *, timeout: float = WAIT_SECONDS) -> WebElement:
        """The first element matching ``css`` once its attribute ``name`` is ``value``."""

        def has(driver: webdriver.Chrome) -> WebElement | None:
            for element in driver.find_elements(By.CSS_SELECTOR, css):
                try:
                    if element.get_attribute(name) == value:
                        return element
                except StaleElementReferenceException:
                    return None
            return None

        found: WebElement = self.until(has, f"{css}[{name}={value!r}]", timeout)
        return found

    def until(self, condition: Callable[[Any], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
        """Wait for ``condition``; on time-out the assertion names what was awaited and the page's URL and text."""
        try:
            return WebDriverWait(self.driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
                condition
            )
        except TimeoutException:
            body = self.driver.find_element(By.TAG_NAME, "body").text[:1500]
            raise AssertionError(f"waited {timeout} s for {what} at {self.driver.current_url}; page:\n{body}") from None

    def find(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    # -- keyboard ---------------------------------------------------------------------------------------------
    def focused(self) -> WebElement:
        return self.driver.switch_to.active_element

    def tab_to(self, css: str, *, limit: int = 60) -> int:
        """Press Tab until the element matching ``css`` has the focus; returns how many presses it took. Fails
        when ``limit`` presses never reach it (not focusable, or not in the tab order)."""
        targets = self.find(css)
        assert targets, f"no {css} on the page"
        for presses in range(1, limit + 1):
            ActionChains(self.driver).send_keys(Keys.TAB).perform()
            if self.js("return document.activeElement === arguments[0]", targets[0]):
                return presses
        raise AssertionError(f"{limit} presses of Tab never reached {css}")

    def press(self, key: str) -> None:
        """One key to whatever has the focus, as a keyboard user would."""
        ActionChains(self.driver).send_keys(key).perform()

    # -- layout -----------------------------------------------------------------------------------------------
    # The window's width is the layout viewport's (documentElement.clientWidth): on a phone, window.innerWidth grows
    # with a page that is too wide (the browser zooms out to show it), so it would hide the very overflow looked for.
    def viewport(self) -> tuple[int, int]:
        width, height = self.js("const e = document.documentElement; return [e.clientWidth, e.clientHeight]")
        return int(width), int(height)

    def horizontal_overflow(self) -> int:
        """How many CSS pixels the page is wider than the window (0: no horizontal scroll)."""
        return int(self.js("const e = document.documentElement; return Math.max(0, e.scrollWidth - e.clientWidth)"))

    def cut_off(self, css: str) -> list[str]:
        """The boxes under ``css`` whose content is wider than they are (scrolled sideways inside the page, or
        clipped): each as tag.class and the first words it holds. The page itself not scrolling is not enough
        when a table's wrapper scrolls instead, or a card hides the end of a long word."""
        found = self.js(
            "return [...document.querySelectorAll(arguments[0] + ', ' + arguments[0] + ' *')]"
            ".filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)"
            ".map(e => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')}: `"
            " + e.innerText.trim().slice(0, 60))",
            css,
        )
        return [str(item) for item in found]

    def is_visible_on_screen(self, element: WebElement) -> bool:
        """Displayed, not zero-sized, and inside the window's width (a user need not scroll sideways to read it)."""
        box = self.js(
            "const r = arguments[0].getBoundingClientRect();"
            "return [r.left, r.right, r.width, r.height, document.documentElement.clientWidth];",
            element,
        )
        left, right, width, height, window_width = box
        return bool(element.is_displayed() and width > 0 and height > 0 and left >= 0 and right <= window_width + 0.5)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "step"


def _browser(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, *, phone: bool
) -> Iterator[Browser]:
    size = PHONE if phone else DESKTOP
    profile = tmp_path_factory.mktemp("chromium-profile")
    try:
        driver = start_chromium(size, profile, phone=phone)
    except (WebDriverException, OSError, ValueError) as error:
        said = " ".join(str(error).split("Stacktrace:")[0].split())[:400]
        reason = f"headless Chromium ({CHROMIUM}, {CHROMEDRIVER}) did not start: {said}"
        if os.environ.get("KOPPEL_REQUIRE_BROWSER"):
            pytest.fail(f"{reason} (KOPPEL_REQUIRE_BROWSER is set: run `make browser`)")
        pytest.skip(f"{reason}; `make browser` installs it")
    shots = request.config.rootpath / "test-artifacts" / "screenshots" / _slug(request.node.name)
    browser = Browser(driver, shots, prefix="phone-" if phone else "")
    failed_before = request.session.testsfailed
    try:
        yield browser
    finally:
        # The call's report is logged before fixtures are torn down, so a failure of this test is counted by now.
        if request.session.testsfailed > failed_before:
            # When the browser itself broke, the test's own error says more than a screenshot could.
            with contextlib.suppress(WebDriverException):
                browser.shot("failed")
        driver.quit()


@pytest.fixture
def desktop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    yield from _browser(request, tmp_path_factory, phone=False)


@pytest.fixture
def phone(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    yield from _browser(request, tmp_path_factory, phone=True)
