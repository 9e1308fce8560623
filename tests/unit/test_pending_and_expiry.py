from domain.member import Member
from tests.unit.factories import at, buy, enrolled, rules


def facts_of(member, kind):
    return [fact for fact in member.collect_events() if isinstance(fact, kind)]


def test_points_stay_pending_until_day_14_and_activate_when_it_falls_due():
    program, member = rules(pending_days=14), enrolled()
    result = buy(member, program, "100.00", "2026-03-01")
    assert result["status"] == "pending" and result["available_at"] == at("2026-03-15")
    assert member.catch_up(program, at("2026-03-14T23:59")) == 0
    assert (member.pending, member.available) == (100, 0)
    assert member.catch_up(program, at("2026-03-15")) == 1
    assert (member.pending, member.available) == (0, 100)
    assert member.catch_up(program, at("2026-03-16")) == 0


def test_points_expire_twelve_months_after_they_become_available():
    program, member = rules(pending_days=14), enrolled()
    result = buy(member, program, "100.00", "2026-03-01")
    assert result["expires_at"] == at("2027-03-15")
    member.catch_up(program, at("2027-03-14"))
    assert member.available == 100
    member.catch_up(program, at("2027-03-15"))
    assert (member.available, member.expired) == (0, 100)


def test_points_earned_on_31_january_with_one_month_expiry_expire_on_28_february():
    program, member = rules(expiry={"months": 1}), enrolled()
    assert buy(member, program, "10.00", "2027-01-31")["expires_at"] == at("2027-02-28")


def test_points_never_expire_when_the_program_says_so():
    program, member = rules(expiry={"months": None}), enrolled()
    assert buy(member, program, "10.00", "2026-01-31")["expires_at"] is None
    member.catch_up(program, at("2036-01-01"))
    assert member.available == 10


def test_time_driven_facts_carry_the_business_time_they_fell_due():
    program, member = rules(pending_days=14), enrolled()
    buy(member, program, "100.00", "2026-03-01")
    member.collect_events()
    member.catch_up(program, at("2027-06-01"))
    activated = facts_of(member, Member.PointsActivated)
    assert [fact.occurred_at for fact in activated] == [at("2026-03-15")]


def test_redemption_draws_from_the_lots_that_expire_soonest():
    program, member = rules(), enrolled()
    buy(member, program, "30.00", "2026-02-01", transaction_id="T-late")
    buy(member, program, "20.00", "2026-01-01", transaction_id="T-early")
    drawn = member.redeem("X1", 25, None, at("2026-03-01"), {"name": "t"})
    early, late = member.id.hex[:12] + "-3", member.id.hex[:12] + "-2"
    assert drawn == [{"lot_id": early, "points": 20}, {"lot_id": late, "points": 5}]


def replayed(member: Member) -> Member:
    """The member folded afresh from its facts, with nothing remembered."""
    fresh = None
    for fact in member._pending_events:
        fresh = fact.mutate(fresh)
    return fresh


def test_the_next_timer_follows_purchases_activations_and_late_purchases():
    program, member = rules(pending_days=14), enrolled()
    timers = []
    buy(member, program, "100.00", "2026-03-01", "T-1")  # pending until 15 March
    timers.append(member.earliest_timer())
    buy(member, program, "100.00", "2026-03-05", "T-2")  # until 19 March: the 15th still first
    timers.append(member.earliest_timer())
    member.catch_up(program, at("2026-03-15"))  # T-1 activates: next is T-2's activation
    timers.append(member.earliest_timer())
    buy(member, program, "100.00", "2026-02-20", "T-3")  # late from a till: pending until 6 March
    timers.append(member.earliest_timer())
    assert timers == [at("2026-03-15"), at("2026-03-15"), at("2026-03-19"), at("2026-03-06")]
    assert replayed(member).earliest_timer() == at("2026-03-06")
