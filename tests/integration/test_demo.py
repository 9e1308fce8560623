"""`tally demo`'s synthetic year, at a size smaller than its default, on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone

from projections.runner import catch_up, workers_for
from tally.demo import Demo
from tally.verify import verify_ledger


def test_a_demo_of_40_members_merges_ten_pairs_of_its_second_half_and_verifies(
        shop, pool, clean_db):
    demo = Demo(shop.ledger, members=40, end=datetime(2026, 11, 22, 12, tzinfo=timezone.utc))
    report = demo.run()
    catch_up(workers_for(shop.ledger, clean_db))

    assert (report.members, report.merges) == (40, 10)
    merged = {shop.ledger.member(member_id).status for member_id, _ in demo.members[21:40:2]}
    assert merged == {"merged"}
    assert shop.ledger.member(demo.members[20][0]).status == "active"
    assert verify_ledger(shop.ledger, pool)["ok"] is True


def test_a_demo_of_5_members_still_trades_every_day_and_merges_one_pair(shop):
    report = Demo(shop.ledger, members=5).run()

    assert (report.members, report.purchases, report.merges) == (5, 364, 1)
