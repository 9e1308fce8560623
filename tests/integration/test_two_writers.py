"""Two processes writing to one member: each trusts its own copy of the member when it
writes, so a copy made stale by the other process must be refused and read afresh, never
counted from (no point lost or counted twice)."""

from __future__ import annotations

import pytest

from tests.integration.ledgers import Clock, Shop, open_ledger


@pytest.fixture
def two_shops(database_url, clean_db):
    first, second = (open_ledger(database_url, Clock("2026-01-05")) for _ in range(2))
    yield Shop(first), Shop(second)
    first.close()
    second.close()


def test_a_stale_copy_is_refused_and_the_purchase_counts_on_fresh_state(two_shops):
    here, there = two_shops
    member = here.enroll()
    assert here.buy(member, "100.00", "2026-01-02", "T-1")["member"]["balance"]["available"] == 100
    there.buy(member, "40.00", "2026-01-03", "T-2")  # `here` still holds the copy after T-1

    answer = here.buy(member, "10.00", "2026-01-04", "T-3")

    assert answer["member"]["balance"]["available"] == 150
    assert answer["member"]["version"] == there.ledger.member(member["member_id"]).version
    assert here.balance(member)["available"] == 150 == there.balance(member)["available"]


def test_a_redemption_from_a_stale_copy_sees_the_points_spent_elsewhere(two_shops):
    here, there = two_shops
    member = here.enroll()
    here.buy(member, "50.00", "2026-01-02")
    there.redeem(member, 30, "2026-01-03")

    with pytest.raises(Exception) as refused:
        here.redeem(member, 30, "2026-01-04")  # only 20 are left

    assert type(refused.value).__name__ == "InsufficientPoints"
    assert here.redeem(member, 20, "2026-01-04")["member"]["balance"]["available"] == 0


def test_a_retry_sent_to_the_other_process_replays_the_first_answer(two_shops):
    here, there = two_shops
    member = here.enroll()
    here.buy(member, "10.00", "2026-01-02")  # both processes now hold copies
    there.ledger.member_to_change(member["member_id"])

    first = here.buy(member, "25.00", "2026-01-03", "T-9")
    again = there.buy(member, "25.00", "2026-01-03", "T-9")

    assert again == first
    assert there.balance(member)["available"] == 35
    assert there.buy(member, "1.00", "2026-01-04")["member"]["balance"]["available"] == 36
