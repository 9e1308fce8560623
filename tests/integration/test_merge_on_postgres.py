"""A merge on PostgreSQL: the survivor holds both balances and the absorbed lots expire on time."""

from __future__ import annotations

import pytest

from tests.integration.ledgers import ACTOR, Clock, Shop, at, open_ledger


@pytest.fixture
def shop(database_url, clean_db):
    ledger = open_ledger(database_url, Clock("2026-06-01T00:00"))
    yield Shop(ledger)
    ledger.close()


def merge(shop: Shop, survivor: dict, absorbed: dict, on: str = "2026-06-01") -> dict:
    return shop.ledger.merge(survivor_id=survivor["member_id"], absorbed_id=absorbed["member_id"],
                             merge_id="M-1", reason="same customer", occurred_at=at(on),
                             actor=ACTOR, request_hash="M-1").body


def test_after_a_merge_the_survivor_holds_the_sum_of_both_balances(shop):
    survivor, absorbed = shop.enroll(), shop.enroll()
    shop.buy(survivor, "300.00", "2026-02-01")
    shop.buy(absorbed, "200.00", "2026-03-01")
    shop.redeem(absorbed, 50, "2026-03-02")
    document = merge(shop, survivor, absorbed)
    assert document["balance"]["available"] == 450
    assert shop.balance(absorbed)["available"] == 0


def test_the_absorbed_lots_keep_their_expiry_dates_and_expire_on_time(shop):
    survivor, absorbed = shop.enroll(), shop.enroll()
    shop.buy(survivor, "300.00", "2026-05-01")
    shop.buy(absorbed, "200.00", "2026-02-10")
    document = merge(shop, survivor, absorbed)
    expiries = sorted((lot["expires_at"], lot["remaining"]) for lot in document["lots"])
    assert expiries == [(at("2027-02-10"), 200), (at("2027-05-01"), 300)]
    assert shop.ledger.tick(at("2027-02-09"), shop.everyone)["expired_points"] == 0
    assert shop.ledger.tick(at("2027-02-10"), shop.everyone)["expired_points"] == 200
    assert shop.balance(survivor)["available"] == 300


def test_a_return_of_the_absorbed_members_purchase_is_paid_by_the_survivor(shop):
    survivor, absorbed = shop.enroll(), shop.enroll()
    shop.buy(absorbed, "200.00", "2026-03-01", transaction_id="T-A")
    merge(shop, survivor, absorbed)
    answer = shop.give_back("T-A", "100.00", "2026-06-02")
    assert answer["points_clawed_back"] == 100
    assert shop.balance(survivor)["available"] == 100


def test_a_merge_resent_is_replayed_and_changes_nothing_more(shop):
    survivor, absorbed = shop.enroll(), shop.enroll()
    shop.buy(absorbed, "200.00", "2026-03-01")
    first = merge(shop, survivor, absorbed)
    again = shop.ledger.merge(survivor_id=survivor["member_id"], absorbed_id=absorbed["member_id"],
                              merge_id="M-1", reason="same customer", occurred_at=at("2026-06-01"),
                              actor=ACTOR, request_hash="M-1")
    assert again.replayed and again.body == first
