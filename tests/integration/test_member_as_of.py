"""A member document as of a past moment: the member at its last fact recorded by then,
whether its history is short (folded from the start) or long (read from a snapshot)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from domain.errors import MemberNotFound

LONG = 250  # purchases: past the short history folded from its start, snapshots at 100 and 200


def a_member_with(shop, purchases: int) -> tuple[UUID, list]:
    """A member who bought `purchases` times for 1.00 (1 point each); its facts in order."""
    member = shop.enroll()
    for day in range(purchases):
        shop.buy(member, "1.00", f"2026-01-{1 + day % 28:02d}")
    member_id = UUID(member["member_id"])
    return member_id, list(shop.ledger.events.get(member_id))


def test_a_long_history_as_of_a_facts_recording_shows_the_member_at_that_fact(shop):
    member_id, facts = a_member_with(shop, LONG)
    assert [s.originator_version for s in shop.ledger.snapshots.get(member_id)] == [100, 200]
    for version in (2, 99, 100, 151, 201, LONG):
        document = shop.ledger.member_as_of(member_id, facts[version - 1].timestamp)
        assert (document["version"], document["balance"]["available"]) == (version, version - 1)


def test_a_moment_between_two_facts_shows_the_earlier(shop):
    member_id, facts = a_member_with(shop, LONG)
    between = facts[150].timestamp - timedelta(microseconds=1)  # before version 151
    assert facts[149].timestamp <= between
    document = shop.ledger.member_as_of(member_id, between)
    assert (document["version"], document["balance"]["available"]) == (150, 149)


def test_as_of_now_is_the_current_document(shop):
    member_id, facts = a_member_with(shop, LONG)
    now = facts[-1].timestamp + timedelta(days=1)
    document = shop.ledger.member_as_of(member_id, now)
    assert document == shop.ledger.document(shop.ledger.member(member_id), at=now)
    assert (document["version"], document["balance"]["lifetime_earned"]) == (LONG + 1, LONG)


def test_a_short_history_as_of_a_facts_recording_shows_the_member_at_that_fact(shop):
    member_id, facts = a_member_with(shop, 5)
    document = shop.ledger.member_as_of(member_id, facts[2].timestamp)
    assert (document["version"], document["balance"]["available"]) == (3, 2)


@pytest.mark.parametrize("purchases", [5, LONG])
def test_as_of_before_the_enrolment_is_member_not_found(shop, purchases):
    member_id, facts = a_member_with(shop, purchases)
    with pytest.raises(MemberNotFound):
        shop.ledger.member_as_of(member_id, facts[0].timestamp - timedelta(microseconds=1))
