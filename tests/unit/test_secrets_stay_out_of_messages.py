"""Error messages never carry a credential: they end up in terminals, CI logs, a connection's status and the ledger."""

from __future__ import annotations

from typing import Any

import pytest

from koppel.cli import app
from koppel.connectors.bizzcloud.client import Odoo
from koppel.errors import AuthError, InputError

SECRET = "s3cr3t-Vh7Q2kZpL9"


def refusal(*args: str) -> str:
    with pytest.raises(InputError) as refused:
        app(list(args), standalone_mode=False)
    return str(refused.value)


ADD = ("connections", "add", "shop-1", "--source", "ccvshop", "--target", "snelstart", "--tenant", "Bakkerij")


def test_a_secret_given_without_its_system_is_refused_without_showing_it() -> None:
    # When an operator forgets the system in front of a secret's name
    message = refusal(*ADD, "--secret", f"secret_key={SECRET}")
    # Then the refusal names what is wrong and the name given, never the value
    assert "must look like system.name=value" in message
    assert "'secret_key'" in message
    assert SECRET not in message


def test_a_secret_given_without_a_name_is_refused_without_showing_it() -> None:
    # When an operator passes the bare secret (no name, no =) to add or to connect
    for args in ((*ADD, "--secret", SECRET), ("connections", "connect", "shop-1", "ccvshop", "--secret", SECRET)):
        message = refusal(*args)
        # Then the refusal says how it should look, and what was given is not shown
        assert "name=value" in message
        assert SECRET not in message


class RefusingOdoo:
    """Odoo's answer to ``common.authenticate`` with a wrong login or API key: False, not an error."""

    def call(self, service: str, method: str, args: list[Any]) -> Any:
        return False


def test_a_refused_bizzcloud_login_is_reported_without_the_login_or_the_api_key() -> None:
    # Given Bizzcloud refuses the stored login and API key
    odoo = Odoo(RefusingOdoo(), "despaak", "koppel@despaak.nl", SECRET)
    # When the connector signs in
    with pytest.raises(AuthError) as refused:
        odoo.uid()
    # Then the message (it becomes the connection's red status) says what to do, without either credential
    message = str(refused.value)
    assert "reconnect" in message and "'despaak'" in message
    assert "koppel@despaak.nl" not in message
    assert SECRET not in message
