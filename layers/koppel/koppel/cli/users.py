"""`koppel users`: the console's people, made by an operator in the Cognito user pool (no one signs up alone).

The role is the user's group; the tenant and client decide what they see and only an operator sets them (the app
client lets a user write no attribute but their e-mail address).
"""

from __future__ import annotations

import re
import secrets
import string
from typing import Annotated, Any

import typer

from koppel.cli.base import app, err, out
from koppel.errors import InputError

users_app = typer.Typer(
    help="The console's users: operators, accounting firms and their clients.", no_args_is_help=True
)
app.add_typer(users_app, name="users")
ROLES = ("operator", "firm", "client")
KEY = re.compile(r"^\S(.{0,62}\S)?$")
"""As `koppel connections add` took it, at most 64 characters (the user pool's attribute limit)."""


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="What the person signs in with, e.g. their e-mail address")],
    role: Annotated[str, typer.Option(help="operator (everything), firm (its tenant) or client (its own)")],
    email: Annotated[str, typer.Option(help="Where Cognito sends password resets")],
    tenant: Annotated[str, typer.Option(help="The tenant a firm or client belongs to")] = "",
    client: Annotated[str, typer.Option(help="A client's key, as `koppel connections add --client` gave it")] = "",
    password: Annotated[
        str | None, typer.Option(help="Its first password (default: a random one, printed once)")
    ] = None,
) -> None:
    """Add a person to the console with a role, and the tenant and client they see."""
    from koppel.settings import UserSettings

    _check(role, tenant, client)
    pool = UserSettings.load().CONSOLE_USER_POOL_ID
    chosen = password or _random_password()
    cognito = _cognito()
    attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
    attributes += [{"Name": f"custom:{k}", "Value": v} for k, v in (("tenant", tenant), ("client", client)) if v]
    try:
        cognito.admin_create_user(
            UserPoolId=pool, Username=username, UserAttributes=attributes, MessageAction="SUPPRESS"
        )
    except cognito.exceptions.UsernameExistsException:
        raise InputError(f"{username} is a console user already: `koppel users remove {username}` first") from None
    except cognito.exceptions.InvalidPasswordException as error:
        raise InputError(f"{error.response['Error']['Message']}: choose another --password") from None
    cognito.admin_set_user_password(UserPoolId=pool, Username=username, Password=chosen, Permanent=True)
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName=role)
    scope = {"operator": "every connection", "firm": f"tenant {tenant}", "client": f"{client} of tenant {tenant}"}
    out.print(f"{username} added as {role}: sees {scope[role]}", highlight=False)
    if password is None:
        err.print("first password (shown once; give it to the person in person or by a second channel):")
        out.print(chosen, highlight=False)


@users_app.command("remove")
def users_remove(username: Annotated[str, typer.Argument(help="The user to take out of the console")]) -> None:
    """Remove a person: their sessions end (refresh tokens revoked) and they cannot sign in again."""
    from koppel.settings import UserSettings

    pool = UserSettings.load().CONSOLE_USER_POOL_ID
    cognito = _cognito()
    try:
        cognito.admin_user_global_sign_out(UserPoolId=pool, Username=username)
        cognito.admin_delete_user(UserPoolId=pool, Username=username)
    except cognito.exceptions.UserNotFoundException:
        raise InputError(f"{username} is no console user: `koppel users list` shows them") from None
    out.print(f"{username} removed")


def _check(role: str, tenant: str, client: str) -> None:
    if role not in ROLES:
        raise InputError(f"--role {role!r}: give operator, firm or client")
    if role != "operator" and not KEY.fullmatch(tenant):
        raise InputError(
            "a firm or client needs --tenant (up to 64 characters), as `koppel connections add --tenant` gave it"
        )
    if role == "client" and not KEY.fullmatch(client):
        raise InputError(
            "a client needs --client, as `koppel connections add --client` gave it, e.g. --client bakkerij-jansen"
        )
    if role == "operator" and (tenant or client):
        raise InputError("an operator sees every tenant: leave out --tenant and --client")


def _random_password() -> str:
    """16 characters with a lower-case letter, a capital and a digit, as the pool's password policy asks."""
    letters = string.ascii_letters + string.digits
    while True:
        word = "".join(secrets.choice(letters) for _ in range(16))
        if any(c.islower() for c in word) and any(c.isupper() for c in word) and any(c.isdigit() for c in word):
            return word


def _cognito() -> Any:
    import boto3

    return boto3.client("cognito-idp")
