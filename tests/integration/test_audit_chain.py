"""Verify rechecks every member's hash chain from the stored rows: an edited or deleted fact
in ledger_events is reported with its member and version."""

from __future__ import annotations

import psycopg

from tally.verify import verify_ledger
from tests.integration.ledgers import Shop

CHAIN_KINDS = {"gap", "hash", "chain", "unreadable", "replay", "store"}


def chain_problems(shop: Shop, pool) -> list[tuple]:
    report = verify_ledger(shop.ledger, pool)
    return [(m["member_id"], m.get("version"), m["kind"]) for m in report["mismatches"]
            if m["kind"] in CHAIN_KINDS]


def tamper(url: str, statement: str, member_id: str, version: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        changed = conn.execute(statement, (member_id, version)).rowcount
    assert changed == 1


def two_members(shop: Shop) -> tuple[dict, dict]:
    ann, bob = shop.enroll(), shop.enroll()
    shop.buy(ann, "120.00", "2026-01-02")
    shop.redeem(ann, 20, "2026-01-03")
    shop.buy(bob, "30.00", "2026-01-02")
    return ann, bob


def test_untouched_stored_facts_have_whole_chains(shop, pool):
    two_members(shop)
    assert chain_problems(shop, pool) == []


def test_every_member_and_fact_in_the_store_is_checked(shop, pool):
    two_members(shop)
    report = verify_ledger(shop.ledger, pool)
    assert (report["members_checked"], report["events_checked"]) == (2, 5)


def test_points_edited_in_a_stored_fact_are_reported_at_its_member_and_version(shop, pool, clean_db):
    ann, _ = two_members(shop)
    tamper(clean_db, "UPDATE ledger_events SET state = convert_to(replace(convert_from("
                     "state, 'UTF8'), '\"points\":120', '\"points\":130'), 'UTF8') "
                     "WHERE originator_id = %s AND originator_version = %s", ann["member_id"], 2)
    assert chain_problems(shop, pool) == [(ann["member_id"], 2, "hash")]


def test_a_deleted_stored_fact_is_reported_as_a_gap_at_its_member_and_version(shop, pool, clean_db):
    ann, _ = two_members(shop)
    tamper(clean_db, "DELETE FROM ledger_events WHERE originator_id = %s "
                     "AND originator_version = %s", ann["member_id"], 2)
    assert chain_problems(shop, pool) == [(ann["member_id"], 2, "gap")]


def test_a_fact_swapped_for_another_members_is_reported_as_a_broken_chain(shop, pool, clean_db):
    ann, bob = two_members(shop)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("UPDATE ledger_events SET state = (SELECT state FROM ledger_events "
                     "WHERE originator_id = %s AND originator_version = 2) "
                     "WHERE originator_id = %s AND originator_version = 2",
                     (bob["member_id"], ann["member_id"]))
    assert chain_problems(shop, pool)[:2] == [(ann["member_id"], 2, "hash"),
                                              (ann["member_id"], 2, "chain")]


def test_unreadable_stored_bytes_are_reported_at_their_version(shop, pool, clean_db):
    ann, _ = two_members(shop)
    tamper(clean_db, "UPDATE ledger_events SET state = '\\x7b7b'::bytea "
                     "WHERE originator_id = %s AND originator_version = %s", ann["member_id"], 3)
    assert chain_problems(shop, pool) == [(ann["member_id"], 3, "unreadable")]


def test_a_redemption_edited_to_fewer_points_than_it_drew_leaves_the_member_unbalanced(
        shop, pool, clean_db):
    ann, _ = two_members(shop)  # 120 points earned, then 20 redeemed (drawn from the lot)
    tamper(clean_db, "UPDATE ledger_events SET state = convert_to(regexp_replace(convert_from("
                     "state, 'UTF8'), '\"points\":20,', '\"points\":2,'), 'UTF8') "
                     "WHERE originator_id = %s AND originator_version = %s", ann["member_id"], 3)
    found = {(m["kind"], m.get("version")): m["detail"]
             for m in verify_ledger(shop.ledger, pool)["mismatches"]}
    assert found[("hash", 3)].startswith("the stored fields of this PointsRedeemed")
    assert found[("replay", None)] == ("the facts' movements add up to available, pending, debt "
                                       "[118, 0, 0], its lots and debt hold [100, 0, 0]")
