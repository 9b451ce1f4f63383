"""The local API Gateway guards the console's API as AWS does: a Cognito JWT authorizer in front of the routes that
name it (devkit.gateway), users made and signed in through moto's Cognito (devkit.console_auth), and API Gateway's
route selection. The stack is infra/template.yaml plus a probe function that echoes what it was handed."""

from __future__ import annotations

import base64
import json
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest
import requests
import yaml
from joserfc import jwk, jwt
from moto.utilities.utils import load_resource

from devkit import console_auth
from devkit.gateway import rendered_claim
from devkit.local import LocalStack
from devkit.stack import client, load_template

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

PASSWORD = "Correct-horse-42"
PROBE = "koppel_auth_probe"
PROBE_CODE = """import json


def lambda_handler(event, context):
    seen = {key: event.get(key) for key in ("routeKey", "pathParameters")}
    seen["authorizer"] = event["requestContext"].get("authorizer")
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(seen)}
"""


def _probe_event(method: str, path: str, *, guarded: bool) -> dict[str, Any]:
    props: dict[str, Any] = {"ApiId": {"Ref": "KoppelHttpApi"}, "Method": method, "Path": path}
    if guarded:
        props["Auth"] = {"Authorizer": "ConsoleAuthorizer"}
    return {"Type": "HttpApi", "Properties": props}


