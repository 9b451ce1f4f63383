"""Who sees what in the console: a signed-in person (``Principal``) and the connections their role opens.

API Gateway's JWT authorizer has already checked the Cognito ID token (signature, issuer, audience, expiry); the
claims it passes are all this module reads. Roles are the user pool's groups:

- ``operator``: Koppel's own people, every tenant's connections;
- ``firm``: an accounting firm, every connection of its tenant (``custom:tenant``);
- ``client``: a business, the connections of its tenant booked for it (``custom:tenant`` and ``custom:client``).

A connection someone may not see is answered exactly like one that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from koppel.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from koppel.model import Connection

Role = Literal["operator", "firm", "client"]
ROLES: tuple[Role, ...] = ("operator", "firm", "client")
"""Strongest first: someone in two groups acts as the stronger."""


class Forbidden(InputError):
    """The role may see the connection but not do this to it (a client disconnecting, say)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=403)


@dataclass(frozen=True)
class Principal:
    username: str
    email: str
    role: Role
    tenant: str = ""
    client: str = ""

    def sees(self, connection: Connection) -> bool:
        if self.role == "operator":
            return True
        if connection.tenant_id != self.tenant:
            return False
        return self.role == "firm" or (bool(self.client) and connection.client == self.client)

    def may_manage_credentials(self) -> bool:
        """Connecting again and disconnecting: the firm (or operator) that set the connection up, not its client."""
        return self.role in ("operator", "firm")


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """The person behind verified ID-token claims; one with no usable role or scope gets a 403 with what to fix."""
    if claims.get("token_use") not in (None, "id"):
        raise Forbidden("sign in again: the console takes an ID token, not an access token")
    groups = _groups(claims.get("cognito:groups"))
    role = next((r for r in ROLES if r in groups), None)
    username = str(claims.get("cognito:username") or claims.get("sub") or "")
    if role is None:
        who = username or "this user"
        raise Forbidden(f"{who} is in no console group: an operator adds it with `koppel users add`")
    tenant = str(claims.get("custom:tenant") or "")
    client = str(claims.get("custom:client") or "")
    if role != "operator" and not tenant:
        raise Forbidden(f"{username} has no tenant: an operator sets it with `koppel users add --tenant`")
    if role == "client" and not client:
        raise Forbidden(f"{username} has no client: an operator sets it with `koppel users add --client`")
    return Principal(username=username, email=str(claims.get("email") or ""), role=role, tenant=tenant, client=client)


def _groups(value: Any) -> set[str]:
    """``cognito:groups`` as API Gateway passes a list claim (``"[firm client]"``) or as a JSON list."""
    if isinstance(value, list):
        return {str(v) for v in value}
    if isinstance(value, str):
        return set(value.strip("[]").replace(",", " ").split())
    return set()


def visible(principal: Principal, connection: Connection) -> Connection:
    """The connection, or the same 404 an unknown id gets."""
    if not principal.sees(connection):
        raise not_found(connection.connection_id)
    return connection


def not_found(connection_id: str) -> NotFoundError:
    return NotFoundError(f"no connection {connection_id!r}: check the address")
