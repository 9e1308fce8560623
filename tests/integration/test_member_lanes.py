"""Purchases of one member at once (tally/lanes.py): decided one after another on the event
loop, saved together, each with the answer a post of its own would have got; and when a round
cannot stand as it is, its purchases posted one by one instead."""

from __future__ import annotations

import psycopg
import pytest

from domain.errors import IdempotencyConflict
from tests.integration.ledgers import order, soon


@pytest.fixture
def commits(shop, monkeypatch):
    """The facts of each unit the group committer recorded, as (aggregate kind, version)."""
    units = []
    record = shop.ledger.committer.record

    def recording(facts):
        units.append([(type(event).__qualname__.split(".")[0], event.originator_version)
                      for event in facts.events])
        return record(facts)

    monkeypatch.setattr(shop.ledger.committer, "record", recording)
    return units


def test_purchases_waiting_for_a_busy_member_are_saved_together_each_with_its_own_answer(shop, commits):
    member = shop.enroll()
    commits.clear()
    answers = soon(shop, *(order(member, "10.00", f"T-{n}") for n in range(30)))

    # the first alone; the 29 that arrived meanwhile in one round, the member's facts in order
    assert [len(unit) for unit in commits] == [2, 58]
    assert [version for kind, version in commits[1] if kind == "Member"] == list(range(3, 32))
    by_version = sorted((a.body["member"]["version"], a.body["member"]["balance"]["available"])
                        for a in answers)
    assert by_version == [(version, 10 * (version - 1)) for version in range(2, 32)]
    assert shop.balance(member)["available"] == 300


def test_a_round_holding_a_retried_purchase_is_posted_one_by_one(shop, threads_used):
    member = shop.enroll()
    [first] = soon(shop, order(member, "25.00", "T-1"))
    answers = soon(shop, order(member, "5.00", "T-2"), order(member, "25.00", "T-1"),
                   order(member, "7.00", "T-3"))

    assert [(a.body["transaction_id"], a.replayed) for a in answers] == \
        [("T-2", False), ("T-1", True), ("T-3", False)]
    assert answers[1].body["member"]["version"] == first.body["member"]["version"] == 2
    assert answers[1].body["member"]["balance"] == first.body["member"]["balance"]
    assert sorted(threads_used) == ["T-1", "T-3"]  # the store refused the round
    assert shop.balance(member)["available"] == 37


def test_one_transaction_id_twice_in_a_round_counts_once(shop):
    member = shop.enroll()
    answers = soon(shop, order(member, "1.00", "T-0"), order(member, "10.00", "T-5"),
                   order(member, "20.00", "T-5"), failures=True)

    assert answers[1].body["points_earned"] == 10
    assert isinstance(answers[2], IdempotencyConflict)
    assert shop.balance(member)["available"] == 11


def test_when_the_database_fails_a_round_each_of_its_purchases_hears_it(shop, monkeypatch):
    member = shop.enroll()
    commit_soon = shop.ledger.committer.commit_soon
    calls = []

    async def failing_after_the_first(facts):
        calls.append(len(facts.events))
        if len(calls) > 1:
            raise psycopg.OperationalError("the server closed the connection")
        return await commit_soon(facts)

    monkeypatch.setattr(shop.ledger.committer, "commit_soon", failing_after_the_first)
    answers = soon(shop, *(order(member, "3.00", f"T-{n}") for n in range(4)), failures=True)

    assert answers[0].body["points_earned"] == 3
    assert [type(a) for a in answers[1:]] == [psycopg.OperationalError] * 3
    assert calls == [2, 6]
    assert shop.balance(member)["available"] == 3
    assert shop.ledger.lanes.open == {}  # the member is free again
    monkeypatch.undo()
    [later] = soon(shop, order(member, "3.00", "T-1"))
    assert later.body["member"]["balance"]["available"] == 6
