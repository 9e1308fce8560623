"""Verify's chunks checked in worker processes give the report one process gives."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from projections.runner import catch_up, workers_for
from tally.verify import verify_ledger
from tally.verify_workers import VerifyStopped, checked_in_workers
from tests.integration.test_audit_chain import tamper


def four_members_two_tampered(shop, url: str) -> list[dict]:
    members = [shop.enroll() for _ in range(4)]
    for number, member in enumerate(members):
        shop.buy(member, f"{100 + number}.00", "2026-01-02")
        shop.buy(member, "30.00", "2026-01-03")
    catch_up(workers_for(shop.ledger, url))
    tamper(url, "DELETE FROM ledger_events WHERE originator_id = %s AND originator_version = %s",
           members[1]["member_id"], 2)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE members SET tier = 'gold' WHERE member_id = %s",
                     (members[3]["member_id"],))
    return members


def test_two_workers_over_chunks_of_one_member_report_what_one_process_reports(shop, pool, clean_db):
    members = four_members_two_tampered(shop, clean_db)

    alone = verify_ledger(shop.ledger, pool, chunk=1)
    side_by_side = verify_ledger(shop.ledger, pool, workers=2, chunk=1)

    assert side_by_side == alone
    assert (alone["members_checked"], alone["events_checked"]) == (4, 11)
    assert sorted((m["member_id"], m["kind"], m.get("version")) for m in alone["mismatches"]) == sorted(
        [(members[1]["member_id"], "gap", 2), (members[3]["member_id"], "members", None)])


def test_a_worker_that_cannot_start_stops_verify_with_a_reason(shop):
    chunks = [[uuid.uuid4()], [uuid.uuid4()]]
    with pytest.raises(VerifyStopped, match="run verify again"):
        list(checked_in_workers("postgresql://nobody@127.0.0.1:1/nowhere?connect_timeout=1",
                                shop.ledger.mapper, chunks, 2))
