import pytest

from domain.errors import ReturnExceedsPurchase
from tests.unit.factories import ACTOR, PurchaseRecord, at, buy, enrolled, rules


def return_part(member, program, purchase, return_id, amount, on="2026-02-01"):
    from decimal import Decimal
    outcome = member.take_return(program, purchase, return_id, Decimal(amount), at(on), ACTOR)
    purchase.returned_now(amount, outcome)
    return outcome


def test_three_partial_returns_claw_back_33_33_and_34_of_100():
    program, member = rules(), enrolled()
    purchase = PurchaseRecord("100.00", buy(member, program, "100.00", "2026-01-02"))
    clawed = [return_part(member, program, purchase, f"R{i}", amount)["points_clawed_back"]
              for i, amount in enumerate(["33.33", "33.33", "33.34"])]
    assert clawed == [33, 33, 34]
    assert member.available == 0


def test_returning_more_than_the_purchase_in_total_is_refused_and_records_nothing():
    program, member = rules(), enrolled()
    purchase = PurchaseRecord("100.00", buy(member, program, "100.00", "2026-01-02"))
    return_part(member, program, purchase, "R1", "60.00")
    version = member.version
    with pytest.raises(ReturnExceedsPurchase):
        return_part(member, program, purchase, "R2", "40.01")
    assert member.version == version


def test_a_full_return_after_spending_leaves_the_rest_as_debt_under_unlimited():
    program, member = rules(), enrolled()
    purchase = PurchaseRecord("100.00", buy(member, program, "100.00", "2026-01-02"))
    member.redeem("X1", 80, None, at("2026-01-03"), ACTOR)
    outcome = return_part(member, program, purchase, "R1", "100.00")
    assert outcome == {"points_clawed_back": 100, "points_forgiven": 0, "debt_created": 80, "owed": 100}
    assert (member.available, member.debt) == (0, 80)


def test_new_points_pay_debt_first():
    program, member = rules(), enrolled()
    purchase = PurchaseRecord("100.00", buy(member, program, "100.00", "2026-01-02"))
    member.redeem("X1", 80, None, at("2026-01-03"), ACTOR)
    return_part(member, program, purchase, "R1", "100.00")
    buy(member, program, "50.00", "2026-02-02", transaction_id="T-2")
    assert (member.available, member.debt) == (0, 30)


def test_within_balance_forgives_what_the_balance_cannot_pay():
    program, member = rules(return_policy="within_balance"), enrolled()
    purchase = PurchaseRecord("100.00", buy(member, program, "100.00", "2026-01-02"))
    member.redeem("X1", 80, None, at("2026-01-03"), ACTOR)
    outcome = return_part(member, program, purchase, "R1", "100.00")
    assert (outcome["points_clawed_back"], outcome["points_forgiven"]) == (20, 80)
    assert (member.available, member.debt) == (0, 0)


def test_a_return_takes_from_other_lots_once_its_own_lot_is_spent():
    program, member = rules(), enrolled()
    purchase = PurchaseRecord("100.00", buy(member, program, "100.00", "2026-01-02"))
    buy(member, program, "30.00", "2026-01-05", transaction_id="T-0")
    member.redeem("X1", 90, None, at("2026-01-06"), ACTOR)  # all from T-1's lot: it expires first
    outcome = return_part(member, program, purchase, "R1", "40.00")
    assert outcome == {"points_clawed_back": 40, "points_forgiven": 0, "debt_created": 0, "owed": 40}
    assert (member.available, member.debt) == (0, 0)


def test_only_pending_claws_back_the_purchases_own_pending_points_and_forgives_the_rest():
    program, member = rules(return_policy="only_pending", pending_days=14), enrolled()
    buy(member, program, "40.00", "2026-01-01", transaction_id="T-0")
    member.catch_up(program, at("2026-01-20"))
    purchase = PurchaseRecord("100.00", buy(member, program, "100.00", "2026-01-21"))
    outcome = return_part(member, program, purchase, "R1", "100.00", on="2026-01-22")
    assert (outcome["points_clawed_back"], outcome["points_forgiven"]) == (100, 0)
    member.catch_up(program, at("2026-02-10"))
    purchase2 = PurchaseRecord("10.00", buy(member, program, "10.00", "2026-02-10", "T-2"), "T-2")
    member.catch_up(program, at("2026-02-25"))
    outcome = return_part(member, program, purchase2, "R2", "10.00", on="2026-02-26")
    assert (outcome["points_clawed_back"], outcome["points_forgiven"]) == (0, 10)
    assert (member.available, member.debt) == (50, 0)


def test_a_return_reduces_qualifying_spend_but_never_downgrades_at_once():
    program, member = rules(), enrolled()
    purchase = PurchaseRecord("1200.00", buy(member, program, "1200.00", "2026-01-02"))
    return_part(member, program, purchase, "R1", "1200.00")
    assert member.tier == "silver"
    from domain.tiers import qualifying_spend
    assert qualifying_spend(member.spend, at("2026-02-02"), 365) == 0
