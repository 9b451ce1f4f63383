"""`koppel users`: the console's people, made by an operator in the Cognito user pool (no one signs up alone).

The role is the user's group; the tenant and client decide what they see and only an operator sets them (the app
client lets a user write no attribute but their e-mail address). The first password is temporary: at their first
sign-in the console asks the person to choose their own, so the operator never knows the password in use.
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
PASSWORD_STATES = {"FORCE_CHANGE_PASSWORD": "still the first one", "CONFIRMED": "their own"}
"""Cognito's user status, as `koppel users list` says it."""
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
    permanent: Annotated[
        bool,
        typer.Option(
            "--permanent",
            help="Keep the first password (for a test or service account): no own password chosen at first sign-in",
        ),
    ] = False,
) -> None:
    """Add a person to the console with a role, and the tenant and client they see."""
    from koppel.settings import UserSettings

    _check(role, tenant, client)
    pool = UserSettings.load().CONSOLE_USER_POOL_ID
    chosen = password or _random_password()
    cognito = _cognito()
    attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
    attributes += [{"Name": f"custom:{k}", "Value": v} for k, v in (("tenant", tenant), ("client", client)) if v]
    try:  # Cognito keeps a temporary password 7 days (the pool's TemporaryPasswordValidityDays)
        cognito.admin_create_user(
            UserPoolId=pool,
            Username=username,
            UserAttributes=attributes,
            TemporaryPassword=chosen,
            MessageAction="SUPPRESS",
        )
    except cognito.exceptions.UsernameExistsException:
        raise InputError(f"{username} is a console user already: `koppel users remove {username}` first") from None
    except cognito.exceptions.InvalidPasswordException as error:
        raise InputError(f"{error.response['Error']['Message']}: choose another --password") from None
    if permanent:
        cognito.admin_set_user_password(UserPoolId=pool, Username=username, Password=chosen, Permanent=True)
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName=role)
    scope = {"operator": "every connection", "firm": f"tenant {tenant}", "client": f"{client} of tenant {tenant}"}
    out.print(f"{username} added as {role}: sees {scope[role]}", highlight=False)
    if not permanent:
        err.print("they choose their own password when they first log in, within 7 days", highlight=False)
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


@users_app.command("reset")
def users_reset(
    username: Annotated[str, typer.Argument(help="The user who forgot their password")],
    password: Annotated[
        str | None, typer.Option(help="The new first password (default: a random one, printed once)")
    ] = None,
) -> None:
    """Give a person a new temporary password: their sessions end, and they choose their own at the next login."""
    from koppel.settings import UserSettings

    pool = UserSettings.load().CONSOLE_USER_POOL_ID
    chosen = password or _random_password()
    cognito = _cognito()
    try:
        cognito.admin_set_user_password(UserPoolId=pool, Username=username, Password=chosen, Permanent=False)
        cognito.admin_user_global_sign_out(UserPoolId=pool, Username=username)
    except cognito.exceptions.UserNotFoundException:
        raise InputError(f"{username} is no console user: `koppel users list` shows them") from None
    except cognito.exceptions.InvalidPasswordException as error:
        raise InputError(f"{error.response['Error']['Message']}: choose another --password") from None
    out.print(f"{username} must choose a new password at their next login (within 7 days)", highlight=False)
    if password is None:
        err.print("temporary password (shown once; give it to the person by a second channel):")
        out.print(chosen, highlight=False)


@users_app.command("list")
def users_list() -> None:
    """Every console user with their role, what they see and whether they have chosen their own password."""
    from rich.table import Table

    from koppel.settings import UserSettings

    pool = UserSettings.load().CONSOLE_USER_POOL_ID
    cognito = _cognito()
    table = Table("username", "role", "tenant", "client", "e-mail", "password", title="Console users")
    for role in ROLES:  # one group per role: the role comes with the page, no call per user
        for page in cognito.get_paginator("list_users_in_group").paginate(UserPoolId=pool, GroupName=role):
            for user in page["Users"]:
                attributes = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
                password = PASSWORD_STATES.get(user.get("UserStatus", ""), user.get("UserStatus", ""))
                table.add_row(
                    user["Username"], role, attributes.get("custom:tenant", ""), attributes.get("custom:client", ""),
                    attributes.get("email", ""), password,
                )  # fmt: skip
    out.print(table)


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
