from uuid import UUID

import pytest

from domain.errors import InvalidInput, MemberMerged
from tests.unit.factories import ACTOR, PurchaseRecord, at, buy, enrolled, rules

OTHER_ID = UUID("33333333-3333-4333-8333-333333333333")


def test_the_survivor_takes_the_absorbed_members_lots_with_their_expiry_dates():
    program, survivor, absorbed = rules(), enrolled(), enrolled(member_id=OTHER_ID)
    buy(survivor, program, "100.00", "2026-01-02")
    buy(absorbed, program, "40.00", "2026-03-05")
    survivor.absorb(program, absorbed, "M-1", "same person", at("2026-04-01"), ACTOR)
    assert survivor.available == 140
    moved = survivor.lots[OTHER_ID.hex[:12] + "-2"]
    assert (moved.remaining, moved.expires_at) == (40, at("2027-03-05"))
    assert (absorbed.status, absorbed.merged_into, absorbed.available) == ("merged", str(survivor.id), 0)


def test_debt_and_available_points_net_out_in_a_merge():
    program, survivor, absorbed = rules(), enrolled(), enrolled(member_id=OTHER_ID)
    purchase = PurchaseRecord("100.00", buy(absorbed, program, "100.00", "2026-01-02"))
    absorbed.redeem("X1", 100, None, at("2026-01-03"), ACTOR)
    from decimal import Decimal
    absorbed.take_return(program, purchase, "R1", Decimal("30.00"), at("2026-01-04"), ACTOR)
    buy(survivor, program, "50.00", "2026-01-05")
    survivor.absorb(program, absorbed, "M-1", "same person", at("2026-02-01"), ACTOR)
    assert (survivor.available, survivor.debt) == (20, 0)


def test_the_survivor_keeps_the_higher_tier_with_its_term_end():
    program, survivor, absorbed = rules(), enrolled(), enrolled(member_id=OTHER_ID)
    buy(survivor, program, "1200.00", "2026-01-02")
    buy(absorbed, program, "6000.00", "2026-02-03")
    survivor.absorb(program, absorbed, "M-1", "same person", at("2026-03-01"), ACTOR)
    assert (survivor.tier, survivor.tier_expires_at) == ("gold", at("2027-02-03"))


def test_the_qualifying_spend_history_moves_to_the_survivor():
    program, survivor, absorbed = rules(), enrolled(), enrolled(member_id=OTHER_ID)
    buy(survivor, program, "600.00", "2026-01-02")
    buy(absorbed, program, "500.00", "2026-02-03")
    survivor.absorb(program, absorbed, "M-1", "same person", at("2026-03-01"), ACTOR)
    buy(survivor, program, "1.00", "2026-03-02", "T-2")
    assert survivor.tier == "silver"


def test_a_member_cannot_absorb_itself():
    member = enrolled()
    with pytest.raises(InvalidInput):
        member.absorb(rules(), member, "M-1", "oops", at("2026-03-01"), ACTOR)


def test_an_already_merged_member_cannot_be_absorbed_again():
    program, a, b = rules(), enrolled(), enrolled(member_id=OTHER_ID)
    a.absorb(program, b, "M-1", "same", at("2026-03-01"), ACTOR)
    with pytest.raises(InvalidInput):
        enrolled(member_id=UUID(int=7)).absorb(program, b, "M-2", "again", at("2026-03-02"), ACTOR)


def test_a_merged_member_refuses_writes_naming_the_survivor():
    program, a, b = rules(), enrolled(), enrolled(member_id=OTHER_ID)
    a.absorb(program, b, "M-1", "same", at("2026-03-01"), ACTOR)
    with pytest.raises(MemberMerged) as refusal:
        buy(b, program, "1.00", "2026-03-02")
    assert refusal.value.merged_into == str(a.id)
