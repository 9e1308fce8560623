"""Facts stored in the tagged form (every fact written before 2026-11-24) beside facts stored
with their typed fields named (tally/transcoder.py): one ledger holding both reads, replays,
sums up and verifies as one."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import psycopg

from tally import audit
from tally.timeline import member_timeline
from tally.transcoder import encode_tagged
from tally.verify import verify_ledger
from tests.integration.ledgers import Shop, at, open_ledger
from tests.integration.test_audit_read_side import a_mixed_year, projected


def stored_states(url: str) -> list[bytes]:
    with psycopg.connect(url) as conn:
        return [bytes(row[0]) for row in conn.execute(
            "SELECT state FROM ledger_events ORDER BY notification_id")]


def a_year_in_the_tagged_form_then_a_purchase_in_the_typed_one(shop: Shop) -> list[dict]:
    transcoder = shop.ledger.mapper.transcoder
    transcoder.encode = encode_tagged  # as every Tally before 2026-11-24 wrote
    try:
        members = a_mixed_year(shop)
    finally:
        del transcoder.encode
    shop.buy(members[0], "80.00", "2027-02-02")
    return members


def test_both_forms_are_in_the_store(shop, clean_db):
    a_year_in_the_tagged_form_then_a_purchase_in_the_typed_one(shop)
    typed = [b'"__types":' in state for state in stored_states(clean_db)]
    assert typed.count(False) > 30 and typed[-2:] == [True, True]  # the fact and its receipt


def test_every_fact_in_the_tagged_form_decodes_to_what_the_typed_form_restores(shop, clean_db):
    a_year_in_the_tagged_form_then_a_purchase_in_the_typed_one(shop)
    transcoder = shop.ledger.mapper.transcoder
    for state in stored_states(clean_db):
        fields = transcoder.decode(state)
        again = transcoder.decode(transcoder.encode(fields))
        assert again == fields
        assert {name: type(value) for name, value in again.items()} == {
            name: type(value) for name, value in fields.items()}


def test_members_read_cold_from_both_forms_equal_the_members_that_wrote_them(shop, clean_db):
    members = a_year_in_the_tagged_form_then_a_purchase_in_the_typed_one(shop)
    cold = open_ledger(clean_db)  # no member in memory: each replayed from the store
    try:
        for member in members[:2]:
            assert cold.document(cold.member(member["member_id"])) == \
                shop.ledger.document(shop.ledger.member(member["member_id"]))
        ann = member_timeline(cold, members[0]["member_id"], limit=1000)["events"]
        assert (ann[-1]["type"], ann[-1]["data"]["amount"]) == ("PointsEarned", Decimal("80.00"))
        assert ann[-1]["balance"] == {name: shop.balance(members[0])[name]
                                      for name in ("available", "pending", "debt")}
    finally:
        cold.close()


def test_a_ledger_holding_both_forms_verifies_and_sums_up_as_of_any_moment(shop, pool, clean_db):
    cat = a_year_in_the_tagged_form_then_a_purchase_in_the_typed_one(shop)[2]
    projected(shop, clean_db)
    report = verify_ledger(shop.ledger, pool)
    assert (report["ok"], report["members_checked"], report["mismatches"]) == (True, 3, [])
    merged = member_timeline(shop.ledger, cat["member_id"])["events"][-1]["recorded_at"]
    before = audit.ledger_summary(pool, merged - timedelta(microseconds=1), at("2027-02-03"))
    assert (before["members"], before["balanced"]) == (3, True)
