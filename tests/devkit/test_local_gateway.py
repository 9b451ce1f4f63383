"""The local stack's HTTP API gateway (devkit/local.py) hands Lambda the event AWS API Gateway would: an HTTP API
with payload format 2.0 (template: AWS::Serverless::HttpApi)."""

from __future__ import annotations

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from devkit.local import http_api_event


def _event(query: str) -> dict[str, object]:
    request = Request(EnvironBuilder(method="GET", path="/apps/pipedrive/panel", query_string=query).get_environ())
    return http_api_event(request, "GET /apps/{source}/panel")


def test_a_repeated_query_parameter_reaches_the_function_as_api_gateway_combines_it() -> None:
    # Given a request whose query repeats selectedIds (and encodes a comma and a space in another value)
    event = _event("selectedIds=1&view=details&selectedIds=2&selectedIds=3&note=a%2Cb%20c")
    # When the local gateway turns it into the HTTP API event
    # Then, as AWS does for payload format 2.0, the values of a repeated parameter are combined with commas in
    # queryStringParameters (in their order), there is no multiValueQueryStringParameters, and the raw query stays
    assert event["queryStringParameters"] == {"selectedIds": "1,2,3", "view": "details", "note": "a,b c"}
    assert "multiValueQueryStringParameters" not in event
    assert event["rawQueryString"] == "selectedIds=1&view=details&selectedIds=2&selectedIds=3&note=a%2Cb%20c"


def test_a_request_without_a_query_has_no_query_string_parameters() -> None:
    event = _event("")
    assert (event["queryStringParameters"], event["rawQueryString"]) == (None, "")
    # and an empty value is kept, as AWS keeps it
    assert _event("token=&a=1")["queryStringParameters"] == {"token": "", "a": "1"}