def _write_template(root: Path) -> Path:
    """infra/template.yaml with a probe function whose parameter routes come before the exact ones they overlap."""
    template = load_template()
    template["Resources"]["ProbeFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": f"../{PROBE}/",
            "Events": {
                "Thing": _probe_event("GET", "/api/probe/{thing}", guarded=True),
                "Exact": _probe_event("GET", "/api/probe/exact", guarded=True),
                "Greedy": _probe_event("ANY", "/probe/{proxy+}", guarded=False),
                "AnyOpen": _probe_event("ANY", "/probe/open", guarded=False),
                "Open": _probe_event("GET", "/probe/open", guarded=False),
            },
        },
    }
    (root / "infra").mkdir()
    (root / PROBE).mkdir()
    (root / PROBE / "__init__.py").write_text("")
    (root / PROBE / "app.py").write_text(PROBE_CODE)
    path = root / "infra" / "template.yaml"
    path.write_text(yaml.safe_dump(template, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    root = tmp_path_factory.mktemp("auth")
    template_path = _write_template(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(root))
        with LocalStack(template_path=template_path) as local:
            outputs = local.outputs
            assert outputs is not None
            console_auth.add_user(outputs, "fien", PASSWORD, "firm", tenant="acme", email="fien@acme.example")
            console_auth.add_user(outputs, "kees", PASSWORD, "client", tenant="acme", client="bakkerij")
            yield local
        sys.modules.pop(f"{PROBE}.app", None)


def _token(stack: LocalStack, username: str = "fien") -> str:
    assert stack.outputs is not None
    return console_auth.login(stack.outputs, username, PASSWORD)


def _get(stack: LocalStack, path: str, authorization: str | None = None) -> requests.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return requests.get(f"{stack.http_url}{path}", headers=headers, timeout=10)


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = dict(jwt.decode(token, jwk.RSAKey.import_key(load_resource(_MOTO_KEY))).claims)
    return claims


_MOTO_KEY = "cognitoidp/resources/jwks-private.json"


def _signed(claims: dict[str, Any], key: Any = None, header: dict[str, Any] | None = None) -> str:
    """A token as moto's Cognito would sign it (its one key, kid "dummy"), or with ``key`` instead."""
    key = key or jwk.RSAKey.import_key(load_resource(_MOTO_KEY))
    return jwt.encode(header or {"alg": "RS256", "kid": "dummy"}, claims, key)


def _refused_without_invoking(stack: LocalStack, path: str, authorization: str | None) -> requests.Response:
    before = dict(stack.invocations.count)
    answer = _get(stack, path, authorization)
    assert answer.status_code == 401
    assert answer.json() == {"message": "Unauthorized"}
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert stack.invocations.count == before  # API Gateway answered: no function ran
    return answer


def test_a_signed_in_users_token_reaches_the_function_with_its_claims_as_api_gateway_renders_them(
    stack: LocalStack,
) -> None:
    # Given a firm user of the console's user pool who signed in
    assert stack.outputs is not None
    token = _token(stack)
    # When they call a guarded route with their ID token, as the console sends it and without the Bearer prefix
    answer = _get(stack, "/api/probe/exact", f"Bearer {token}")
    bare = _get(stack, "/api/probe/exact", token)
    # Then the function gets the verified claims, every one as text, the groups as API Gateway renders a list
    assert answer.status_code == bare.status_code == 200
    context = answer.json()["authorizer"]
    claims = context["jwt"]["claims"]
    assert context["jwt"]["scopes"] is None
    assert claims["cognito:groups"] == "[firm]"
    assert (claims["custom:tenant"], claims["email"], claims["token_use"]) == ("acme", "fien@acme.example", "id")
    assert claims["aud"] == stack.outputs.console_client_id
    assert claims["iss"] == f"https://cognito-idp.eu-west-1.amazonaws.com/{stack.outputs.console_user_pool_id}"
    assert claims["exp"].isdigit() and int(claims["exp"]) > time.time()
    assert claims["cognito:username"] == "fien"
    # and a client user's token carries its client
    client_claims = _get(stack, "/api/probe/exact", f"Bearer {_token(stack, 'kees')}").json()["authorizer"]
    assert client_claims["jwt"]["claims"]["custom:client"] == "bakkerij"


def test_a_list_claim_is_rendered_as_api_gateway_renders_it() -> None:
    # Given claims of every JSON kind, When rendered for the function, Then each is text as API Gateway sends it
    assert rendered_claim(["firm", "client"]) == "[firm client]"
    assert (rendered_claim(1700000000), rendered_claim(True), rendered_claim("acme")) == ("1700000000", "true", "acme")


def test_a_request_without_a_token_or_with_garbage_is_refused_before_the_function_runs(stack: LocalStack) -> None:
    # Given the console's real API route and the probe's guarded one
    # When called with no Authorization header, an empty one, a bare "Bearer" or a string that is no JWT
    for path in ("/api/me", "/api/probe/exact"):
        _refused_without_invoking(stack, path, None)
        for garbage in ("", "Bearer", "Bearer not.a.jwt", "Bearer abc"):
            # Then API Gateway answers 401 itself
            _refused_without_invoking(stack, path, garbage)


def test_a_token_of_another_pool_or_another_app_client_is_refused(stack: LocalStack) -> None:
    # Given a user of another user pool, and an app client of the console's pool that the API does not name
    assert stack.outputs is not None
    cognito = client("cognito-idp", stack.endpoint_url)
    other_pool = cognito.create_user_pool(PoolName="someone-elses")["UserPool"]["Id"]
    other_app = cognito.create_user_pool_client(UserPoolId=other_pool, ClientName="theirs")["UserPoolClient"]
    cognito.admin_create_user(UserPoolId=other_pool, Username="fien", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=other_pool, Username="fien", Password=PASSWORD, Permanent=True)
    foreign = cognito.initiate_auth(
        ClientId=other_app["ClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "fien", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["IdToken"]
    side_app = cognito.create_user_pool_client(UserPoolId=stack.outputs.console_user_pool_id, ClientName="side")
    side = cognito.initiate_auth(
        ClientId=side_app["UserPoolClient"]["ClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "fien", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["IdToken"]
    # When each calls the guarded route, Then each is refused: the wrong issuer, the wrong audience
    assert (
        "issuer"
        in _refused_without_invoking(stack, "/api/probe/exact", f"Bearer {foreign}").headers["www-authenticate"]
    )
    refused = _refused_without_invoking(stack, "/api/probe/exact", f"Bearer {side}")
    assert (
        'error="invalid_token" error_description="the token does not have a valid audience"'
        in refused.headers["www-authenticate"]
    )


def test_an_expired_token_is_refused_and_the_same_token_still_valid_is_let_through(stack: LocalStack) -> None:
    # Given the claims of a real ID token, signed again with the pool's key: once still valid, once expired
    claims = _claims(_token(stack))
    valid = _signed(claims | {"exp": int(time.time()) + 60})
    expired = _signed(claims | {"exp": int(time.time()) - 1})
    not_yet = _signed(claims | {"nbf": int(time.time()) + 300})
    # When each is sent, Then the valid one reaches the function and the expired and not-yet-valid ones do not
    assert _get(stack, "/api/probe/exact", f"Bearer {valid}").status_code == 200
    assert (
        "expired"
        in _refused_without_invoking(stack, "/api/probe/exact", f"Bearer {expired}").headers["www-authenticate"]
    )
    _refused_without_invoking(stack, "/api/probe/exact", f"Bearer {not_yet}")


def test_a_token_signed_with_another_key_or_with_alg_none_is_refused(stack: LocalStack) -> None:
    # Given a real token's claims signed with a key of our own under the pool's key id, with no signature at all
    # (alg none), with a shared secret (HS256) and under a key id the pool does not have
    claims = _claims(_token(stack))
    forged = _signed(claims, key=jwk.RSAKey.generate_key(2048))
    payload = _signed(claims).split(".")[1]
    alg_none = f"{_b64({'alg': 'none', 'kid': 'dummy'})}.{payload}."
    shared_secret = jwt.encode({"alg": "HS256", "kid": "dummy"}, claims, jwk.OctKey.generate_key(256))
    unknown_kid = _signed(claims, header={"alg": "RS256", "kid": "another"})
    # When each is sent, Then each is refused before the function runs
    for token in (forged, alg_none, shared_secret, unknown_kid):
        _refused_without_invoking(stack, "/api/probe/exact", f"Bearer {token}")


def _b64(header: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(header).encode()).decode().rstrip("=")


def test_the_most_specific_route_wins_as_in_api_gateway(stack: LocalStack) -> None:
    # Given routes GET /api/probe/{thing} (declared first) and GET /api/probe/exact, ANY and GET /probe/open,
    # and ANY /probe/{proxy+}
    token = f"Bearer {_token(stack)}"
    # When each path is asked for
    exact = _get(stack, "/api/probe/exact", token).json()
    thing = _get(stack, "/api/probe/other", token).json()
    opened = _get(stack, "/probe/open").json()
    posted = requests.post(f"{stack.http_url}/probe/open", timeout=10).json()
    deep = _get(stack, "/probe/a/b").json()
    # Then the exact path beats the parameter, the method beats ANY, the greedy route takes what is left,
    # and the function gets the path parameters of its route
    assert (exact["routeKey"], exact["pathParameters"]) == ("GET /api/probe/exact", None)
    assert (thing["routeKey"], thing["pathParameters"]) == ("GET /api/probe/{thing}", {"thing": "other"})
    assert (opened["routeKey"], posted["routeKey"]) == ("GET /probe/open", "ANY /probe/open")
    assert (deep["routeKey"], deep["pathParameters"]) == ("ANY /probe/{proxy+}", {"proxy": "a/b"})


def test_a_public_route_needs_no_token_and_carries_no_authorizer(stack: LocalStack) -> None:
    # Given a route without Auth, When called without a token (or with a garbage one, which it ignores)
    for authorization in (None, "Bearer garbage"):
        answer = _get(stack, "/probe/open", authorization)
        # Then the function runs and is told of no authorizer
        assert answer.status_code == 200
        assert answer.json()["authorizer"] is None


def test_the_stack_resolves_the_console_pool_and_client_for_the_manage_function(stack: LocalStack) -> None:
    # Given the stack made from the template, When the manage function's environment is read
    assert stack.outputs is not None
    environment = stack.outputs.function_environment("ManageFunction")
    # Then it names the pool and client moto made, with the template's settings
    assert environment["CONSOLE_USER_POOL_ID"] == stack.outputs.console_user_pool_id
    assert environment["CONSOLE_CLIENT_ID"] == stack.outputs.console_client_id
    cognito = client("cognito-idp", stack.endpoint_url)
    app = cognito.describe_user_pool_client(
        UserPoolId=stack.outputs.console_user_pool_id, ClientId=stack.outputs.console_client_id
    )["UserPoolClient"]
    assert set(app["ExplicitAuthFlows"]) == {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert "ClientSecret" not in app
    groups = cognito.list_groups(UserPoolId=stack.outputs.console_user_pool_id)["Groups"]
    assert {group["GroupName"] for group in groups} == {"operator", "firm", "client"}
    pool = cognito.describe_user_pool(UserPoolId=stack.outputs.console_user_pool_id)["UserPool"]
    assert {"custom:tenant", "custom:client"} <= {attribute["Name"] for attribute in pool["SchemaAttributes"]}


def test_a_person_signs_in_through_the_console_and_the_manage_function_knows_who_they_are(stack: LocalStack) -> None:
    # Given a client user of the console's pool
    # When they sign in through the console's own door (public) and call GET /api/me with the token it answered
    session = requests.post(
        f"{stack.http_url}/api/session", json={"username": "kees", "password": PASSWORD}, timeout=10
    )
    assert session.status_code == 200, session.text
    me = _get(stack, "/api/me", f"Bearer {session.json()['id_token']}")
    # Then the authorizer let the real function see their claims, and it names their role, tenant and client
    assert me.status_code == 200, me.text
    assert {key: me.json()[key] for key in ("username", "role", "tenant", "client")} == {
        "username": "kees",
        "role": "client",
        "tenant": "acme",
        "client": "bakkerij",
    }
