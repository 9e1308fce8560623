"""The loyalty rules (contract §3–§5) through the Ledger on PostgreSQL, with concrete numbers."""

from __future__ import annotations

import copy
from uuid import UUID

import pytest

from domain.errors import ActivityLimitReached
from domain.rules import DEFAULT_PROGRAM
from tests.integration.ledgers import ACTOR, Clock, Shop, at, open_ledger


@pytest.fixture
def shop(database_url, clean_db):
    ledger = open_ledger(database_url, Clock("2026-01-01T00:00"))
    yield Shop(ledger)
    ledger.close()


def use_program(shop: Shop, **overrides) -> None:
    document = copy.deepcopy(DEFAULT_PROGRAM)
    document.update(overrides)
    shop.ledger.configure_program(document, ACTOR)


def test_returns_of_33_33_33_33_and_33_34_claw_back_33_33_and_34(shop):
    member = shop.enroll()
    shop.buy(member, "100.00", "2026-01-02", transaction_id="T-100")
    clawed = [shop.give_back("T-100", amount, "2026-01-03")["points_clawed_back"]
              for amount in ("33.33", "33.33", "33.34")]
    assert clawed == [33, 33, 34]
    assert shop.balance(member)["available"] == 0


def test_a_full_return_after_redeeming_80_leaves_80_debt_and_the_next_50_points_pay_it_down(shop):
    member = shop.enroll()
    shop.buy(member, "100.00", "2026-01-02", transaction_id="T-100")
    shop.redeem(member, 80, "2026-01-03")
    answer = shop.give_back("T-100", "100.00", "2026-01-04")
    assert (answer["points_clawed_back"], answer["debt_created"]) == (100, 80)
    assert (shop.balance(member)["available"], shop.balance(member)["debt"]) == (0, 80)
    shop.buy(member, "50.00", "2026-01-05")
    assert (shop.balance(member)["available"], shop.balance(member)["debt"]) == (0, 30)


def test_within_balance_forgives_the_80_points_already_spent(shop):
    use_program(shop, return_policy="within_balance")
    member = shop.enroll()
    shop.buy(member, "100.00", "2026-01-02", transaction_id="T-100")
    shop.redeem(member, 80, "2026-01-03")
    answer = shop.give_back("T-100", "100.00", "2026-01-04")
    assert (answer["points_clawed_back"], answer["points_forgiven"], answer["debt_created"]) == (20, 80, 0)
    assert shop.balance(member)["debt"] == 0


def test_pending_points_activate_on_day_14_by_tick_and_a_second_tick_changes_nothing(shop):
    use_program(shop, pending_days=14)
    member = shop.enroll()
    bought = shop.buy(member, "100.00", "2026-03-01")
    assert (bought["status"], bought["available_at"]) == ("pending", at("2026-03-15"))
    assert bought["expires_at"] == at("2027-03-15")
    before = shop.ledger.tick(at("2026-03-14T23:00"), shop.everyone)
    assert before == {"activated": 0, "expired_points": 0, "tiers_changed": 0, "members_touched": 0}
    after = shop.ledger.tick(at("2026-03-15T00:00"), shop.everyone)
    assert after == {"activated": 1, "expired_points": 0, "tiers_changed": 0, "members_touched": 1}
    again = shop.ledger.tick(at("2026-03-15T00:00"), shop.everyone)
    assert again == before
    assert shop.balance(member)["available"] == 100


def test_tick_expires_points_twelve_months_after_activation(shop):
    member = shop.enroll()
    shop.buy(member, "100.00", "2026-01-31")
    assert shop.ledger.tick(at("2027-01-30"), shop.everyone)["expired_points"] == 0
    assert shop.ledger.tick(at("2027-01-31"), shop.everyone)["expired_points"] == 100
    assert shop.balance(member)["expired"] == 100


def test_a_1200_purchase_upgrades_to_silver_and_a_6000_purchase_to_gold(shop):
    silver, gold = shop.enroll(), shop.enroll()
    assert shop.buy(silver, "1200.00", "2026-01-02")["member"]["tier"]["name"] == "silver"
    assert shop.buy(gold, "6000.00", "2026-01-02")["member"]["tier"]["name"] == "gold"


def test_a_late_purchase_that_lifts_the_latest_window_to_1100_upgrades_to_silver(shop):
    member = shop.enroll()
    shop.buy(member, "900.00", "2026-03-05")
    late = shop.buy(member, "200.00", "2026-03-03")  # a till that was offline uploads it
    shop.ledger.forget([UUID(member["member_id"])])  # read back from the store, not the cache
    tier = shop.ledger.document(shop.ledger.member(member["member_id"]))["tier"]
    assert (late["member"]["tier"]["name"], tier["name"], tier["expires_at"]) == (
        "silver", "silver", at("2027-03-03"))


def test_a_tier_is_renewed_at_term_end_when_spend_is_met_and_dropped_one_otherwise(shop):
    kept, dropped = shop.enroll(), shop.enroll()
    shop.buy(kept, "21000.00", "2026-01-02")
    shop.buy(dropped, "21000.00", "2026-01-02")
    shop.buy(kept, "20000.00", "2026-12-01")
    counts = shop.ledger.tick(at("2027-01-02"), shop.everyone)
    assert counts["tiers_changed"] == 2
    tiers = [shop.ledger.member(m["member_id"]).tier for m in (kept, dropped)]
    assert tiers == ["platinum", "gold"]


def test_two_check_ins_on_one_shanghai_day_refuse_the_second(shop):
    member = shop.enroll()
    shop.check_in(member, "2026-11-21T16:30")
    with pytest.raises(ActivityLimitReached):
        shop.check_in(member, "2026-11-22T15:59")
    assert shop.balance(member)["available"] == 5


def test_check_ins_on_two_shanghai_days_of_one_utc_day_both_count(shop):
    member = shop.enroll()
    shop.check_in(member, "2026-11-22T15:59")
    shop.check_in(member, "2026-11-22T16:00")
    assert shop.balance(member)["available"] == 10


def test_a_referral_credits_both_members_with_the_referees_first_purchase_only(shop):
    referrer = shop.enroll()
    referee = shop.enroll(referrer_code=referrer["referral_code"])
    first = shop.buy(referee, "10.00", "2026-01-02")
    shop.buy(referee, "10.00", "2026-01-03")
    assert first["points_earned"] == 10
    assert shop.balance(referee)["available"] == 70
    assert shop.balance(referrer)["available"] == 100


def test_every_grant_records_the_program_version_that_produced_it(shop):
    member = shop.enroll()
    shop.buy(member, "10.00", "2026-01-02")
    use_program(shop, pending_days=3)
    shop.buy(member, "10.00", "2026-01-03")
    from domain.member import Member
    earned = [fact for fact in shop.ledger.events.get(shop.ledger.member(member["member_id"]).id)
              if isinstance(fact, Member.PointsEarned)]
    assert [fact.program_version for fact in earned] == [1, 2]
