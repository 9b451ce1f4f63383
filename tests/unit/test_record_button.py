"""A CRM's "Sync" button on one record (services/record_button.py): the link Koppel hands out, and what pressing
it does, with fake sides."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from koppel.errors import InputError, SignatureError
from koppel.services.record_button import ButtonDeps, issue_button, press
from tests.unit.test_record_sync import world  # noqa: F401 (the fixture)


def _links(world: dict[str, Any]) -> tuple[ButtonDeps, dict[str, str]]:  # noqa: F811
    deps = world["deps"]
    connection, links = issue_button(world["connection"], "https://koppel.example/")
    deps.connections.put(connection)
    return ButtonDeps(connections=deps.connections, records=deps), links


def _query(link: str, record: str) -> dict[str, str]:
    query = {name: values[0] for name, values in parse_qs(urlsplit(link).query).items()}
    return {**query, "record": record}


def test_a_button_link_per_module_syncs_the_record_it_is_pressed_on(world: dict[str, Any]) -> None:  # noqa: F811
    # Given the button links Koppel hands out for the connection
    deps, links = _links(world)
    assert set(links) == {"organization", "contact", "product"}
    assert links["contact"].startswith(
        "https://koppel.example/records/simplycrm/sync?connection=demo-shop&kind=contact"
    )
    assert links["contact"].endswith("&record=$RECORD$")
    # When a person presses it on a new contact in the CRM
    ident = world["crm"].add(first_name="Eva", last_name="de Vries", email="eva@example.nl")
    said = press("simplycrm", _query(links["contact"], ident), deps)
    # Then the contact is in Billy, and the answer says so
    assert (said.state, said.words) == ("synced", "created in Billy")
    assert len(world["books"].of("contact")) == 1


def test_a_link_with_a_wrong_or_old_token_or_another_connection_is_refused_alike(world: dict[str, Any]) -> None:  # noqa: F811
    deps, links = _links(world)
    good = _query(links["contact"], "s1")
    # When the token is wrong, the connection unknown, or the links were replaced since
    _, newer = _links(world)
    for query in ({**good, "token": "guessed"}, {**good, "connection": "someone-else"}, good):
        with pytest.raises(SignatureError, match="not valid"):
            press("simplycrm", query, deps)
    # And the newest links work
    world["crm"].add(first_name="Eva", last_name="de Vries", email="eva@example.nl")
    assert press("simplycrm", _query(newer["contact"], "s1"), deps).state == "synced"


def test_a_link_missing_its_parts_says_what_is_missing(world: dict[str, Any]) -> None:  # noqa: F811
    deps, links = _links(world)
    query = _query(links["contact"], "")
    with pytest.raises(InputError, match="lacks record"):
        press("simplycrm", query, deps)
    with pytest.raises(InputError, match="not one of organization, contact, product"):
        press("simplycrm", {**query, "record": "s1", "kind": "invoice"}, deps)


def test_a_link_without_a_token_is_refused_like_a_wrong_one_and_only_the_source_has_links(
    world: dict[str, Any],  # noqa: F811
) -> None:
    deps, links = _links(world)
    good = _query(links["contact"], "s1")
    # When the token or the connection is left out, then it reads like any refused link (401)
    for query in ({**good, "token": ""}, {k: v for k, v in good.items() if k != "connection"}):
        with pytest.raises(SignatureError, match="not valid"):
            press("simplycrm", query, deps)
    # And a valid link pressed on the accounting package's side is no link of this connection
    with pytest.raises(InputError, match="are for simplycrm's records") as refused:
        press("billy", good, deps)
    assert refused.value.status == 404


def test_disconnecting_ends_the_links_for_good(world: dict[str, Any]) -> None:  # noqa: F811
    from koppel.services.connect import ConnectDeps, disconnect_all

    deps, links = _links(world)
    connection = world["deps"].connections.get("demo-shop")

    class NoGrants:
        def revoke(self, digest: str) -> None:
            """Nothing to revoke here."""

    connect_deps = ConnectDeps(
        connections=world["deps"].connections, grants=NoGrants(),  # type: ignore[arg-type]
        target_with=lambda *_: None, activation_for=lambda _: None,  # type: ignore[arg-type,return-value]
    )  # fmt: skip
    disconnect_all(connection, connect_deps, reason="the owner disconnected")
    # When the old link is pressed after a reconnect, then it is refused: new links must be made
    reconnected = world["deps"].connections.get("demo-shop").model_copy(update={"status": "active"})
    world["deps"].connections.put(reconnected)
    with pytest.raises(SignatureError, match="not valid"):
        press("simplycrm", _query(links["contact"], "s1"), deps)
