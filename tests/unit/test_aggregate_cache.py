"""What bulk work keeps in memory: members and identity claims up to a size each, the least
recently used going first; marks of members read far past their latest snapshot."""

from __future__ import annotations

from datetime import datetime, timezone
from uuid import UUID

from domain.guards import IdentityClaim
from domain.member import Member
from tally.bulk import AggregateCache, SnapshotMarks

ACTOR = {"name": "t", "role": "admin", "request_id": None}


def member(number: int) -> Member:
    return Member.enroll(UUID(int=number), [{"kind": "card", "value": f"C-{number}"}], f"R{number}",
                         None, "h", datetime(2026, 1, 1, tzinfo=timezone.utc), ACTOR)


def test_claims_never_push_members_out():
    cache = AggregateCache(maxsize=2)
    members = [member(n) for n in (1, 2)]
    claims = [IdentityClaim.claim("card", f"C-{n}", str(UUID(int=n))) for n in (1, 2)]
    cache.give_back(members + claims)
    found = cache.take([m.id for m in members] + [c.id for c in claims])
    assert [found[m.id] for m in members] == members
    assert [found[c.id] for c in claims] == claims


def test_the_least_recently_given_back_of_a_kind_goes_first():
    cache = AggregateCache(maxsize=2)
    first, second, third = member(1), member(2), member(3)
    claim = IdentityClaim.claim("card", "C-1", str(first.id))
    cache.give_back([first, claim, second])
    cache.give_back([first])  # used again: now the most recent
    cache.give_back([third])
    assert set(cache.take([first.id, second.id, third.id, claim.id])) == {first.id, third.id,
                                                                           claim.id}


def test_what_is_taken_or_forgotten_is_no_longer_there():
    cache = AggregateCache()
    one, two = member(1), member(2)
    cache.give_back([one, two])
    assert cache.take([one.id]) == {one.id: one}
    cache.forget([two.id])
    assert cache.take([one.id, two.id]) == {}


def test_a_member_read_far_past_its_snapshot_is_marked_until_one_is_taken():
    marks, lagging_one, recent_one, current = SnapshotMarks(), UUID(int=1), UUID(int=2), UUID(int=3)
    marks.note(lagging_one, 40, 0)  # 40 facts, no snapshot
    marks.note(recent_one, 110, 100)
    marks.note(current, 100, 100)  # nothing since its snapshot: nothing to remember
    assert [marks.lagging(lagging_one, 41), marks.lagging(recent_one, 111),
            marks.lagging(recent_one, 125)] == [True, False, True]
    assert marks.versions == {lagging_one: 0, recent_one: 100}
    marks.drop([lagging_one])
    assert not marks.lagging(lagging_one, 41)


def test_marks_past_their_limit_start_again():
    marks = SnapshotMarks(limit=2)
    for number in (1, 2, 3):
        marks.note(UUID(int=number), 30, 0)
    assert marks.versions == {UUID(int=3): 0}
