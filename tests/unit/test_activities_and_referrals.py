import pytest

from domain.errors import ActivityLimitReached, UnknownActivity
from tests.unit.factories import ACTOR, at, buy, enrolled, rules


def test_two_check_ins_on_the_same_shanghai_day_are_refused_the_second_time():
    program, member = rules(), enrolled()
    member.record_activity(program, "A1", "check_in", at("2026-11-21T16:30"), ACTOR)
    with pytest.raises(ActivityLimitReached):
        member.record_activity(program, "A2", "check_in", at("2026-11-22T15:00"), ACTOR)
    assert member.available == 5


def test_check_ins_on_different_shanghai_days_of_the_same_utc_day_both_count():
    program, member = rules(), enrolled()
    member.record_activity(program, "A1", "check_in", at("2026-11-22T15:00"), ACTOR)
    member.record_activity(program, "A2", "check_in", at("2026-11-22T16:30"), ACTOR)
    assert member.available == 10


def test_a_lifetime_limit_counts_ever():
    program, member = rules(), enrolled()
    member.record_activity(program, "A1", "profile_completed", at("2026-01-01"), ACTOR)
    with pytest.raises(ActivityLimitReached):
        member.record_activity(program, "A2", "profile_completed", at("2027-06-01"), ACTOR)


def test_an_activity_the_program_does_not_define_is_refused():
    with pytest.raises(UnknownActivity):
        enrolled().record_activity(rules(), "A1", "dance", at("2026-01-01"), ACTOR)


def test_a_referee_awaits_credit_until_the_first_purchase_only():
    program = rules()
    member = enrolled(referrer_id="22222222-2222-4222-8222-222222222222")
    assert member.awaits_referral_credit
    buy(member, program, "10.00", "2026-01-02")
    member.credit_referral(program, "referee", "22222222-2222-4222-8222-222222222222",
                           at("2026-01-02"), ACTOR)
    assert not member.awaits_referral_credit
    assert member.available == 60
