"""SnelStart activation through the real connect function on the local stack, as an attacker would try it:
the take-overs the security probe found, each refused, and the owner's own activation still working."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from koppel import bootstrap
from koppel.settings import StoreSettings

if TYPE_CHECKING:
    from devkit.local import LocalStack
    from devkit.sandboxes.snelstart.sandbox import SnelstartSandbox


@pytest.fixture
def owner(clean_stack: LocalStack, demo_shop: str, snelstart: SnelstartSandbox):
    """demo-shop, live with its own administratie's key, and SnelStart knowing Koppel's callback."""
    store = bootstrap.connection_store(StoreSettings.load())
    connection = store.get("demo-shop")
    settings = {**connection.target_settings["snelstart"], "activation_base": snelstart.base_url}
    store.put(connection.model_copy(update={"target_settings": {"snelstart": settings}}))
    snelstart.register_app("koppel", f"{clean_stack.http_url}/connect/snelstart/callback")
    return store


def start_link(connection_id: str = "demo-shop") -> str:
    from koppel.cli import app, out

    with out.capture() as printed:
        app(["connections", "activate", connection_id, "snelstart"], standalone_mode=False)
    return printed.get().strip()


def callback(stack: LocalStack, body: bytes | dict) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(f"{stack.http_url}/connect/snelstart/callback", data=data, timeout=10)


def reference_from(start: requests.Response) -> str:
    return parse_qs(urlsplit(start.headers["Location"]).query)["referenceKey"][0]


def key_of(store) -> str:
    return store.get_secrets("demo-shop", "snelstart")["koppelsleutel"]


def test_knowing_a_connection_id_no_longer_starts_an_activation(clean_stack, owner) -> None:
    # When an attacker opens the start address the way the probe did, with only the connection id
    answer = requests.get(
        f"{clean_stack.http_url}/connect/snelstart/start",
        params={"connection_id": "demo-shop"},
        allow_redirects=False,
        timeout=10,
    )
    # Then there is no redirect and no reference, only a 401 that says a start link is needed
    assert answer.status_code == 401
    assert "Location" not in answer.headers
    assert "start link" in answer.json()["error"]
    assert "demo-shop" not in answer.text


def test_the_owners_start_link_activates_once_and_names_no_connection(clean_stack, owner, snelstart) -> None:
    before = key_of(owner)
    # Given the owner's start link from the CLI
    link = start_link()
    # When it is opened, the user is sent to SnelStart with a reference that does not name the connection
    start = requests.get(link, allow_redirects=False, timeout=10)
    assert start.status_code == 302
    assert "demo-shop" not in start.headers["Location"]
    assert start.headers["Cache-Control"] == "no-store"
    # And when the user agrees at SnelStart, its callback connects the new administratie
    activated = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert activated.status_code == 302
    assert snelstart.webhook_deliveries[-1]["status"] == 200
    assert key_of(owner) != before
    # And the same start link opened again is refused
    assert requests.get(link, allow_redirects=False, timeout=10).status_code == 401


def test_a_replayed_create_with_the_attackers_key_does_not_move_the_bookings(clean_stack, owner, snelstart) -> None:
    start = requests.get(start_link(), allow_redirects=False, timeout=10)
    requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    owners_key = key_of(owner)
    attackers_key = snelstart.add_administratie("Attacker B.V.")
    # When the genuine callback is replayed five times with the attacker's own koppelsleutel
    body = {"koppelSleutel": attackers_key, "actionType": "Create", "referenceKey": reference_from(start)}
    answers = [callback(clean_stack, body) for _ in range(5)]
    # Then each is refused and the connection still books into the owner's administratie
    assert [a.status_code for a in answers] == [409] * 5
    assert key_of(owner) == owners_key


def test_a_forged_delete_does_not_disconnect_while_snelstart_still_takes_the_key(clean_stack, owner) -> None:
    start = requests.get(start_link(), allow_redirects=False, timeout=10)
    requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    key = key_of(owner)
    answer = callback(clean_stack, {"actionType": "Delete", "referenceKey": reference_from(start)})
    assert answer.status_code == 409
    assert "nothing was changed" in answer.json()["error"]
    assert key_of(owner) == key
    assert owner.get("demo-shop").status == "active"


def test_a_delete_sent_by_snelstart_after_the_user_revoked_it_disconnects(clean_stack, owner, snelstart) -> None:
    start = requests.get(start_link(), allow_redirects=False, timeout=10)
    requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    # When the user removes the koppeling in SnelStart web (SnelStart retires the key and sends Delete)
    snelstart.deactivate(reference_from(start))
    # Then the connection is disconnected with the reason, and its key is gone
    assert snelstart.webhook_deliveries[-1]["status"] == 200
    connection = owner.get("demo-shop")
    assert connection.status == "disconnected"
    assert "revoked" in connection.status_reason
    assert owner.get_secrets("demo-shop", "snelstart") == {}


def test_a_junk_key_is_a_422_and_leaves_the_connection_as_it_was(clean_stack, owner) -> None:
    key = key_of(owner)
    start = requests.get(start_link(), allow_redirects=False, timeout=10)
    body = {"koppelSleutel": "junk", "actionType": "Create", "referenceKey": reference_from(start)}
    answer = callback(clean_stack, body)
    assert answer.status_code == 422
    assert "did not accept" in answer.json()["error"]
    assert key_of(owner) == key
    assert owner.get("demo-shop").status == "active"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"koppelSleutel": "k", "actionType": "Create", "referenceKey": "nonce-ü-ßß" * 5}, 401),
        ({"koppelSleutel": "k", "actionType": "Create", "referenceKey": ".abc"}, 401),
        ({"koppelSleutel": "k", "actionType": "create", "referenceKey": "a" * 43}, 400),
        (b"[" * 5_000 + b"]" * 5_000, 400),
        (b"[" * 10_000 + b"]" * 10_000, 413),
        (b"\xef\xbb\xbf{}", 400),
        (b"{" + b" " * 20_000 + b"}", 413),
    ],
)
def test_bad_callbacks_are_4xx_with_a_reason_and_change_nothing(clean_stack, owner, body, status) -> None:
    key = key_of(owner)
    answer = callback(clean_stack, body)
    assert answer.status_code == status
    assert answer.json()["error"]
    assert key_of(owner) == key


def test_a_callback_for_a_vendor_without_activation_is_a_404(clean_stack, owner) -> None:
    answer = requests.post(f"{clean_stack.http_url}/connect/bizzcloud/callback", data=b"{}", timeout=10)
    assert answer.status_code == 404
    assert "no activation callback" in answer.json()["error"]
