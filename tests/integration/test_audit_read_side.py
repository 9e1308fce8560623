"""After a year with every kind of fact, projected by the real read models: the summary is
balanced, every member's last entry and timeline end equal its document, verify finds
nothing, and a read row or stored fact changed by hand is reported."""

from __future__ import annotations

import copy
from collections import Counter
from datetime import timedelta

import psycopg

from domain.rules import DEFAULT_PROGRAM
from projections.runner import catch_up, workers_for
from tally import audit
from tally.timeline import member_timeline
from tally.verify import verify_ledger
from tests.integration.ledgers import ACTOR, Shop, at

EVERY_FACT = {"Enrolled", "IdentityLinked", "IdentityUnlinked", "PointsEarned",
              "ReferralCredited", "ActivityRewarded", "PointsAdjusted", "PointsRedeemed",
              "PointsActivated", "PointsExpired", "PurchaseReturned", "TierChanged",
              "MemberAbsorbed", "MergedAway"}


def adjust(shop: Shop, member: dict, points: int, adjustment_id: str, on: str) -> None:
    shop.ledger.adjust_points(member_id=member["member_id"], adjustment_id=adjustment_id,
                              points=points, reason="support", ticket=None, occurred_at=at(on),
                              actor=ACTOR, request_hash=adjustment_id)


def a_mixed_year(shop: Shop) -> list[dict]:
    """Ann, Bob (referred by Ann) and Cat; pending days, a tier won and lost, a return into
    debt, adjustments both ways, Cat merged into Bob, then a tick a year on."""
    ledger = shop.ledger
    ledger.configure_program({**copy.deepcopy(DEFAULT_PROGRAM), "pending_days": 7}, ACTOR)
    ann = shop.enroll()
    bob, cat = shop.enroll(referrer_code=ann["referral_code"]), shop.enroll()
    ledger.link_identity(cat["member_id"], "email", "cat@example.cn", ACTOR)
    ledger.link_identity(cat["member_id"], "card", "C-1", ACTOR)
    ledger.unlink_identity(cat["member_id"], "email", "cat@example.cn", ACTOR)
    shop.buy(ann, "1200.00", "2026-01-02", transaction_id="T-A1")
    shop.buy(bob, "100.00", "2026-01-03")
    shop.check_in(ann, "2026-01-12")
    shop.redeem(ann, 300, "2026-01-13")
    adjust(shop, ann, 25, "J-1", "2026-01-14")
    shop.give_back("T-A1", "1000.00", "2026-01-20")
    shop.buy(cat, "60.00", "2026-02-01")
    adjust(shop, cat, -10, "J-2", "2026-02-10")
    ledger.merge(survivor_id=bob["member_id"], absorbed_id=cat["member_id"], merge_id="M-1",
                 reason="same person", occurred_at=at("2026-03-01"), actor=ACTOR,
                 request_hash="M-1")
    shop.buy(ann, "500.00", "2026-06-01")
    ledger.tick(at("2027-02-01"), shop.everyone)
    return [ann, bob, cat]


def projected(shop: Shop, url: str) -> None:
    catch_up(workers_for(shop.ledger, url))


def fact_types(shop: Shop, members: list[dict]) -> set[str]:
    return {event["type"] for member in members
            for event in member_timeline(shop.ledger, member["member_id"], limit=1000)["events"]}


def test_the_mixed_year_records_every_kind_of_fact(shop):
    assert fact_types(shop, a_mixed_year(shop)) == EVERY_FACT


def test_the_summary_after_every_kind_of_fact_is_balanced(shop, pool, clean_db):
    a_mixed_year(shop)
    projected(shop, clean_db)
    summary = audit.ledger_summary(pool, None, at("2027-02-01"))
    assert summary["balanced"] is True
    assert summary["members"] == 2
    assert all(summary[flow] > 0 for flow in ("issued", "redeemed", "expired", "clawed_back", "adjusted"))


def test_the_summary_as_of_just_before_the_merge_counts_all_three_members(shop, pool, clean_db):
    cat = a_mixed_year(shop)[2]
    projected(shop, clean_db)
    merged = member_timeline(shop.ledger, cat["member_id"])["events"][-1]["recorded_at"]
    before = audit.ledger_summary(pool, merged - timedelta(microseconds=1), at("2027-02-01"))
    assert (before["members"], before["balanced"]) == (3, True)


def test_the_summary_as_of_a_moment_before_any_enrolment_counts_no_one(shop, pool, clean_db):
    a_mixed_year(shop)
    projected(shop, clean_db)
    assert audit.ledger_summary(pool, at("2026-01-01"), at("2027-02-01"))["members"] == 0


