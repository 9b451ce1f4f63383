"""Shared fixtures: no AWS account is ever touched (dummy credentials, a fixed region)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


# Tests by cost: every test carries one of these markers, given by its folder (`make unit`, `make connectors`, …).
# A test marked e2e where it stands (a whole-stack check kept beside its subject) stays e2e only.
COST_BY_FOLDER = {
    "unit": "unit",
    "conformance": "conformance",
    "connectors": "connectors",
    "integration": "integration",
    "devkit": "integration",  # the sandboxes and the bench on loopback: real servers, no stack
    "e2e": "e2e",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests = config.rootpath / "tests"
    for item in items:
        if item.get_closest_marker("e2e"):
            continue
        folder = item.path.relative_to(tests).parts[0] if item.path.is_relative_to(tests) else ""
        if folder not in COST_BY_FOLDER:
            raise pytest.UsageError(f"{item.nodeid}: put it in one of tests/{{{','.join(COST_BY_FOLDER)}}}/")
        item.add_marker(COST_BY_FOLDER[folder])
