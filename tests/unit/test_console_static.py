"""The web console's static files, checked without a browser: only local files, nothing the server's strict CSP
would block, no way for API data to become HTML, and every id and class of the DOM contract present."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

CONSOLE = Path(__file__).resolve().parents[2] / "functions" / "manage" / "console"
SCRIPTS = sorted(CONSOLE.glob("*.js"))

# The DOM contract the browser tests rely on (ids and classes are fixed).
CONTRACT_IDS = [
    "login-form",
    "username",
    "password",
    "login-error",
    "whoami",
    "logout",
    "connections",
    "no-connections",
    "status",
    "action",
    "pause",
    "resume",
    "retry-all",
    "history",
    "state-filter",
    "bookings-chart",
    "backfill-form",
    "backfill-since",
    "notice",
    "mapping-form",
    "save-mapping",
    "mapping-message",
]
CONTRACT_CLASSES = [
    "open",
    "status",
    "last-success",
    "last-error",
    "booked",
    "pending",
    "parked",
    "document",
    "party",
    "total",
    "state",
    "target-document",
    "attempts",
    "message",
    "retry",
    "mapping",
    "problem",
]


class Page(HTMLParser):
    """Collects the tags of index.html with their attributes and any text inside <script>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.script_text.append(data)


def _page() -> Page:
    page = Page()
    page.feed((CONSOLE / "index.html").read_text(encoding="utf-8"))
    return page


def _all_sources() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in [CONSOLE / "index.html", *SCRIPTS])


def test_the_page_loads_only_files_from_its_own_folder() -> None:
    # Given the console's index.html
    page = _page()
    # When every src and href is read
    references = [attrs[name] for _, attrs in page.tags for name in ("src", "href") if name in attrs]
    # Then none reaches another host (no CDN), and each local file it names is there to be served
    assert references
    assert not [ref for ref in references if re.match(r"^(https?:)?//", ref, re.IGNORECASE)]
    for ref in references:
        if ref.startswith("/console/"):
            assert (CONSOLE / ref.removeprefix("/console/")).is_file(), ref


def test_the_page_has_no_inline_script_or_event_handler_the_csp_would_block() -> None:
    # Given the server's CSP (script-src 'self', style-src 'self') and the console's index.html
    page = _page()
    # Then scripts come from files, and no element carries an inline handler or style
    assert page.script_text == []
    assert all(attrs.get("src") for tag, attrs in page.tags if tag == "script")
    assert not [(tag, name) for tag, attrs in page.tags for name in attrs if name.startswith("on")]
    assert not [tag for tag, attrs in page.tags if "style" in attrs]
    assert not [tag for tag, _ in page.tags if tag == "style"]


def test_the_page_is_in_english_fits_a_phone_and_can_skip_to_the_content() -> None:
    page = _page()
    html = dict(next(attrs for tag, attrs in page.tags if tag == "html"))
    metas = [attrs for tag, attrs in page.tags if tag == "meta"]
    links = [attrs for tag, attrs in page.tags if tag == "a"]
    assert html.get("lang") == "en"
    assert any(meta.get("name") == "viewport" and "width=device-width" in meta.get("content", "") for meta in metas)
    assert any(link.get("href") == "#main" and link.get("class") == "skip-link" for link in links)
    assert {tag for tag, _ in page.tags} >= {"header", "nav", "main"}


@pytest.mark.parametrize("element_id", CONTRACT_IDS)
def test_every_id_of_the_dom_contract_is_made_by_the_console(element_id: str) -> None:
    # Given the ids the browser tests look for
    # Then each is written in index.html or set by a script (as id="…" or id: "…")
    sources = _all_sources()
    assert re.search(rf"""id(=|:\s*)["']{re.escape(element_id)}["']""", sources), element_id


@pytest.mark.parametrize("class_name", CONTRACT_CLASSES)
def test_every_class_of_the_dom_contract_is_made_by_the_console(class_name: str) -> None:
    scripts = "\n".join(path.read_text(encoding="utf-8") for path in SCRIPTS)
    # A class is set as class: "a b" or as a cell's class name; either way it stands as a word in a string
    assert re.search(rf"""["'](?:[\w-]+ )*{re.escape(class_name)}(?: [\w-]+)*["']""", scripts), class_name


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_no_script_can_turn_api_data_into_html_or_code(script: Path) -> None:
    # Given a script of the console (comments aside)
    code = re.sub(r"//[^\n]*|/\*.*?\*/", "", script.read_text(encoding="utf-8"), flags=re.DOTALL)
    # Then it builds the page with elements and text only, never from HTML strings or evaluated code
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert forbidden not in code, f"{script.name} uses {forbidden}"
    # and sets no style attribute from a string, which the CSP would block anyway
    assert not re.search(r"""setAttribute\(\s*["']style["']""", code)
    assert not re.search(r"""setTimeout\(\s*["'`]""", code)


def test_every_module_the_scripts_import_is_in_the_folder() -> None:
    # Given the scripts' import statements
    imports = {
        (script.name, name)
        for script in SCRIPTS
        for name in re.findall(r"""^import .* from ["']([^"']+)["'];""", script.read_text(encoding="utf-8"), re.M)
    }
    # Then each is a local module that exists (a missing one leaves the console blank)
    assert imports
    for script_name, name in imports:
        assert name.startswith("./"), f"{script_name} imports {name}"
        assert (CONSOLE / name).is_file(), f"{script_name} imports {name}, which is missing"


def test_links_that_open_a_new_tab_cannot_reach_back_to_the_console() -> None:
    # Given the scripts that make links to a booked document in the target's web app
    scripts = "\n".join(path.read_text(encoding="utf-8") for path in SCRIPTS)
    # Then every target: "_blank" goes with rel noopener
    for match in re.finditer(r"""target:\s*["']_blank["']""", scripts):
        nearby = scripts[match.start() : match.start() + 200]
        assert re.search(r"""rel:\s*["'][^"']*noopener""", nearby)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed to check the syntax")
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_every_script_is_a_valid_es_module(script: Path) -> None:
    # A syntax error in any module stops the whole console from starting
    result = subprocess.run(
        [shutil.which("node") or "node", "--input-type=module", "--check"],
        input=script.read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
