"""The worked example of the README's "How points work", step by step."""

from decimal import Decimal

from domain.member import Member
from tests.unit.factories import ACTOR, PurchaseRecord, at, buy, enrolled, rules


def test_the_readme_worked_example_ends_in_base_with_575_points_of_debt():
    program, member = rules(), enrolled(on="2026-01-01")
    big = PurchaseRecord("1200.00", buy(member, program, "1200.00", "2026-01-02", "T-1"), "T-1")
    assert (member.available, member.tier) == (1200, "silver")
    assert buy(member, program, "100.00", "2026-01-03", "T-2")["points_earned"] == 125
    member.redeem("R-1", 1325, None, at("2026-01-04"), ACTOR)
    outcome = member.take_return(program, big, "RET-1", Decimal("1200.00"), at("2026-01-05"), ACTOR)
    assert (outcome["debt_created"], member.available, member.debt, member.tier) == (1200, 0, 1200, "silver")
    assert buy(member, program, "500.00", "2026-01-06", "T-3")["points_earned"] == 625
    assert (member.available, member.debt) == (0, 575)
    member.collect_events()
    member.catch_up(program, at("2027-01-02"))
    change = [f for f in member.collect_events() if isinstance(f, Member.TierChanged)][-1]
    assert (change.to_tier, change.reason, change.qualifying_spend) == ("base", "downgrade", Decimal("-600.00"))
