from decimal import Decimal

from domain.member import Member
from tests.unit.factories import at, buy, enrolled, rules


def test_a_1200_purchase_upgrades_a_base_member_to_silver_at_once():
    program, member = rules(), enrolled()
    buy(member, program, "1200.00", "2026-01-02")
    assert (member.tier, member.tier_expires_at) == ("silver", at("2027-01-02"))


def test_a_single_6000_purchase_goes_straight_to_gold():
    program, member = rules(), enrolled()
    buy(member, program, "6000.00", "2026-01-02")
    changes = [f for f in member.collect_events() if isinstance(f, Member.TierChanged)]
    assert [(c.from_tier, c.to_tier, c.reason) for c in changes] == [("base", "gold", "upgrade")]


def test_the_upgrade_applies_its_multiplier_from_the_next_purchase():
    program, member = rules(), enrolled()
    assert buy(member, program, "1000.00", "2026-01-02")["points_earned"] == 1000
    assert buy(member, program, "100.00", "2026-01-03", "T-2")["points_earned"] == 125


def test_at_term_end_with_spend_still_met_the_tier_is_renewed():
    program, member = rules(), enrolled()
    buy(member, program, "1200.00", "2026-01-02")
    buy(member, program, "1000.00", "2026-12-01", "T-2")
    member.catch_up(program, at("2027-01-02"))
    assert (member.tier, member.tier_expires_at) == ("silver", at("2028-01-02"))
    renewal = [f for f in member.collect_events() if isinstance(f, Member.TierChanged)][-1]
    assert (renewal.reason, renewal.qualifying_spend) == ("renewed", Decimal("1000.00"))


def test_at_term_end_without_the_spend_one_down_drops_one_tier():
    program, member = rules(), enrolled()
    buy(member, program, "21000.00", "2026-01-02")
    assert member.tier == "platinum"
    member.catch_up(program, at("2027-01-02"))
    assert (member.tier, member.tier_expires_at) == ("gold", at("2028-01-02"))


def test_at_term_end_requalify_drops_to_the_highest_tier_still_met():
    program, member = rules(downgrade="requalify"), enrolled()
    buy(member, program, "21000.00", "2026-01-02")
    member.catch_up(program, at("2027-01-02"))
    assert (member.tier, member.tier_expires_at) == ("base", None)


def test_the_base_tier_never_expires():
    program, member = rules(), enrolled()
    buy(member, program, "10.00", "2026-01-02")
    assert member.tier_expires_at is None
    assert member.next_due() == (at("2027-01-02"), 1, member.id.hex[:12] + "-2")
