"""One call to a vendor's JSON API: the body encoded exactly (Decimals as JSON numbers, never floats), the vendor's
refusal described by the connector's note, and the answer decoded (None for an empty one)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from koppel import wire
from koppel.http import json_body, send

if TYPE_CHECKING:
    from collections.abc import Mapping

    import requests

    from koppel.connectors.kit.replies import StatusNote


def send_json(
    session: requests.Session,
    method: str,
    url: str,
    *,
    vendor: str,
    note: StatusNote,
    headers: Mapping[str, str],
    params: dict[str, Any] | None = None,
    body: object = None,
) -> Any:
    all_headers = {**headers, "Accept": "application/json"}
    data = None
    if body is not None:
        all_headers["Content-Type"] = "application/json; charset=utf-8"
        data = wire.dumps(body).encode()
    response = send(
        session,
        method,
        url,
        vendor=vendor,
        describe_error=note.describe,
        params=params,
        data=data,
        headers=all_headers,
    )
    return json_body(response) if response.content.strip() else None
