"""A vendor sandbox's own test-control routes, beside the kit's ``/_sandbox/faults|reset|state``.

A sandbox lists its actions once in ``ControlRoutes`` and returns it from ``Sandbox.control_routes``; the kit
answers them before its own. ``with_body`` actions are POSTs whose JSON body goes to the handler; the others take
nothing (an outbox to read, a delivery to run). The vendor says how a body is read and an answer written
(Decimal-safe where money is involved) and which exceptions mean "refused": 400 ``{"error"}`` unless it has its
own error shape. ``Switches`` are the settings a ``settings`` action changes and ``reset`` puts back;
``rate_limit_action`` limits one tenant (an administration) for vendors that limit each on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from devkit.sandboxes.kit import decimal_json
from devkit.sandboxes.kit.server import json_response

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from werkzeug.wrappers import Request, Response


def json_body(request: Request) -> Any:
    return request.get_json(force=True)


def decimal_body(request: Request) -> Any:
    """The body as JSON with Decimal amounts; no body reads as ``{}``."""
    return decimal_json.loads(request.get_data() or b"{}")


def refused(error: Exception) -> Response:
    return json_response({"error": str(error)}, 400)


@dataclass(frozen=True)
class ControlRoutes:
    with_body: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)  # POST action -> handler(body)
    without_body: Mapping[tuple[str, str], Callable[[], Any]] = field(default_factory=dict)  # (method, action)
    read: Callable[[Request], Any] = json_body
    write: Callable[[Any], Response] = json_response
    refusals: tuple[type[Exception], ...] = (ValueError,)
    refuse: Callable[[Exception], Response] = refused

    def answer(self, request: Request) -> Response | None:
        """The vendor's answer to a control request, or None when the action is not one of its own."""
        action = request.path.removeprefix("/_sandbox/")
        bare = self.without_body.get((request.method, action))
        handler = self.with_body.get(action) if request.method == "POST" else None
        if bare is None and handler is None:
            return None
        try:
            return self.write(bare() if bare is not None else handler(self.read(request)))  # type: ignore[misc]  # one is set
        except self.refusals as error:
            return self.refuse(error)


def rate_limit_action(limit: Callable[[str, int | None, int | None], None], key: str) -> Callable[[Any], Any]:
    """The ``rate-limit`` action of a vendor that limits each tenant: ``{key, "per_second", "per_minute"}``."""

    def action(body: Mapping[str, Any]) -> dict[str, Any]:
        limit(body[key], body.get("per_second"), body.get("per_minute"))
        return {"ok": True}

    return action


@dataclass(frozen=True)
class Switches:
    """A sandbox's run-time settings: each one's type (how the ``settings`` action reads it) in answer order."""

    kinds: Mapping[str, Callable[[Any], Any]]

    def describe(self, target: object) -> dict[str, Any]:
        """Every setting's value now (the constructor's, kept, are what ``restore`` puts back)."""
        return {name: getattr(target, name) for name in self.kinds}

    def apply(self, target: object, body: Mapping[str, Any]) -> dict[str, Any]:
        """Change the settings ``body`` names; returns them all."""
        for name, kind in self.kinds.items():
            if name in body:
                setattr(target, name, kind(body[name]))
        return self.describe(target)

    @staticmethod
    def restore(target: object, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            setattr(target, name, value)
