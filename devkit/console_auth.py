"""The console's Cognito user pool on the local stack: created in moto from the template, and its users.

moto's CloudFormation creates no Cognito resources, so ``create_user_pools`` makes the template's user pools,
app clients and groups through the Cognito API (their template properties passed as the API takes them) before
the rest of the stack is created; ``with_references_resolved`` then writes their ids into the template, so
``!Ref ConsoleUserPool`` in a function's environment or an authorizer's issuer reads moto's real id.

``add_user`` and ``login`` are what an operator and a person at the console do: make a user with a role, tenant
and client, and sign in with USER_PASSWORD_AUTH for an ID token (moto signs it RS256 with the key it serves at
``<endpoint>/<pool id>/.well-known/jwks.json``).
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from devkit.stack import StackOutputs

USER_POOL = "AWS::Cognito::UserPool"
USER_POOL_CLIENT = "AWS::Cognito::UserPoolClient"
USER_POOL_GROUP = "AWS::Cognito::UserPoolGroup"
COGNITO = (USER_POOL, USER_POOL_CLIENT, USER_POOL_GROUP)
"""In the order they are made: a client and a group name their pool."""
ACCOUNT = "123456789012"
_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9:]+(?:\.[A-Za-z0-9.]+)?)\}")


# ------------------------------------------------------------------------------------- template references
def with_references_resolved(node: Any, values: dict[str, str]) -> Any:
    """``node`` with every ``Ref``/``Fn::GetAtt``/``${…}`` whose target is in ``values`` replaced by its value.

    ``values`` maps ``Name`` (a Ref) and ``Name.Attribute`` (a GetAtt) to text; a ``Fn::Sub`` left with nothing
    to substitute becomes plain text. Other intrinsics are left for CloudFormation."""
    if isinstance(node, list):
        return [with_references_resolved(item, values) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((key, value),) = node.items()
        name = ".".join(value) if key == "Fn::GetAtt" and isinstance(value, list) else value
        if key in ("Ref", "Fn::GetAtt") and isinstance(name, str) and name in values:
            return values[name]
        if key == "Fn::Sub":
            return _sub_resolved(value, values)
    return {key: with_references_resolved(value, values) for key, value in node.items()}


def _sub_resolved(value: Any, values: dict[str, str]) -> Any:
    text, variables = (value[0], value[1]) if isinstance(value, list) else (value, {})
    text = _SUB_NAME.sub(lambda m: _sub_value(m, values, variables), text)
    variables = with_references_resolved(variables, values)
    if not variables and not _SUB_NAME.search(text):
        return text.replace("${!", "${")
    return {"Fn::Sub": [text, variables] if variables else text}


def _sub_value(match: re.Match[str], values: dict[str, str], variables: dict[str, Any]) -> str:
    name = match.group(1)
    return values[name] if name in values and name not in variables else match.group(0)


def _plain(node: Any, values: dict[str, str], where: str) -> Any:
    """A property with every reference resolved; anything still unresolved is named (the local stack cannot)."""
    resolved = with_references_resolved(node, values)
    if _has_intrinsic(resolved):
        raise ValueError(f"{where}: the local stack resolves only parameters and other Cognito resources here")
    return resolved


def _has_intrinsic(node: Any) -> bool:
    if isinstance(node, dict):
        return any(key == "Ref" or key.startswith("Fn::") or _has_intrinsic(v) for key, v in node.items())
    if isinstance(node, list):
        return any(_has_intrinsic(item) for item in node)
    return False


# ------------------------------------------------------------------------------------------- the user pool
def create_user_pools(
    cognito: Any, template: dict[str, Any], stack_name: str, parameters: dict[str, str]
) -> dict[str, str]:
    """Create (or, on the same server, find) the template's Cognito resources; returns what references to them
    resolve to (``values`` for ``with_references_resolved``), parameters and pseudo parameters included."""
    region = cognito.meta.region_name
    values = {
        **{name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()},
        **parameters,
        "AWS::Region": region,
        "AWS::AccountId": ACCOUNT,
        "AWS::StackName": stack_name,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }
    makers: dict[str, Callable[[Any, str, dict[str, Any], str], dict[str, str]]] = {
        USER_POOL: _user_pool,
        USER_POOL_CLIENT: _user_pool_client,
        USER_POOL_GROUP: _group,
    }
    for kind in COGNITO:
        for logical_id, res in template["Resources"].items():
            if res["Type"] != kind:
                continue
            props = _plain(res.get("Properties", {}), values, logical_id)
            made = makers[kind](cognito, logical_id, props, f"{stack_name}-{logical_id}")
            values |= {logical_id: made.pop("Ref")} | {f"{logical_id}.{att}": v for att, v in made.items()}
    return values


def _api_arguments(cognito: Any, operation: str, props: dict[str, Any], renamed: dict[str, str]) -> dict[str, Any]:
    """The template's properties as the API call takes them; a property the call does not know is named."""
    arguments = {renamed.get(name, name): value for name, value in props.items()}
    known = cognito.meta.service_model.operation_model(operation).input_shape.members
    if unknown := arguments.keys() - known:
        raise ValueError(f"{operation} takes no {sorted(unknown)}: teach devkit.console_auth how to create them")
    return arguments


