"""A member's timeline replays its own facts from the event store with running balances."""

from __future__ import annotations

from datetime import datetime, timezone
from uuid import UUID

import psycopg
import pytest

from domain.errors import InvalidInput, MemberNotFound
from domain.guards import Purchase
from projections.runner import catch_up, workers_for
from tally.history import projected_balance
from tally.timeline import member_timeline
from tests.integration.ledgers import ACTOR, Shop


def a_busy_member(shop: Shop) -> dict:
    """Earns 120, redeems 50, returns 100 of the 120 (30 becomes debt), checks in (pays 5)."""
    member = shop.enroll()
    shop.buy(member, "120.00", "2026-01-02", transaction_id="T-1")
    shop.redeem(member, 50, "2026-01-03")
    shop.give_back("T-1", "100.00", "2026-01-04")
    shop.check_in(member, "2026-01-05")
    return member


def test_each_fact_appears_with_its_type_and_signed_points(shop):
    member = a_busy_member(shop)
    events = member_timeline(shop.ledger, member["member_id"])["events"]
    assert [(e["version"], e["type"], e["points_delta"]) for e in events] == [
        (1, "Enrolled", 0), (2, "PointsEarned", 120), (3, "PointsRedeemed", -50),
        (4, "PurchaseReturned", -100), (5, "ActivityRewarded", 5)]


def test_each_fact_carries_the_running_balance_after_it(shop):
    member = a_busy_member(shop)
    events = member_timeline(shop.ledger, member["member_id"])["events"]
    assert [tuple(e["balance"].values()) for e in events] == [
        (0, 0, 0), (120, 0, 0), (70, 0, 0), (0, 0, 30), (0, 0, 25)]


def test_replaying_the_timeline_to_its_end_gives_the_member_documents_balance(shop):
    member = a_busy_member(shop)
    shop.buy(member, "300.00", "2026-01-06")
    last = member_timeline(shop.ledger, member["member_id"])["events"][-1]
    balance = shop.balance(member)
    assert last["balance"] == {name: balance[name] for name in ("available", "pending", "debt")}


def test_a_fact_reads_as_one_sentence(shop):
    member = a_busy_member(shop)
    earned = member_timeline(shop.ledger, member["member_id"])["events"][1]
    assert earned["summary"] == "Earned 120 points for pos/T-1 (120.00 CNY, base ×1.0)"


def test_a_facts_data_holds_its_own_fields_with_its_lot_as_an_object(shop):
    member = a_busy_member(shop)
    data = member_timeline(shop.ledger, member["member_id"])["events"][1]["data"]
    assert (data["transaction_id"], data["points"], data["lot"]["remaining"]) == ("T-1", 120, 120)
    assert {"prev_hash", "fact_hash"} <= data.keys() and "timestamp" not in data


def test_a_fact_names_who_recorded_it_and_both_clocks(shop):
    member = a_busy_member(shop)
    earned = member_timeline(shop.ledger, member["member_id"])["events"][1]
    assert (earned["actor"], earned["occurred_at"]) == (
        ACTOR, datetime(2026, 1, 2, tzinfo=timezone.utc))
    assert earned["recorded_at"] > earned["occurred_at"]


def test_a_page_ends_with_the_version_to_ask_after(shop):
    member = a_busy_member(shop)
    page = member_timeline(shop.ledger, member["member_id"], limit=2)
    assert ([e["version"] for e in page["events"]], page["next_after_version"]) == ([1, 2], 2)


def test_the_last_page_has_no_version_to_ask_after(shop):
    member = a_busy_member(shop)
    page = member_timeline(shop.ledger, member["member_id"], after_version=3, limit=2)
    assert ([e["version"] for e in page["events"]], page["next_after_version"]) == ([4, 5], None)


def test_a_later_page_carries_the_running_balance_on(shop):
    member = a_busy_member(shop)
    page = member_timeline(shop.ledger, member["member_id"], after_version=3, limit=1)
    assert page["events"][0]["balance"] == {"available": 0, "pending": 0, "debt": 30}


def test_as_of_shows_only_the_facts_recorded_by_then(shop):
    member = a_busy_member(shop)
    third = member_timeline(shop.ledger, member["member_id"])["events"][2]
    page = member_timeline(shop.ledger, member["member_id"], as_of=third["recorded_at"])
    assert ([e["version"] for e in page["events"]], page["next_after_version"]) == ([1, 2, 3], None)


