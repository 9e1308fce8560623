import pytest

from domain.chain import fact_hash
from domain.facts import new_fact
from tests.unit.factories import ACTOR, at, buy, enrolled, rules


def test_each_fact_names_the_hash_of_the_one_before_it():
    member = enrolled()
    buy(member, rules(), "10.00", "2026-01-02")
    member.redeem("X1", 5, None, at("2026-01-03"), ACTOR)
    facts = member.collect_events()
    assert facts[0].prev_hash == ""
    assert [f.prev_hash for f in facts[1:]] == [f.fact_hash for f in facts[:-1]]
    assert member.chain_head == facts[-1].fact_hash


def test_a_facts_hash_is_recomputed_from_its_stored_fields_and_changes_with_them():
    member = enrolled()
    buy(member, rules(), "10.00", "2026-01-02")
    earned = member.collect_events()[1]
    state = dict(vars(earned))
    assert fact_hash("PointsEarned", member.id, 2, state) == earned.fact_hash
    state["points"] = 11
    assert fact_hash("PointsEarned", member.id, 2, state) != earned.fact_hash


def test_a_copied_member_changes_without_changing_the_original():
    import copy

    program, member = rules(), enrolled()
    buy(member, program, "10.00", "2026-01-02")
    member.record_activity(program, "A1", "check_in", at("2026-01-02"), ACTOR)
    member.collect_events()
    twin = copy.deepcopy(member)
    buy(twin, program, "20.00", "2026-01-03", "T-2")
    twin.redeem("X1", 15, None, at("2026-01-03"), ACTOR)
    twin.record_activity(program, "A2", "check_in", at("2026-01-05"), ACTOR)
    assert (member.available, len(member.spend), member.activity_days) == (15, 1, {"check_in": {"2026-01-02": 1}})
    assert (twin.available, len(twin.spend), len(twin.activity_days["check_in"])) == (25, 2, 2)


def test_a_fact_is_built_as_its_dataclass_would_build_it_field_for_field_and_in_order():
    member = enrolled()
    buy(member, rules(), "10.00", "2026-01-02")
    member.redeem("X1", 5, None, at("2026-01-03"), ACTOR)
    for fact in member.collect_events():
        by_init = type(fact)(**vars(fact))
        assert list(vars(by_init).items()) == list(vars(fact).items())
        assert by_init == fact


def test_a_fact_with_a_field_missing_or_unknown_or_a_bad_id_is_refused_as_init_refuses_it():
    member = enrolled()
    buy(member, rules(), "10.00", "2026-01-02")
    fields = dict(vars(member.collect_events()[1]))
    earned = member.PointsEarned
    assert new_fact(earned, fields) == earned(**fields)
    for changed, message in [({k: v for k, v in fields.items() if k != "points"}, "needs the field 'points'"),
                             ({**fields, "bonus": 1}, "has no field bonus"),
                             ({**fields, "originator_id": str(member.id)}, "non-UUID originator_id")]:
        with pytest.raises(TypeError, match=message):
            new_fact(earned, changed)
