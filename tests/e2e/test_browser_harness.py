"""The browser harness itself (tests/e2e/browser.py) against a small static page on loopback: the phone is as wide
as a phone, a page too wide for it is caught, Tab and Enter reach a form, and screenshots land where they are
looked for. The console's own test relies on each of these checks meaning what it says."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest
from selenium.webdriver.common.keys import Keys

from tests.e2e.browser import DESKTOP, PHONE, desktop, phone

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.e2e.browser import Browser

pytestmark = pytest.mark.e2e
__all__ = ["desktop", "phone"]  # the fixtures, imported for pytest

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>harness</title></head>
<body style="margin:0;font-family:sans-serif">
<form id="login-form" onsubmit="event.preventDefault();
  document.getElementById('done').textContent = 'Submitted ' + document.getElementById('username').value;">
<label for="username">Username</label> <input id="username">
<label for="password">Password</label> <input id="password" type="password">
<button type="submit">Log in</button></form>
<p id="done" role="status"></p>
<div id="wide" style="width:100%;height:1em"></div>
</body></html>"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No access log in the test output."""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root: Path = tmp_path_factory.mktemp("site")
    (root / "index.html").write_text(PAGE, encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/index.html"
    server.shutdown()
    server.server_close()


def test_the_phone_is_a_phone_wide_and_a_page_too_wide_for_it_is_caught(site: str, phone: Browser) -> None:
    # Given the page on a phone
    phone.open(site)
    phone.wait("#login-form")
    # Then the window is the phone's, and the page fits it
    assert phone.viewport() == PHONE
    assert phone.horizontal_overflow() == 0
    assert phone.is_visible_on_screen(phone.wait("button[type=submit]"))
    # When something on it is wider than the phone
    phone.js("document.getElementById('wide').style.width = '600px'")
    # Then the check sees the sideways scroll it causes
    assert phone.horizontal_overflow() == 600 - PHONE[0]
    # And a box that hides the end of a long word is found too, though the page does not scroll
    assert phone.cut_off("#done") == []
    phone.js(
        "const done = document.getElementById('done');"
        "done.style.cssText = 'width:100px;overflow:hidden'; done.textContent = 'x'.repeat(80);"
    )
    assert phone.cut_off("#done") == ["p.: " + "x" * 60]


def test_tab_reaches_the_fields_and_enter_submits_and_the_steps_are_saved(site: str, desktop: Browser) -> None:
    # Given the page on a desktop
    desktop.open(site)
    desktop.wait("#login-form")
    assert desktop.viewport() == DESKTOP
    # When a keyboard user tabs to the username, types, tabs to the password, types and presses Enter
    assert desktop.tab_to("#username") >= 1
    desktop.press("ada")
    desktop.tab_to("#password", limit=1)
    desktop.press("secret" + Keys.ENTER)
    # Then the form was submitted with what was typed
    desktop.wait_text("#done", "Submitted ada")
    # And the screenshot of the step is a PNG under test-artifacts/screenshots/<test>/
    saved = desktop.shot("submitted")
    assert saved.parent.name == "test_tab_reaches_the_fields_and_enter_submits_and_the_steps_are_saved"
    assert saved.parent.parent.parts[-2:] == ("test-artifacts", "screenshots")
    assert saved.read_bytes().startswith(b"\x89PNG")