def test_the_summary_equals_the_sum_of_the_member_documents(shop, pool, clean_db):
    members = a_mixed_year(shop)
    projected(shop, clean_db)
    summary = audit.ledger_summary(pool, None, at("2027-02-01"))
    documents = Counter()
    for member in members:
        documents.update({k: v for k, v in shop.balance(member).items() if k in ("available", "pending", "debt")})
    assert {name: summary[name] for name in ("available", "pending", "debt")} == {
        name: documents[name] for name in ("available", "pending", "debt")}


def test_each_members_last_ledger_entry_equals_its_document(shop, pool, clean_db):
    members = a_mixed_year(shop)
    projected(shop, clean_db)
    for member in members:
        last = audit.entries_page(pool, audit.EntryFilter(member_id=member["member_id"]), 1000)["entries"][-1]
        balance = shop.balance(member)
        assert (last["available_after"], last["pending_after"], last["debt_after"]) == (
            balance["available"], balance["pending"], balance["debt"])


def test_each_members_timeline_replayed_to_its_end_equals_its_document(shop):
    for member in a_mixed_year(shop):
        last = member_timeline(shop.ledger, member["member_id"], limit=1000)["events"][-1]
        balance = shop.balance(member)
        assert last["balance"] == {name: balance[name] for name in ("available", "pending", "debt")}


def test_a_caught_up_ledger_after_every_kind_of_fact_verifies_ok(shop, pool, clean_db):
    a_mixed_year(shop)
    projected(shop, clean_db)
    report = verify_ledger(shop.ledger, pool)
    assert (report["ok"], report["members_checked"], report["mismatches"]) == (True, 3, [])


def test_a_members_row_changed_by_hand_is_reported(shop, pool, clean_db):
    ann = a_mixed_year(shop)[0]
    projected(shop, clean_db)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("UPDATE members SET available = available + 7 WHERE member_id = %s",
                     (ann["member_id"],))
    found = verify_ledger(shop.ledger, pool)["mismatches"]
    assert [(m["member_id"], m["kind"], m["detail"].split(":")[0]) for m in found] == [
        (ann["member_id"], "members", "available")]


def test_a_deleted_ledger_entry_is_reported_at_its_version(shop, pool, clean_db):
    ann = a_mixed_year(shop)[0]
    projected(shop, clean_db)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("DELETE FROM ledger_entries WHERE entry_id = %s", (f"{ann['member_id']}:2",))
    found = verify_ledger(shop.ledger, pool)["mismatches"]
    assert [(m["member_id"], m["kind"], m["version"]) for m in found] == [
        (ann["member_id"], "ledger_entries", 2)]


def test_deleting_a_members_last_stored_fact_is_reported(shop, pool, clean_db):
    ann = a_mixed_year(shop)[0]
    projected(shop, clean_db)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("DELETE FROM ledger_events WHERE originator_id = %s AND originator_version = "
                     "(SELECT max(originator_version) FROM ledger_events WHERE originator_id = %s)",
                     (ann["member_id"], ann["member_id"]))
    found = verify_ledger(shop.ledger, pool)["mismatches"]
    assert {(m["member_id"], m["kind"]) for m in found} >= {(ann["member_id"], "members")}


def test_the_read_position_is_0_until_every_read_model_has_run(shop, pool, clean_db):
    shop.enroll()
    catch_up(workers_for(shop.ledger, clean_db)[:-1])
    assert audit.read_position(pool) == 0


def test_the_read_position_reaches_the_last_fact_once_every_read_model_caught_up(shop, pool, clean_db):
    shop.buy(shop.enroll(), "10.00", "2026-01-02")
    projected(shop, clean_db)
    assert audit.read_position(pool) == shop.ledger.recorder.max_notification_id()


def test_a_ledger_entrys_balance_changed_by_hand_is_reported_with_both_values(shop, pool, clean_db):
    ann = a_mixed_year(shop)[0]
    projected(shop, clean_db)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        (available,) = conn.execute(
            "UPDATE ledger_entries SET available_after = available_after + 5 WHERE entry_id = %s "
            "RETURNING available_after - 5", (f"{ann['member_id']}:2",)).fetchone()
    found = verify_ledger(shop.ledger, pool)["mismatches"]
    assert [(m["kind"], m["version"], m["detail"]) for m in found] == [
        ("ledger_entries", 2, f"available_after: facts say {available}, read model has {available + 5}")]
