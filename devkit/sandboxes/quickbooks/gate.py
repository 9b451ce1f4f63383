"""The v3 API's front door: the bearer token, the token's company, and the per-company request limits.

- No, an unknown or an expired bearer: 401, fault type ``AUTHENTICATION``, code 3200 with the message
  ``message=AuthenticationFailed; errorCode=003200; statusCode=401`` (seen in many public clients and in a
  public probe of the live sandbox). That probe recorded the body in lower-case keys
  (``{"fault": {"error": [{"message", "detail", "code"}], "type"}}``) while most clients parse ``Fault``/``Error``;
  ``auth_fault_case`` picks either ("lower" by default) so a connector can be tested against both [I].
- A token of another company: 403, code 3100, ``ApplicationAuthorizationFailed`` [I: status and wording].
- Limits [V]: 500 requests a minute and 10 a second per company (realm); over them QuickBooks answers 429 with
  a ``SERVICE`` fault, code 3001, ``message=ThrottleExceeded; errorCode=003001; statusCode=429`` (the recorded
  answer of 2016). An older recording says ``statusCode=403`` with HTTP 403: ``throttle_style="403"`` answers
  that way, and ``"html"`` answers 429 with an HTML page, as a proxy in front of an API may. No Retry-After
  header is sent [I]; Intuit's advice is to wait 60 seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from devkit.sandboxes.kit.ratelimit import Window
from devkit.sandboxes.quickbooks.wire import Fault, answer, qbo_time

if TYPE_CHECKING:
    from datetime import datetime

THROTTLE_STYLES = ("429", "403", "html")
THROTTLE_DETAIL = "The request limit was reached.  Try again later"
HTML_THROTTLE = (
    "<!DOCTYPE html><html><head><title>429 Too Many Requests</title></head>"
    "<body><h1>Too Many Requests</h1><p>The request limit was reached. Try again later.</p></body></html>"
)


def throttle_answer(style: str, now: datetime) -> Response:
    if style == "html":
        return Response(HTML_THROTTLE, 429, content_type="text/html; charset=utf-8")
    status = 403 if style == "403" else 429
    message = f"message=ThrottleExceeded; errorCode=003001; statusCode={status}"
    fault = Fault(status, "SERVICE", ("3001", message, THROTTLE_DETAIL, ""))
    return answer(fault.body(now), status)


def auth_failed(now: datetime, case: str, detail: str) -> Response:
    message = "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    headers = {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'}
    if case == "upper":
        return answer(Fault(401, "AUTHENTICATION", ("3200", message, detail, "")).body(now), 401, headers)
    body: dict[str, Any] = {
        "warnings": None,
        "intuitObject": None,
        "fault": {"error": [{"message": message, "detail": detail, "code": "3200", "element": None}]},
        "time": qbo_time(now, millis=True),
    }
    body["fault"]["type"] = "AUTHENTICATION"
    return answer(body, 401, headers)


def forbidden(now: datetime) -> Response:
    message = "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403"
    fault = Fault(403, "SERVICE", ("3100", message, "Authorization failed for this company", ""))
    return answer(fault.body(now), 403)


@dataclass
class Limits:
    """Sliding windows per realm; only admitted requests count (a refused one does not)."""

    per_second: int = 10
    per_minute: int = 500
    style: str = "429"
    windows: dict[str, list[Window]] = field(default_factory=dict)

    def configure(self, per_second: int | None, per_minute: int | None, style: str | None = None) -> None:
        if style is not None:
            if style not in THROTTLE_STYLES:
                raise ValueError(f"unknown throttle style {style!r}; use one of {THROTTLE_STYLES}")
            self.style = style
        self.per_second = per_second or 0
        self.per_minute = per_minute or 0
        self.windows.clear()

    def admit(self, realm: str, now: float) -> bool:
        windows = self.windows.get(realm)
        if windows is None:
            pairs = ((self.per_second, 1.0), (self.per_minute, 60.0))
            windows = self.windows[realm] = [Window(n, seconds) for n, seconds in pairs if n]
        if any(window.wait(now) for window in windows):
            return False
        for window in windows:
            window.hits.append(now)
        return True