def _user_pool(cognito: Any, logical_id: str, props: dict[str, Any], default_name: str) -> dict[str, str]:
    props = dict(props)
    enabled_mfas = props.pop("EnabledMfas", [])
    arguments = _api_arguments(cognito, "CreateUserPool", props, {"UserPoolName": "PoolName"})
    arguments.setdefault("PoolName", default_name)
    pools = cognito.list_user_pools(MaxResults=60)["UserPools"]
    pool_id = next((pool["Id"] for pool in pools if pool["Name"] == arguments["PoolName"]), None)
    if pool_id is None:
        pool_id = cognito.create_user_pool(**arguments)["UserPool"]["Id"]
        if "SOFTWARE_TOKEN_MFA" in enabled_mfas:
            cognito.set_user_pool_mfa_config(
                UserPoolId=pool_id,
                SoftwareTokenMfaConfiguration={"Enabled": True},
                MfaConfiguration=arguments.get("MfaConfiguration", "OFF"),
            )
    region = cognito.meta.region_name
    provider = f"cognito-idp.{region}.amazonaws.com/{pool_id}"
    return {
        "Ref": pool_id,
        "Arn": f"arn:aws:cognito-idp:{region}:{ACCOUNT}:userpool/{pool_id}",
        "ProviderName": provider,
        "ProviderURL": f"https://{provider}",
        "UserPoolId": pool_id,
    }


def _user_pool_client(cognito: Any, logical_id: str, props: dict[str, Any], default_name: str) -> dict[str, str]:
    arguments = _api_arguments(cognito, "CreateUserPoolClient", props, {})
    arguments.setdefault("ClientName", default_name)
    clients = cognito.list_user_pool_clients(UserPoolId=arguments["UserPoolId"], MaxResults=60)["UserPoolClients"]
    client_id = next((c["ClientId"] for c in clients if c["ClientName"] == arguments["ClientName"]), None)
    if client_id is None:
        client_id = cognito.create_user_pool_client(**arguments)["UserPoolClient"]["ClientId"]
    return {"Ref": client_id, "ClientId": client_id, "Name": arguments["ClientName"]}


def _group(cognito: Any, logical_id: str, props: dict[str, Any], default_name: str) -> dict[str, str]:
    arguments = _api_arguments(cognito, "CreateGroup", props, {})
    arguments.setdefault("GroupName", default_name)
    with contextlib.suppress(cognito.exceptions.GroupExistsException):  # a reused stack keeps its groups
        cognito.create_group(**arguments)
    return {"Ref": arguments["GroupName"]}


# ------------------------------------------------------------------------------------------------ its users
def _cognito(outputs: StackOutputs) -> Any:
    from devkit.stack import client

    return client("cognito-idp", outputs.endpoint_url)


def add_user(
    outputs: StackOutputs,
    username: str,
    password: str,
    role: str,
    *,
    tenant: str = "",
    client: str = "",
    email: str = "",
) -> None:
    """A console user as an operator makes one: email, tenant and client set, a permanent password, one group."""
    cognito = _cognito(outputs)
    attributes = {"email": email or f"{username}@example.com", "email_verified": "true"}
    attributes |= {"custom:tenant": tenant} if tenant else {}
    attributes |= {"custom:client": client} if client else {}
    cognito.admin_create_user(
        UserPoolId=outputs.console_user_pool_id,
        Username=username,
        UserAttributes=[{"Name": name, "Value": value} for name, value in attributes.items()],
        MessageAction="SUPPRESS",
    )
    cognito.admin_set_user_password(
        UserPoolId=outputs.console_user_pool_id, Username=username, Password=password, Permanent=True
    )
    cognito.admin_add_user_to_group(UserPoolId=outputs.console_user_pool_id, Username=username, GroupName=role)


def login(outputs: StackOutputs, username: str, password: str) -> str:
    """The ID token a person gets who signs in with USER_PASSWORD_AUTH (the console's own flow)."""
    answer = _cognito(outputs).initiate_auth(
        ClientId=outputs.console_client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    token: str = answer["AuthenticationResult"]["IdToken"]
    return token
