"""Purchases decided on the event loop (`post_purchase_soon`, what POST /v1/transactions runs):
the same answers as `post_purchase`, no thread for a member in memory, and a worker thread for
everything else (a member to read, an identity, a lock held, a stale copy, a replay). Purchases
of one member at once: test_member_lanes.py."""

from __future__ import annotations

import threading
import time

import pytest

from tests.integration.ledgers import ACTOR, Clock, Shop, open_ledger, order, soon, threads_of


def test_a_member_in_memory_is_served_without_a_thread_and_answers_like_post_purchase(shop, threads_used):
    member = shop.enroll()
    first, second = soon(shop, order(member, "100.00", "T-1")) + soon(shop, order(member, "20.00", "T-2"))

    assert threads_used == []
    assert (first.body["points_earned"], first.replayed) == (100, False)
    assert second.body["member"]["balance"]["available"] == 120
    assert second.body["member"]["version"] == shop.ledger.member(member["member_id"]).version


def test_thirty_concurrent_purchases_on_one_member_each_count_once(shop, threads_used):
    member = shop.enroll()
    answers = soon(shop, *(order(member, "10.00", f"T-{n}") for n in range(30)))

    assert sorted(a.body["transaction_id"] for a in answers) == sorted(f"T-{n}" for n in range(30))
    assert {a.body["points_earned"] for a in answers} == {10}
    assert len({a.body["member"]["version"] for a in answers}) == 30
    assert shop.balance(member)["available"] == 300
    assert threads_used == []  # the member was busy: the others waited in its lane (test_member_lanes.py)


def test_a_retried_purchase_replays_the_first_answer(shop, threads_used):
    member = shop.enroll()
    [first] = soon(shop, order(member, "25.00", "T-9"))
    [again] = soon(shop, order(member, "25.00", "T-9"))

    assert again.replayed
    assert {**again.body, "member": None} == {**first.body, "member": None}
    assert again.body["member"]["version"] == first.body["member"]["version"] == 2
    assert threads_used == ["T-9"]  # the store refused the second guard; the thread replayed
    assert shop.balance(member)["available"] == 25


def test_a_purchase_waits_for_a_member_another_request_holds(shop, threads_used):
    member = shop.enroll()
    soon(shop, order(member, "1.00", "T-0"))
    held = threading.Event()

    released_at = []

    def hold_member_for_a_while():
        with shop.ledger.locks.holding(member["member_id"]):
            held.set()
            time.sleep(0.3)
            released_at.append(time.monotonic())

    holder = threading.Thread(target=hold_member_for_a_while)
    holder.start()
    held.wait()
    [answer] = soon(shop, order(member, "4.00", "T-2"))
    answered_at = time.monotonic()
    holder.join()

    assert threads_used == ["T-2"]
    assert answered_at > released_at[0]
    assert answer.body["member"]["balance"]["available"] == 5


def test_a_member_not_in_memory_or_named_by_identity_is_read_in_a_thread(database_url, clean_db):
    writer = Shop(open_ledger(database_url, Clock("2026-01-05")))
    member = writer.enroll()
    writer.ledger.link_identity(member["member_id"], "card", "C-1", ACTOR)
    fresh = Shop(open_ledger(database_url, Clock("2026-01-05")))  # a restarted process
    try:
        by_card, = soon(fresh, order(None, "30.00", "T-1", identity=("card", "C-1")))
        by_id, = soon(fresh, order(member, "5.00", "T-2"))
        assert by_card.body["member_id"] == member["member_id"]
        assert by_id.body["member"]["balance"]["available"] == 35
    finally:
        writer.ledger.close()
        fresh.ledger.close()


@pytest.mark.parametrize("at_once", [1, 5])  # five: the first falls back, its lane reads afresh
def test_a_copy_made_stale_by_another_process_is_refused_and_counted_afresh(database_url, clean_db,
                                                                           at_once):
    here, there = (Shop(open_ledger(database_url, Clock("2026-01-05"))) for _ in range(2))
    try:
        member = here.enroll()
        soon(here, order(member, "100.00", "T-1"))
        there.buy(member, "40.00", "2026-01-03", "T-2")  # `here` still holds the copy after T-1
        threads_used = threads_of(here.ledger)

        answers = soon(here, *(order(member, "10.00", f"T-{3 + n}") for n in range(at_once)))

        assert sorted(a.body["member"]["balance"]["available"] for a in answers) == \
            [140 + 10 * (n + 1) for n in range(at_once)]
        assert there.balance(member)["available"] == 140 + 10 * at_once
        assert len(threads_used) == at_once  # refused, then forgotten: read in threads, not on the loop
    finally:
        here.ledger.close()
        there.ledger.close()
