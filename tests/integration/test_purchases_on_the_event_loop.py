"""Purchases decided on the event loop (`post_purchase_soon`, what POST /v1/transactions runs):
the same answers as `post_purchase`, no thread for a member in memory, and a worker thread for
everything else (a member to read, an identity, a lock held, a stale copy, a replay)."""

from __future__ import annotations

import asyncio
import threading
import time
from decimal import Decimal

import pytest

from tests.integration.ledgers import ACTOR, Clock, Shop, at, open_ledger


def order(member: dict | None, amount: str, transaction_id: str, identity=None) -> dict:
    return dict(transaction_id=transaction_id, channel="pos", store_id="S-1",
                member_id=member["member_id"] if member else None, identity=identity,
                amount=Decimal(amount), currency="CNY", items=[], occurred_at=at("2026-01-02"),
                actor=ACTOR, request_hash=f"{transaction_id}:{amount}")


@pytest.fixture
def threads_used(shop, monkeypatch):
    """How many purchases went to `post_purchase` in a worker thread."""
    calls = []
    in_thread = shop.ledger.post_purchase
    monkeypatch.setattr(shop.ledger, "post_purchase",
                        lambda **kwargs: calls.append(kwargs["transaction_id"]) or in_thread(**kwargs))
    return calls


def soon(shop: Shop, *orders: dict) -> list:
    async def post_all():
        return await asyncio.gather(*(shop.ledger.post_purchase_soon(**o) for o in orders))
    return asyncio.run(post_all())


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
    assert 0 < len(threads_used) < 30  # the member was busy: the others waited in threads


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


def test_a_copy_made_stale_by_another_process_is_refused_and_counted_afresh(database_url, clean_db):
    here, there = (Shop(open_ledger(database_url, Clock("2026-01-05"))) for _ in range(2))
    try:
        member = here.enroll()
        soon(here, order(member, "100.00", "T-1"))
        there.buy(member, "40.00", "2026-01-03", "T-2")  # `here` still holds the copy after T-1

        [answer] = soon(here, order(member, "10.00", "T-3"))

        assert answer.body["member"]["balance"]["available"] == 150
        assert there.balance(member)["available"] == 150
    finally:
        here.ledger.close()
        there.ledger.close()
