"""The Lambda layer's dependencies: ``lock`` re-resolves the pinned set, ``audit`` runs pip-audit against it.

Runs in the security tools' venv (pip, pip-audit, packaging), never in the app's: ``make layer-lock``,
``make security``. The layer ships exactly ``layers/koppel/requirements.txt``: the direct dependencies (pinned by
hand, within pyproject.toml's ranges) and everything they pull in, resolved here for the Lambda runtime
(python3.13 on arm64), so ``sam build`` installs what the audit read and nothing else.

The audit asks PyPI's JSON API, the one vulnerability source CI can reach. The package registry this project
reaches answers the project endpoint (``/pypi/<name>/json``, which describes the latest release and the
vulnerabilities open in it) but not the per-release one (``/pypi/<name>/<version>/json``) that pip-audit asks.
So a pin that is the latest release is audited through the project endpoint; a pin behind the latest cannot be
audited there and is listed as skipped with the latest version named (``make layer-lock`` moves the pins up;
``make security AUDIT_ARGS=--strict`` turns such a skip into a failure).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REQUIREMENTS = Path(__file__).resolve().parent.parent / "layers" / "koppel" / "requirements.txt"
RESOLVED_MARK = "# What they pull in,"
"""The line that starts the generated part of requirements.txt; everything above it is kept as written."""
LAMBDA_PLATFORM = (
    "--platform", "manylinux2014_aarch64", "--python-version", "3.13", "--implementation", "cp",
    "--only-binary=:all:",
)  # fmt: skip
LAMBDA_MARKERS = {
    "python_version": "3.13", "python_full_version": "3.13.0", "platform_machine": "aarch64",
    "platform_system": "Linux", "sys_platform": "linux", "os_name": "posix", "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}  # fmt: skip
PROJECT_URL = "https://pypi.org/pypi/{name}/json"
RELEASE_URL = re.compile(r"https://pypi\.org/pypi/([^/]+)/([^/]+)/json")

ACCEPTED: dict[str, str] = {}
"""Vulnerability id → why it cannot reach Koppel (and what ends the exception). Empty: none is accepted."""


# ---------------------------------------------------------------------------------------------- the lock file
def direct_pins(text: str) -> list[str]:
    """The hand-written requirement lines: those above the generated part, comments and blanks left out."""
    head = text.split(RESOLVED_MARK, 1)[0]
    return [line.split("#", 1)[0].strip() for line in head.splitlines() if line.split("#", 1)[0].strip()]


def lock_text(text: str, installs: list[dict[str, Any]]) -> str:
    """requirements.txt with its generated part rebuilt from a ``pip install --dry-run --report`` install list."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    direct = {canonicalize_name(Requirement(line).name) for line in direct_pins(text)}
    versions = {canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"] for item in installs}
    via: dict[str, set[str]] = {name: set() for name in versions}
    for item in installs:
        parent = canonicalize_name(item["metadata"]["name"])
        for spec in item["metadata"].get("requires_dist", []):
            requirement = Requirement(spec)
            marker_holds = requirement.marker is None or requirement.marker.evaluate({**LAMBDA_MARKERS, "extra": ""})
            child = canonicalize_name(requirement.name)
            if marker_holds and child in via:
                via[child].add(parent)
    lines = [
        f"{name}=={versions[name]}  # via {', '.join(sorted(via[name]))}"
        for name in sorted(versions)
        if name not in direct
    ]
    head = text.split(RESOLVED_MARK, 1)[0]
    mark = f"{RESOLVED_MARK} resolved for python3.13 on arm64 by `make layer-lock` (not edited by hand):"
    return head + mark + "\n" + "\n".join(lines) + "\n"


def lock() -> None:
    text = REQUIREMENTS.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as work:
        pins = Path(work) / "direct.txt"
        pins.write_text("\n".join(direct_pins(text)) + "\n", encoding="utf-8")
        report = Path(work) / "report.json"
        subprocess.run(  # this interpreter's own pip, fixed arguments
            [sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed",
             "--report", str(report), "--target", str(Path(work) / "target"), *LAMBDA_PLATFORM, "-r", str(pins)],
            check=True,
        )  # fmt: skip
        installs = json.loads(report.read_text(encoding="utf-8"))["install"]
    REQUIREMENTS.write_text(lock_text(text, installs), encoding="utf-8")
    print(f"{REQUIREMENTS.relative_to(Path.cwd())}: {len(installs)} pins")


# ---------------------------------------------------------------------------------------------------- audit
def audit(extra_args: list[str]) -> None:
    """pip-audit on the lock, each pin as written (no resolution, no pip), with the project-endpoint fallback."""
    from packaging.version import Version
    from pip_audit import _cli
    from pip_audit._service.interface import SkippedDependency
    from pip_audit._service.pypi import PyPIService

    behind: dict[str, str] = {}

    class ProjectEndpointFallback:
        """A session whose 404 for a release's JSON becomes the project's JSON when that release is the latest."""

        def __init__(self, session: Any) -> None:
            self._session = session

        def get(self, url: str, **kwargs: Any) -> Any:
            response = self._session.get(url, **kwargs)
            release = RELEASE_URL.fullmatch(url)
            if response.status_code != 404 or release is None:
                return response
            name, version = release.groups()
            project = self._session.get(PROJECT_URL.format(name=name), **kwargs)
            if not project.ok:
                return response
            latest = project.json()["info"]["version"]
            if Version(latest) == Version(version):
                return project  # its "vulnerabilities" are those open in the latest release: this pin
            behind[name] = latest
            return response

    class RegistryPyPIService(PyPIService):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.session = ProjectEndpointFallback(self.session)

        def query(self, spec: Any) -> Any:
            dependency, vulnerabilities = super().query(spec)
            if dependency.is_skipped() and spec.canonical_name in behind:
                reason = (
                    f"pinned {spec.version}, latest {behind[spec.canonical_name]}: the registry describes only "
                    "its latest release (make layer-lock)"
                )
                dependency = SkippedDependency(name=spec.name, skip_reason=reason)
            return dependency, vulnerabilities

    _cli.PyPIService = RegistryPyPIService
    ignores = [arg for vuln in ACCEPTED for arg in ("--ignore-vuln", vuln)]
    sys.argv = [
        "pip-audit", "--requirement", str(REQUIREMENTS), "--no-deps", "--disable-pip", "--vulnerability-service",
        "pypi", "--progress-spinner", "off", *ignores, *extra_args,
    ]  # fmt: skip
    _cli.audit()


def main() -> None:
    command, *rest = sys.argv[1:] or ["audit"]
    if command == "lock":
        lock()
    elif command == "audit":
        audit(rest)
    else:
        sys.exit(f"usage: {Path(sys.argv[0]).name} lock | audit [pip-audit options]")


if __name__ == "__main__":
    main()
