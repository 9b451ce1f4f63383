"""What every vendor sandbox shares: a real HTTP server on loopback and a switchboard of faults.

A sandbox is a WSGI app (werkzeug, already here through moto's server mode) served from a thread.
Faults are decided per request by a seeded random generator, so a chaos run is reproducible:
- ``error_rate``       answer 503 (vendor down) before doing anything
- ``throttle_rate``    answer 429 with Retry-After before doing anything
- ``latency``          sleep this many seconds before answering
- ``commit_then_hang`` do the work (commit), then hang ``hang_seconds`` before answering: the client times
                       out although the vendor has booked it, the classic source of double bookings
``queue(kind, n)`` forces the next n requests to fail that way, for tests that want one exact fault.
Control over HTTP: ``POST /_sandbox/faults`` (JSON of the fields above), ``POST /_sandbox/reset``,
``GET /_sandbox/state``; a vendor's own actions come from ``control_routes`` (control.py). Only the paths named in
``applies_to`` (prefixes) get faults: a sandbox's ``fault_paths`` unless its FaultPlan names others.
"""

from __future__ import annotations

import json
import random
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from devkit.sandboxes.kit.control import ControlRoutes

FaultKind = str  # "error" | "throttle" | "latency" | "commit_then_hang"


@dataclass
class FaultPlan:
    seed: int = 0
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    retry_after: int = 1
    latency: float = 0.0
    commit_then_hang_rate: float = 0.0
    hang_seconds: float = 25.0
    applies_to: tuple[str, ...] = ()
    forced: deque[FaultKind] = field(default_factory=deque)
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def queue(self, kind: FaultKind, times: int = 1) -> None:
        with self._lock:
            self.forced.extend([kind] * times)

    def decide(self, path: str) -> FaultKind | None:
        if self.applies_to and not path.startswith(self.applies_to):
            return None
        with self._lock:
            if self.forced:
                kind = self.forced.popleft()
            else:
                roll = self._random.random()
                kind = None
                for name, rate in (
                    ("error", self.error_rate),
                    ("throttle", self.throttle_rate),
                    ("commit_then_hang", self.commit_then_hang_rate),
                ):
                    if roll < rate:
                        kind = name
                        break
                    roll -= rate
            if kind:
                self.counts[kind] = self.counts.get(kind, 0) + 1
            return kind

    def update(self, settings: dict[str, Any]) -> None:
        with self._lock:
            for key, value in settings.items():
                if key == "seed":
                    self._random = random.Random(value)
                    self.seed = value
                elif key == "applies_to":
                    self.applies_to = tuple(value)
                elif key in {
                    "error_rate",
                    "throttle_rate",
                    "retry_after",
                    "latency",
                    "commit_then_hang_rate",
                    "hang_seconds",
                }:
                    setattr(self, key, value)
                else:
                    raise ValueError(f"unknown fault setting {key!r}")

    def describe(self) -> dict[str, Any]:
        data = asdict(self)
        data["forced"] = list(self.forced)
        return data


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Sandboxes serve thousands of requests in a chaos run: no access log."""


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data, default=str), status=status, mimetype="application/json", headers=headers)


class Sandbox(ABC):
    """Base class: subclasses implement ``handle(request)`` and ``state()`` / ``reset()``."""

    name = "sandbox"
    fault_paths: tuple[str, ...] = ()  # the vendor API's path prefixes, where faults apply by default

    def __init__(self, faults: FaultPlan | None = None) -> None:
        self.faults = faults or FaultPlan(applies_to=self.fault_paths)
        self.faults.applies_to = self.faults.applies_to or self.fault_paths
        self.requests_seen = 0
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # -- to implement -------------------------------------------------------------------------------------
    @abstractmethod
    def handle(self, request: Request) -> Response:
        """Answer one vendor API request (faults are already decided)."""

    def state(self) -> dict[str, Any]:
        return {}

    def reset(self) -> None:
        self.faults = FaultPlan(applies_to=self.fault_paths)

    def control_routes(self) -> ControlRoutes | None:
        """The vendor's own ``/_sandbox/*`` actions, answered before the kit's faults, reset and state."""
        return None

    def fault_response(self, kind: FaultKind) -> Response:
        """The vendor's own shape of an outage or a throttle; subclasses override to match the vendor."""
        if kind == "throttle":
            return json_response(
                {"message": "Rate limit is exceeded."}, 429, {"Retry-After": str(self.faults.retry_after)}
            )
        return json_response({"message": "Service unavailable"}, 503)

    # -- WSGI ---------------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self._dispatch(request)
        return response(environ, start_response)  # type: ignore[no-any-return]

    def _dispatch(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox/"):
            return self._control(request)
        self.requests_seen += 1
        kind = self.faults.decide(request.path)
        if self.faults.latency:
            time.sleep(self.faults.latency)
        if kind in ("error", "throttle"):
            return self.fault_response(kind)
        response = self.handle(request)
        if kind == "commit_then_hang":
            time.sleep(self.faults.hang_seconds)
        return response

    def _control(self, request: Request) -> Response:
        routes = self.control_routes()
        own = routes.answer(request) if routes is not None else None
        if own is not None:
            return own
        action = request.path.removeprefix("/_sandbox/")
        if action == "faults" and request.method == "POST":
            try:
                self.faults.update(request.get_json(force=True))
            except ValueError as error:
                return json_response({"error": str(error)}, 400)
            return json_response(self.faults.describe())
        if action == "reset" and request.method == "POST":
            self.reset()
            return json_response({"reset": True})
        if action == "state" and request.method == "GET":
            return json_response({"faults": self.faults.describe(), "requests": self.requests_seen, **self.state()})
        return json_response({"error": f"no control action {request.method} {action}"}, 404)

    # -- serving ------------------------------------------------------------------------------------------
    def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        self._server = make_server(host, port, self, threaded=True, request_handler=_QuietHandler)
        self.base_url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(
            target=lambda: self._server.serve_forever(poll_interval=0.05), name=f"{self.name}-sandbox", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
