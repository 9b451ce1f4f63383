"""The record links of a two-way sync in DynamoDB (moto): found by either side's id, read by one Query per kind,
and two runs that change one link at once cannot both win."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from koppel import bootstrap
from koppel.records import RecordLink
from koppel.settings import StoreSettings

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def links(clean_stack):  # type: ignore[no-untyped-def]
    return bootstrap.record_links(StoreSettings.load())


def _link(crm_id: str, billy_id: str, phone: str = "1") -> RecordLink:
    seen = {"simplycrm": {"phone": phone}, "billy": {"phone": phone}}
    return RecordLink(connection_id="crm-books", kind="contact", ids={"simplycrm": crm_id, "billy": billy_id},
                      seen=seen, updated_at=T0)  # fmt: skip


def test_a_link_is_found_by_either_sides_id_and_listed_once(links) -> None:  # type: ignore[no-untyped-def]
    # Given two contacts linked
    assert links.save(_link("4x1", "b-1")) and links.save(_link("4x2", "b-2"))
    # Then either id finds the link, and the kind's list has each link once
    assert links.link_of("crm-books", "contact", "billy", "b-1").ids["simplycrm"] == "4x1"
    assert links.link_of("crm-books", "contact", "simplycrm", "4x2").ids["billy"] == "b-2"
    assert sorted(link.ids["billy"] for link in links.links("crm-books", "contact")) == ["b-1", "b-2"]
    assert links.links("crm-books", "product") == []


def test_of_two_runs_changing_one_link_the_later_loses(links) -> None:  # type: ignore[no-untyped-def]
    assert links.save(_link("4x1", "b-1"))
    stored = links.link_of("crm-books", "contact", "billy", "b-1")
    # When two runs both read version 1 and save a change
    first = links.save(stored.model_copy(update={"seen": {"simplycrm": {"phone": "2"}, "billy": {"phone": "2"}}}))
    second = links.save(stored.model_copy(update={"seen": {"simplycrm": {"phone": "3"}, "billy": {"phone": "3"}}}))
    # Then only the first is stored, under both ids
    assert (first, second) == (True, False)
    for side, ident in (("billy", "b-1"), ("simplycrm", "4x1")):
        assert links.link_of("crm-books", "contact", side, ident).seen["billy"] == {"phone": "2"}
    # And a second new link for the same ids is refused too
    assert not links.save(_link("4x1", "b-1"))


def test_one_run_at_a_time_until_its_turn_ends_or_runs_out(links) -> None:  # type: ignore[no-untyped-def]
    assert links.take_turn("crm-books", T0 + timedelta(minutes=15), T0)
    assert not links.take_turn("crm-books", T0 + timedelta(minutes=20), T0 + timedelta(minutes=5))
    assert links.take_turn("crm-books", T0 + timedelta(minutes=40), T0 + timedelta(minutes=16))
    links.end_turn("crm-books")
    assert links.take_turn("crm-books", T0 + timedelta(minutes=20), T0 + timedelta(minutes=17))


def test_a_reservation_given_up_after_a_failed_create_can_be_taken_again_but_a_link_stays(clean_stack) -> None:  # type: ignore[no-untyped-def]
    ledger = bootstrap.ledger(StoreSettings.load())
    # Given a customer reserved for creation, whose create then failed
    assert ledger.reserve_link("crm-books", "billy", "party:source:3x1", T0 + timedelta(minutes=5), T0)
    ledger.release_link("crm-books", "billy", "party:source:3x1")
    # Then the retry reserves it again at once, and once made, giving up the reservation keeps the link
    assert ledger.reserve_link("crm-books", "billy", "party:source:3x1", T0 + timedelta(minutes=5), T0)
    ledger.put_link("crm-books", "billy", "party:source:3x1", "billy-contact-7")
    ledger.release_link("crm-books", "billy", "party:source:3x1")
    assert ledger.get_link("crm-books", "billy", "party:source:3x1") == "billy-contact-7"
