"""The ledger movement and the sentence of every kind of fact (domain/statement.py)."""

from decimal import Decimal
from uuid import UUID

from domain.statement import Movement, movement, summary
from tests.unit.factories import ACTOR, PurchaseRecord, at, buy, enrolled, rules

OTHER_ID = UUID("33333333-3333-4333-8333-333333333333")
LOT_2 = "111111111111-2"


def last_fact(member):
    return member.collect_events()[-1]


def deltas(found: Movement) -> tuple:
    return (found.kind, found.points, found.available, found.pending, found.debt)


def returned(member, program, purchase, amount, return_id="R1", on="2026-02-01"):
    outcome = member.take_return(program, purchase, return_id, Decimal(amount), at(on), ACTOR)
    purchase.returned_now(amount, outcome)
    return last_fact(member)


def spent_into_debt(member, program, debt):
    """Buys 100, redeems 100, returns enough to owe `debt` points."""
    purchase = PurchaseRecord("100.00", buy(member, program, "100.00", "2026-01-02"))
    member.redeem("X1", 100, None, at("2026-01-03"), ACTOR)
    returned(member, program, purchase, f"{debt}.00", on="2026-01-04")


def test_enrolment_moves_no_points():
    assert movement(last_fact(enrolled())) is None


def test_linking_and_unlinking_an_identity_move_no_points():
    member = enrolled()
    member.link_identity("email", "a@b.cn", at("2026-01-02"), ACTOR)
    member.unlink_identity("email", "a@b.cn", at("2026-01-03"), ACTOR)
    linked, unlinked = member.collect_events()[1:]
    assert (movement(linked), movement(unlinked)) == (None, None)


def test_a_purchase_of_120_earns_120_available_points_referenced_by_channel_and_transaction():
    member = enrolled()
    buy(member, rules(), "120.00", "2026-01-02", transaction_id="T-000123")
    found = movement(last_fact(member))
    assert deltas(found) == ("earn", 120, 120, 0, 0)
    assert (found.reference_type, found.reference_id, found.program_version) == (
        "transaction", "pos/T-000123", 1)


def test_a_purchase_under_pending_days_earns_pending_points():
    member = enrolled()
    buy(member, rules(pending_days=14), "80.00", "2026-01-02")
    assert deltas(movement(last_fact(member))) == ("earn", 80, 0, 80, 0)


def test_a_purchase_that_pays_30_of_debt_moves_50_net_with_20_available():
    program, member = rules(), enrolled()
    spent_into_debt(member, program, 30)
    buy(member, program, "50.00", "2026-01-05", transaction_id="T-2")
    assert deltas(movement(last_fact(member))) == ("earn", 50, 20, 0, -30)


def test_activating_80_pending_points_moves_them_to_available_with_no_net_change():
    program, member = rules(pending_days=14), enrolled()
    buy(member, program, "80.00", "2026-01-02")
    member.catch_up(program, at("2026-01-16"))
    found = movement(last_fact(member))
    assert deltas(found) == ("activate", 0, 80, -80, 0)
    assert (found.reference_type, found.reference_id) == ("lot", LOT_2)


def test_expiring_a_lot_of_40_takes_40_available_points():
    program, member = rules(expiry={"months": 1}), enrolled()
    buy(member, program, "40.00", "2026-01-02")
    member.catch_up(program, at("2026-02-02"))
    assert deltas(movement(last_fact(member))) == ("expire", -40, -40, 0, 0)


def test_redeeming_70_points_takes_70_available():
    member = enrolled()
    buy(member, rules(), "100.00", "2026-01-02")
    member.redeem("X-9", 70, "mug", at("2026-01-03"), ACTOR)
    found = movement(last_fact(member))
    assert deltas(found) == ("redeem", -70, -70, 0, 0)
    assert (found.reference_type, found.reference_id) == ("redemption", "X-9")


def test_a_positive_adjustment_of_25_adds_25_available():
    member = enrolled()
    member.adjust(rules(), "ADJ-1", 25, "goodwill", None, at("2026-01-02"), ACTOR)
    found = movement(last_fact(member))
    assert deltas(found) == ("adjust", 25, 25, 0, 0)
    assert (found.reference_type, found.reference_id) == ("adjustment", "ADJ-1")


def test_a_negative_adjustment_of_15_takes_15_available():
    program, member = rules(), enrolled()
    buy(member, program, "100.00", "2026-01-02")
    member.adjust(program, "ADJ-2", -15, "double post", "T-77", at("2026-01-03"), ACTOR)
    assert deltas(movement(last_fact(member))) == ("adjust", -15, -15, 0, 0)


