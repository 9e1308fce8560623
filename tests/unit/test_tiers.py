from decimal import Decimal

from eventsourcing.domain import Snapshot

from domain.member import Member
from domain.spend import SpendHistory
from domain.tiers import qualifying_spend
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


def test_a_late_purchase_counts_in_the_window_of_when_it_occurred():
    program, member = rules(), enrolled()
    buy(member, program, "300.00", "2026-03-01")
    buy(member, program, "400.00", "2026-05-01", "T-2")
    buy(member, program, "500.00", "2026-02-01", "T-3")  # a till that was offline since February
    assert member.spend.moments == [at("2026-02-01"), at("2026-03-01"), at("2026-05-01")]
    assert qualifying_spend(member.spend, at("2027-02-01"), 365) == Decimal("700.00")
    assert qualifying_spend(member.spend, at("2026-04-30"), 365) == Decimal("800.00")


def test_a_spend_window_excludes_its_start_and_includes_its_end():
    history = SpendHistory.of([(at("2026-01-01"), Decimal("10.00")),
                               (at("2026-01-03"), Decimal("-4.00")),
                               (at("2026-01-02"), Decimal("5.00"))])
    assert history.within(at("2026-01-01"), at("2026-01-02")) == Decimal("5.00")
    assert history.within(at("2025-12-31"), at("2026-01-03")) == Decimal("11.00")
    assert history.within(at("2026-01-03"), at("2026-02-01")) == Decimal("0.00")


def test_a_snapshot_of_version_1_with_spend_as_pairs_is_upcast_to_a_history_in_time_order():
    program, member = rules(), enrolled()
    buy(member, program, "300.00", "2026-03-01")
    buy(member, program, "500.00", "2026-02-01", "T-2")
    snapshot = Snapshot.take(member)
    assert snapshot.state["class_version"] == 2
    older = {**snapshot.state, "spend": [[at("2026-03-01"), Decimal("300.00")],
                                         [at("2026-02-01"), Decimal("500.00")]]}
    del older["class_version"]
    restored = Snapshot(originator_id=member.id, originator_version=member.version,
                        timestamp=snapshot.timestamp, topic=snapshot.topic, state=older).mutate(None)
    assert (restored.spend.moments, restored.spend.amounts) == (
        [at("2026-02-01"), at("2026-03-01")], [Decimal("500.00"), Decimal("300.00")])
    assert qualifying_spend(restored.spend, at("2026-12-31"), 365) == Decimal("800.00")


def test_a_late_purchase_that_lifts_the_latest_window_to_a_tier_upgrades_at_once():
    program, member = rules(), enrolled()
    buy(member, program, "900.00", "2026-03-05")
    buy(member, program, "200.00", "2026-03-03", "T-2")  # a till that was offline uploads it
    assert (member.tier, member.tier_since, member.tier_expires_at) == (
        "silver", at("2026-03-03"), at("2027-03-03"))
    upgrade = [f for f in member.collect_events() if isinstance(f, Member.TierChanged)][-1]
    assert (upgrade.reason, upgrade.qualifying_spend) == ("upgrade", Decimal("1100.00"))


def test_a_purchase_too_old_for_the_latest_window_is_judged_on_its_own_window_only():
    program, member = rules(), enrolled("2024-01-01")
    buy(member, program, "900.00", "2026-03-05")
    buy(member, program, "200.00", "2025-01-03", "T-2")  # outside the year ending 2026-03-05
    assert member.tier == "base"


def test_spend_windows_stay_right_as_amounts_arrive_late_and_early():
    history = SpendHistory()
    amounts = [("2026-01-05", "10.00"), ("2026-01-09", "20.00"), ("2026-01-02", "5.00"),
               ("2026-01-09", "-4.00"), ("2026-01-12", "7.50"), ("2026-01-01", "1.00")]
    for number, (day, amount) in enumerate(amounts):
        history.add(at(day), Decimal(amount))
        copy = history.copy()
        arrived = [(at(d), Decimal(a)) for d, a in amounts[:number + 1]]
        for start, end in [("2025-12-31", "2026-01-31"), ("2026-01-02", "2026-01-09"),
                           ("2026-01-05", "2026-01-05"), ("2026-01-09", "2026-01-12")]:
            expected = sum((a for when, a in arrived if at(start) < when <= at(end)), Decimal("0.00"))
            assert history.within(at(start), at(end)) == expected
            assert copy.within(at(start), at(end)) == expected
    assert history.within(at("2025-12-31"), at("2026-01-31")) == Decimal("39.50")
    assert history.within(at("2026-01-02"), at("2026-01-09")) == Decimal("26.00")
