"""One bad request (a probe), how it is sent, and the answer it got.

Probes are sent with http.client rather than requests: requests upper-cases the method and re-encodes the URL,
and a fuzzer has to send ``post`` and odd paths exactly as written.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from collections.abc import Callable

Header = tuple[str, str | bytes]


@dataclass(frozen=True)
class Probe:
    """A request to send at a door, with what it is (for the report) and what the door promised about it."""

    category: str
    """The family it belongs to in the summary, e.g. "wrong signature", "oversized", "replay"."""
    what: str
    """One line saying what is wrong with it, e.g. "x-hash made with tenant B's key"."""
    method: str
    path: str
    """As on the request line: percent-encoded, query string included (build it with ``path_of``)."""
    body: bytes = b""
    headers: tuple[Header, ...] = ()
    may_succeed: str = ""
    """Why a 2xx is a right answer to this one (e.g. "replay of an accepted webhook"); empty: it must be a 4xx."""
    expect: frozenset[int] = frozenset()
    """The 4xx statuses the door promises for it, when it promises one (e.g. 413 for a body over the limit)."""
    not_shown: tuple[str, ...] = ()
    """What the answer must not show even when it is a right one (another tenant's invoice numbers in a panel)."""
    reads_as: str = ""
    """The ``error`` a refusal must read word for word (an unseen connection's 404 reads as an unknown one's)."""
    when_sent: Callable[[Probe], Probe] | None = None
    """Makes the probe as it is sent, when it carries a single-use secret it uses up (a fresh consent's state): made
    when drawn, a probe hypothesis drew and then dropped would leave the secret behind."""

    def summary(self) -> str:
        body = f" body {len(self.body)} B {self.body[:60]!r}" if self.body else ""
        headers = ", ".join(f"{name}: {_short(value)}" for name, value in self.headers if name != "Content-Type")
        return f"[{self.what}] {self.method} {_short(self.path, 90)}{body}" + (f" ({headers})" if headers else "")

    def sent_text(self) -> str:
        """Everything the request carried, as text: a secret found in the answer that is here was only echoed."""
        parts = [self.path, self.body.decode("utf-8", "replace")]
        parts += [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for _, v in self.headers]
        return "\n".join(parts)


@dataclass(frozen=True)
class Answer:
    status: int
    """0 when no answer came (the connection dropped or timed out): ``problem`` says what happened."""
    body: bytes = b""
    content_type: str = ""
    problem: str = ""

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def summary(self) -> str:
        if self.status == 0:
            return f"no answer: {self.problem}"
        return f"{self.status} {_short(self.text(), 200)}"


def path_of(*segments: str, raw: tuple[str, ...] = (), query: str = "") -> str:
    """``/a/b`` from segments, each percent-encoded whole (a ``/`` inside one becomes %2F), then ``raw`` ones as
    they are (``..`` for a traversal), then ``?query`` (already encoded)."""
    path = "".join("/" + quote(segment, safe="") for segment in segments)
    path += "".join("/" + segment for segment in raw)
    return path + (f"?{query}" if query else "")


def query_of(*pairs: tuple[str, str]) -> str:
    return "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in pairs)


@dataclass
class Sender:
    """One keep-alive connection to the local API Gateway, opened again after anything goes wrong."""

    host: str
    port: int
    timeout: float = 60.0
    _connection: http.client.HTTPConnection | None = field(default=None, repr=False)

    def send(self, probe: Probe) -> Answer:
        connection = self._connection or http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        self._connection = connection
        try:
            connection.putrequest(probe.method, probe.path, skip_host=False, skip_accept_encoding=True)
            for name, value in probe.headers:
                connection.putheader(name, _header_value(value))
            if probe.body or probe.method not in ("GET", "HEAD", "OPTIONS"):
                connection.putheader("Content-Length", str(len(probe.body)))
            connection.endheaders(probe.body or None)
            response = connection.getresponse()
            body = response.read()
            answer = Answer(response.status, body, response.getheader("Content-Type", ""))
            if response.will_close:
                self.close()
            return answer
        except (OSError, http.client.HTTPException) as error:
            self.close()
            return Answer(0, problem=f"{type(error).__name__}: {error}")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _header_value(value: str | bytes) -> str | bytes:
    """http.client writes header text as latin-1; anything beyond it goes as its UTF-8 bytes, as a client would."""
    if isinstance(value, bytes):
        return value
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")
    return value


def _short(value: str | bytes, limit: int = 60) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    text = text.encode("unicode_escape").decode("ascii")  # NUL, BOM and bidi marks stay visible in a terminal
    return text if len(text) <= limit else f"{text[: limit - 12]}…({len(text)} chars)"
