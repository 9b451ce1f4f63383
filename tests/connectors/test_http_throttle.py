"""The HTTP recipe every connector shares, against a vendor on loopback: which throttles are retried in-process."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from koppel.errors import RetryableError
from koppel.http import send, session_for


def _counting_server(headers: dict[str, str]) -> tuple[Any, list[str]]:
    """A vendor on loopback that answers every request 429 with ``headers``, and counts the requests."""
    seen: list[str] = []

    class Throttled(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(429)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Throttled)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


def test_a_throttle_that_names_no_wait_is_not_sent_again_at_once() -> None:
    # Given a vendor that throttles without saying how long to wait
    server, seen = _counting_server({})
    try:
        # When Koppel reads from it, then it asks once: the connector's limiter or the queue decides the wait
        with pytest.raises(RetryableError):
            send(session_for(retries=2), "GET", f"http://127.0.0.1:{server.server_port}/x", vendor="Vendor")
        assert len(seen) == 1
    finally:
        server.shutdown()


def test_a_throttle_that_names_a_short_wait_is_retried_after_it() -> None:
    # Given a vendor that throttles and says "retry after 0 s"
    server, seen = _counting_server({"Retry-After": "0"})
    try:
        # When Koppel reads from it, then the in-process retries try again as told, then surface the throttle
        with pytest.raises(RetryableError):
            send(session_for(retries=2), "GET", f"http://127.0.0.1:{server.server_port}/x", vendor="Vendor")
        assert len(seen) == 3
    finally:
        server.shutdown()


def test_a_vendor_error_never_carries_a_session_or_token_from_the_url() -> None:
    # Given a vendor that takes its session in the URL (vtiger's sessionName) and fails
    server, _ = _counting_server({"Retry-After": "0"})
    url = f"http://127.0.0.1:{server.server_port}/webservice.php?operation=retrieve&sessionName=f7e62125&id=4x2"
    try:
        # When Koppel reads from it, then the error names the request without the session's value
        with pytest.raises(RetryableError) as failed:
            send(session_for(retries=0), "GET", url, vendor="Simply CRM")
        assert "f7e62125" not in str(failed.value)
        assert "sessionName=…" in str(failed.value) and "operation=retrieve" in str(failed.value)
    finally:
        server.shutdown()
