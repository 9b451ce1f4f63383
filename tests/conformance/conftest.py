"""Every test that asks for ``target`` runs once per target harness, ``source`` once per source harness; each gets
its vendor's sandbox (started once for the session) with a fresh account. A gap a harness declares for a test
makes that run a strict xfail, so the day the gap closes the suite says so."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conformance.vendors import SOURCES, TARGETS, VENDORS

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from tests.conformance.harness import Harness, SourceHarness, TargetHarness

HERE = Path(__file__).parent


def _params(harnesses: Sequence[Harness], test: str) -> list[object]:
    def marks(harness: Harness) -> list[pytest.MarkDecorator]:
        gap = harness.gaps.get(test)
        return [pytest.mark.xfail(strict=True, reason=gap)] if gap else []

    return [pytest.param(h, id=h.name, marks=marks(h)) for h in harnesses]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for name, harnesses in (("target", TARGETS), ("source", SOURCES)):
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, _params(harnesses, metafunc.function.__name__), indirect=True)


def pytest_configure(config: pytest.Config) -> None:
    """A gap that names no test of the suite (a typo, a renamed test) would hide nothing and say nothing: refused."""
    tests = {name for path in HERE.glob("test_*.py") for name in re.findall(r"^def (test_\w+)", path.read_text(), re.M)}
    for harness in VENDORS:
        unknown = set(harness.gaps) - tests
        if unknown:
            raise pytest.UsageError(
                f"{harness.name}'s harness names gaps for tests that do not exist: {sorted(unknown)}"
            )


@pytest.fixture(scope="session")
def _sandboxes() -> Iterator[None]:
    yield
    for harness in VENDORS:
        harness.stop()


def _ready(harness: Harness) -> Harness:
    harness.start()
    harness.reset()
    return harness


@pytest.fixture
def target(request: pytest.FixtureRequest, _sandboxes: None) -> TargetHarness:
    harness: TargetHarness = request.param
    _ready(harness)
    return harness


@pytest.fixture
def source(request: pytest.FixtureRequest, _sandboxes: None) -> SourceHarness:
    harness: SourceHarness = request.param
    _ready(harness)
    return harness
