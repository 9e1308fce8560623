"""Member snapshots: written every 100 facts by requests and every 25 by bulk work, in binary,
and read back as the member."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import orjson
import psycopg
from eventsourcing import persistence

from domain.member_facts import NEXT_TIMER

from tests.integration.ledgers import ACTOR, Shop, at, open_ledger


def test_a_member_is_snapshotted_every_hundred_facts_and_restored_from_the_latest(
        shop, database_url):
    member = shop.enroll()
    for day in range(1, 251):
        shop.buy(member, "3.00", f"2026-01-{day % 28 + 1:02d}")
    member_id = UUID(member["member_id"])
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT originator_version, topic, state "
                              "FROM ledger_snapshots WHERE originator_id = %s "
                              "ORDER BY originator_version", (member_id,)).fetchall()
    assert [row[:2] for row in stored] == [(100, "eventsourcing.domain:Snapshot"),
                                           (200, "eventsourcing.domain:Snapshot")]
    states = [orjson.loads(row[2])["state"] for row in stored]
    # lots and spend as rows (tally/transcoder.py), not a tagged object per value
    assert [len(state["lots"]["__lots"]) for state in states] == [99, 199]
    assert states[0]["lots"]["__lots"][0] == [
        f"{member_id.hex[:12]}-2", "purchase", 3, "2026-01-02T00:00:00+00:00",
        "2026-01-02T00:00:00+00:00", "2027-01-02T00:00:00+00:00", False]
    assert not any(NEXT_TIMER in state for state in states)  # remembered, never stored
    assert [(state["class_version"], [len(column) for column in state["spend"]["__spend"]])
            for state in states] == [(2, [99, 99]), (2, [199, 199])]
    assert states[0]["spend"]["__spend"][1][:2] == ["3.00", "3.00"]
    expected = shop.ledger.document(shop.ledger.member(member_id))
    with psycopg.connect(database_url) as conn:  # only snapshot 200 can say what came before
        conn.execute("DELETE FROM ledger_events WHERE originator_id = %s "
                     "AND originator_version <= 200", (member_id,))
    fresh = open_ledger(database_url)  # nothing cached: the member comes from snapshot 200
    try:
        restored = fresh.member(member_id)
        assert (restored.version, restored.available, len(restored.lots)) == (251, 750, 250)
        assert fresh.document(restored) == expected
    finally:
        fresh.close()


def test_a_snapshot_stored_before_spend_histories_is_read_as_one(shop, database_url):
    member = shop.enroll()
    for day in range(1, 101):  # late tills: days out of order
        shop.buy(member, "3.00", f"2026-01-{(day * 11) % 28 + 1:02d}")
    shop.buy(member, "4.00", "2026-02-01")
    member_id = UUID(member["member_id"])
    expected = shop.ledger.document(shop.ledger.member(member_id))
    with psycopg.connect(database_url) as conn:  # snapshot 100 rewritten as version 1 stored it
        state = orjson.loads(conn.execute("SELECT state FROM ledger_snapshots WHERE "
                                          "originator_id = %s", (member_id,)).fetchone()[0])
        moments, amounts = state["state"].pop("spend")["__spend"]
        del state["state"]["class_version"]
        state["state"]["spend"] = [[{"__t": moment}, {"__d": amount}]
                                   for moment, amount in zip(moments, amounts)][::-1]
        conn.execute("UPDATE ledger_snapshots SET state = %s WHERE originator_id = %s",
                     (orjson.dumps(state), member_id))
        conn.execute("DELETE FROM ledger_events WHERE originator_id = %s "
                     "AND originator_version <= 100", (member_id,))
    fresh = open_ledger(database_url)
    try:
        restored = fresh.member(member_id)
        assert (restored.version, len(restored.spend)) == (102, 101)
        assert restored.spend.moments == sorted(restored.spend.moments)
        assert fresh.document(restored) == expected
        # the clock stands at 2026-01-01: the three purchases on that day are the window
        assert expected["tier"]["qualifying_spend"] == "9.00"
    finally:
        fresh.close()


def test_bulk_work_snapshots_a_member_every_25_facts_and_requests_every_100(shop, database_url):
    member = shop.enroll()
    shop.ledger.post_purchases([dict(
        transaction_id=f"B-{n}", channel="web", store_id=None, member_id=member["member_id"],
        identity=None, amount=Decimal("3.00"), currency="CNY", items=[],
        occurred_at=at(f"2026-02-{n % 28 + 1:02d}"), actor=ACTOR, request_hash=f"B-{n}")
        for n in range(60)])  # versions 2-61 in one save: it crossed 25, the member is kept at 61
    for day in range(1, 41):  # versions 62-101: single posts cross 75 (no) and 100
        shop.buy(member, "3.00", f"2026-03-{day % 28 + 1:02d}")
    with psycopg.connect(database_url) as conn:
        versions = [row[0] for row in conn.execute(
            "SELECT originator_version FROM ledger_snapshots WHERE originator_id = %s "
            "ORDER BY originator_version", (UUID(member["member_id"]),))]
    assert versions == [61, 100]
    fresh = open_ledger(database_url)
    try:
        assert fresh.member(member["member_id"]).available == 300
    finally:
        fresh.close()


def test_bulk_work_reads_a_member_from_its_latest_snapshot(shop, database_url):
    member = shop.enroll()
    orders = [dict(transaction_id=f"S-{n}", channel="web", store_id=None,
                   member_id=member["member_id"], identity=None, amount=Decimal("3.00"),
                   currency="CNY", items=[], occurred_at=at(f"2026-02-{n % 28 + 1:02d}"),
                   actor=ACTOR, request_hash=f"S-{n}") for n in range(31)]
    shop.ledger.post_purchases(orders[:30])  # versions 2-31: a snapshot at 31
    with psycopg.connect(database_url) as conn:  # only the snapshot can say what came before
        conn.execute("DELETE FROM ledger_events WHERE originator_id = %s "
                     "AND originator_version <= 31", (UUID(member["member_id"]),))
    fresh = open_ledger(database_url)  # nothing cached, in memory or in its bulk cache
    try:
        results = fresh.post_purchases(orders[29:])  # one replayed, one new
        assert [(r["status"], r["points_earned"]) for r in results] == [(200, 3), (201, 3)]
        restored = fresh.member(member["member_id"])
        assert (restored.version, restored.available, len(restored.lots)) == (32, 93, 31)
    finally:
        fresh.close()


def test_bulk_work_snapshots_a_member_read_cold_with_an_interval_of_facts_since_its_last(
        shop, database_url):
    behind, recent = shop.enroll(), shop.enroll()
    for day in range(1, 41):  # versions 2-41 by requests: no snapshot (they take one at 100)
        shop.buy(behind, "3.00", f"2026-01-{day % 28 + 1:02d}")
    for day in range(1, 11):
        shop.buy(recent, "3.00", f"2026-01-{day % 28 + 1:02d}")
    fresh = open_ledger(database_url)  # reads both cold
    try:
        results = fresh.post_purchases([dict(
            transaction_id=f"N-{n}", channel="web", store_id=None, member_id=member["member_id"],
            identity=None, amount=Decimal("3.00"), currency="CNY", items=[],
            occurred_at=at("2026-02-01"), actor=ACTOR, request_hash=f"N-{n}")
            for n, member in enumerate((behind, recent))])
        assert [r["status"] for r in results] == [201, 201]
        for n in range(2, 27):  # versions 13-37 of the recent member: a snapshot at 25 only
            fresh.post_purchases([dict(
                transaction_id=f"N-{n}", channel="web", store_id=None,
                member_id=recent["member_id"], identity=None, amount=Decimal("3.00"),
                currency="CNY", items=[], occurred_at=at("2026-02-02"), actor=ACTOR,
                request_hash=f"N-{n}")])
    finally:
        fresh.close()
    with psycopg.connect(database_url) as conn:
        versions = {key: [row[0] for row in conn.execute(
            "SELECT originator_version FROM ledger_snapshots WHERE originator_id = %s "
            "ORDER BY originator_version", (UUID(member["member_id"]),))]
            for key, member in (("behind", behind), ("recent", recent))}
    assert versions == {"behind": [42], "recent": [25]}


def test_a_purchase_whose_snapshot_could_not_be_written_is_answered_as_saved(
        shop, database_url, monkeypatch):
    member = shop.enroll()
    for day in range(1, 99):  # versions 2-99
        shop.buy(member, "3.00", f"2026-01-{day % 28 + 1:02d}")

    def database_gone(snapshots):
        raise persistence.OperationalError("the database went away")

    monkeypatch.setattr(shop.ledger.snapshots, "put", database_gone)
    answer = shop.buy(member, "3.00", "2026-02-01")  # version 100: a snapshot falls due
    assert (answer["points_earned"], answer["member"]["version"]) == (3, 100)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM ledger_snapshots").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM ledger_events WHERE originator_id = %s",
                            (UUID(member["member_id"]),)).fetchone() == (100,)


def test_a_request_snapshots_a_member_it_read_cold_far_past_its_snapshot_once(shop, database_url):
    member = shop.enroll()
    for day in range(1, 41):  # versions 2-41: no snapshot (requests take one at 100)
        shop.buy(member, "3.00", f"2026-01-{day % 28 + 1:02d}")
    fresh = Shop(open_ledger(database_url))  # reads the member cold
    try:
        for day in range(1, 31):  # versions 42-71
            fresh.buy(member, "3.00", f"2026-02-{day % 28 + 1:02d}", transaction_id=f"F-{day}")
    finally:
        fresh.ledger.close()
    with psycopg.connect(database_url) as conn:
        versions = [row[0] for row in conn.execute(
            "SELECT originator_version FROM ledger_snapshots WHERE originator_id = %s "
            "ORDER BY originator_version", (UUID(member["member_id"]),))]
    assert versions == [42]  # then every 100 again, not every 25