def test_a_check_in_earns_5_available_points_as_an_activity():
    member = enrolled()
    member.record_activity(rules(), "A-1", "check_in", at("2026-01-02"), ACTOR)
    found = movement(last_fact(member))
    assert deltas(found) == ("activity", 5, 5, 0, 0)
    assert (found.reference_type, found.reference_id) == ("activity", "A-1")


def test_a_referrer_credit_earns_100_points_referencing_the_referee():
    member = enrolled()
    member.credit_referral(rules(), "referrer", str(OTHER_ID), at("2026-01-02"), ACTOR)
    found = movement(last_fact(member))
    assert deltas(found) == ("referral", 100, 100, 0, 0)
    assert (found.reference_type, found.reference_id) == ("referral", str(OTHER_ID))


def test_a_full_return_after_spending_80_claws_back_20_and_creates_80_debt():
    program, member = rules(), enrolled()
    purchase = PurchaseRecord("100.00", buy(member, program, "100.00", "2026-01-02", "T-5"), "T-5")
    member.redeem("X1", 80, None, at("2026-01-03"), ACTOR)
    found = movement(returned(member, program, purchase, "100.00"))
    assert deltas(found) == ("clawback", -100, -20, 0, 80)
    assert (found.forgiven, found.reference_type, found.reference_id) == (0, "return", "pos/T-5/R1")


def test_a_return_under_within_balance_claws_back_20_and_forgives_80():
    program, member = rules(return_policy="within_balance"), enrolled()
    purchase = PurchaseRecord("100.00", buy(member, program, "100.00", "2026-01-02"))
    member.redeem("X1", 80, None, at("2026-01-03"), ACTOR)
    found = movement(returned(member, program, purchase, "100.00"))
    assert (deltas(found), found.forgiven) == (("clawback", -20, -20, 0, 0), 80)


def test_a_return_of_a_pending_purchase_takes_its_pending_points():
    program, member = rules(pending_days=14), enrolled()
    purchase = PurchaseRecord("100.00", buy(member, program, "100.00", "2026-01-02"))
    found = movement(returned(member, program, purchase, "40.00", on="2026-01-05"))
    assert deltas(found) == ("clawback", -40, 0, -40, 0)


def test_a_tier_change_moves_no_points():
    member = enrolled()
    buy(member, rules(), "1000.00", "2026-01-02")
    assert movement(last_fact(member)) is None


def test_absorbing_a_member_with_60_points_and_30_debt_of_its_own_moves_30_in():
    program, survivor, absorbed = rules(), enrolled(), enrolled(member_id=OTHER_ID)
    spent_into_debt(survivor, program, 30)
    buy(absorbed, program, "60.00", "2026-01-05")
    survivor.collect_events()
    survivor.absorb(program, absorbed, "M-1", "same person", at("2026-02-01"), ACTOR)
    found = movement(last_fact(survivor))
    assert deltas(found) == ("merge_in", 60, 30, 0, -30)
    assert (found.reference_type, found.reference_id) == ("merge", "M-1")


def test_merging_away_a_member_with_60_available_and_10_pending_moves_70_out():
    program, survivor, absorbed = rules(pending_days=14), enrolled(), enrolled(member_id=OTHER_ID)
    buy(absorbed, program, "60.00", "2026-01-02")
    absorbed.catch_up(program, at("2026-01-16"))
    buy(absorbed, program, "10.00", "2026-01-20", transaction_id="T-2")
    survivor.absorb(program, absorbed, "M-1", "same person", at("2026-01-21"), ACTOR)
    assert deltas(movement(last_fact(absorbed))) == ("merge_out", -70, -60, -10, 0)


def test_absorbing_moves_in_exactly_what_merging_away_moves_out():
    program, survivor, absorbed = rules(), enrolled(), enrolled(member_id=OTHER_ID)
    spent_into_debt(absorbed, program, 30)
    survivor.absorb(program, absorbed, "M-1", "same person", at("2026-02-01"), ACTOR)
    merged_in, merged_out = movement(last_fact(survivor)), movement(last_fact(absorbed))
    assert (merged_in.points, merged_out.points) == (-30, 30)


def test_an_earning_reads_as_points_for_the_transaction_with_amount_and_tier():
    member = enrolled()
    buy(member, rules(), "120.00", "2026-01-02", transaction_id="T-000123")
    assert summary(member.collect_events()[1]) == (
        "Earned 120 points for pos/T-000123 (120.00 CNY, base ×1.0)")


def test_a_return_into_debt_reads_with_what_is_owed():
    program, member = rules(), enrolled()
    purchase = PurchaseRecord("100.00", buy(member, program, "100.00", "2026-01-02", "T-5"), "T-5")
    member.redeem("X1", 80, None, at("2026-01-03"), ACTOR)
    assert summary(returned(member, program, purchase, "100.00")) == (
        "Return R1 of 100.00 on pos/T-5: 20 points clawed back, 80 owed as debt")