def test_as_of_before_the_enrolment_is_member_not_found(shop):
    member = shop.enroll()
    with pytest.raises(MemberNotFound):
        member_timeline(shop.ledger, member["member_id"], as_of=datetime(2020, 1, 1, tzinfo=timezone.utc))


def test_an_unknown_member_has_no_timeline(shop):
    with pytest.raises(MemberNotFound):
        member_timeline(shop.ledger, "00000000-0000-4000-8000-000000000000")


def test_a_page_of_more_than_1000_facts_is_refused(shop):
    member = shop.enroll()
    with pytest.raises(InvalidInput):
        member_timeline(shop.ledger, member["member_id"], limit=1001)


def a_long_history(shop: Shop, member: dict, days: range) -> None:
    for day in days:
        shop.buy(member, "3.00", f"2026-01-{day % 28 + 1:02d}")
        if day % 50 == 0:
            shop.redeem(member, 20, "2026-02-01")


def assert_pages_start_from_the_stored_balance(shop: Shop, member: dict, versions) -> dict:
    for after in versions:
        page = member_timeline(shop.ledger, member["member_id"], after_version=after, limit=1)
        at = shop.ledger.repository.get(UUID(member["member_id"]), version=after + 1)
        assert page["events"][0]["balance"] == {"available": at.available, "pending": at.pending,
                                                "debt": at.debt}
    return page


def test_a_page_deep_in_a_long_history_starts_from_the_balance_at_its_version(shop):
    member = shop.enroll()
    a_long_history(shop, member, range(1, 251))  # past two snapshots (every 100 facts)
    page = assert_pages_start_from_the_stored_balance(shop, member, (0, 99, 100, 101, 180, 255))
    assert page["events"][0]["balance"]["available"] == 250 * 3 - 5 * 20


def test_a_deep_page_starts_from_the_ledger_entries_where_they_reach_and_the_store_beyond(
        shop, clean_db):
    member = shop.enroll()
    shop.check_in(member, "2026-01-01")  # a fact the ledger entries hold, then none for a while
    shop.ledger.link_identity(UUID(member["member_id"]), "phone", "+8613800000001", ACTOR)
    a_long_history(shop, member, range(1, 121))
    catch_up(workers_for(shop.ledger, clean_db))
    a_long_history(shop, member, range(121, 161))  # not projected yet
    member_id, version = UUID(member["member_id"]), shop.ledger.member(member["member_id"]).version
    assert version == 166
    assert projected_balance(shop.ledger, member_id, 3).as_dict() == {  # as at version 2
        "available": 5, "pending": 0, "debt": 0}
    assert projected_balance(shop.ledger, member_id, 125).available == 5 + 120 * 3 - 2 * 20
    assert projected_balance(shop.ledger, member_id, 126) is None
    page = assert_pages_start_from_the_stored_balance(shop, member, (2, 3, 60, 125, 126, 150,
                                                                     version - 1))
    assert page["events"][0]["balance"]["available"] == 5 + 160 * 3 - 3 * 20


def test_a_gap_in_the_stored_versions_does_not_end_the_timeline_early(shop, clean_db):
    member = a_busy_member(shop)  # versions 1 to 5
    with psycopg.connect(clean_db) as conn:  # a row deleted by hand: verify reports the gap
        conn.execute("DELETE FROM ledger_events WHERE originator_id = %s AND originator_version = 3",
                     (UUID(member["member_id"]),))
    first = member_timeline(shop.ledger, member["member_id"], after_version=1, limit=2)
    rest = member_timeline(shop.ledger, member["member_id"], after_version=4, limit=2)
    assert ([e["version"] for e in first["events"]], first["next_after_version"]) == ([2, 4], 4)
    assert ([e["version"] for e in rest["events"]], rest["next_after_version"]) == ([5], None)


def test_a_later_page_is_refused_for_what_is_not_a_member_and_before_the_enrolment(shop):
    member = a_busy_member(shop)
    guard = shop.ledger.repository.get(Purchase.id_for("pos", "T-1"))  # an aggregate, not a member
    with pytest.raises(MemberNotFound):
        member_timeline(shop.ledger, guard.id, after_version=0)
    with pytest.raises(MemberNotFound):
        member_timeline(shop.ledger, member["member_id"], after_version=2,
                        as_of=datetime(2020, 1, 1, tzinfo=timezone.utc))
    assert member_timeline(shop.ledger, member["member_id"], after_version=5)["events"] == []
    with pytest.raises(MemberNotFound):
        member_timeline(shop.ledger, "00000000-0000-4000-8000-000000000000", after_version=3)
