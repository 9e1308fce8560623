"""Read models on PostgreSQL: batched, exactly once, restartable, equal to a rebuild."""

from __future__ import annotations

import copy

import psycopg
import pytest

from domain.rules import DEFAULT_PROGRAM
from projections.due import members_due
from projections.ledger_entries import LedgerEntriesReadModel
from projections.feed import Feed
from projections.runner import READ_MODELS, Worker, catch_up, reset, workers_for
from tests.integration.ledgers import ACTOR, Clock, Shop, at, open_ledger

TABLES = {"members": "member_id", "identities": "kind, value", "lots": "member_id, lot_id",
          "ledger_entries": "position", "ledger_totals": "kind"}


@pytest.fixture
def shop(database_url, clean_db):
    ledger = open_ledger(database_url, Clock("2026-01-01T00:00"))
    yield Shop(ledger)
    ledger.close()


def mixed_workload(shop: Shop) -> list[dict]:
    """Every kind of fact: enrolments, referrals, pending purchases, returns, redemptions,
    adjustments, activities, a merge, activations, expiries and tier changes."""
    document = copy.deepcopy(DEFAULT_PROGRAM)
    document["pending_days"] = 3
    shop.ledger.configure_program(document, ACTOR)
    first = shop.enroll()
    members = [first] + [shop.enroll(referrer_code=first["referral_code"]) for _ in range(4)]
    for number, member in enumerate(members):
        shop.buy(member, f"{300 * (number + 1)}.00", "2026-01-02", transaction_id=f"T-{number}")
    shop.ledger.tick(at("2026-01-10"), shop.everyone)
    shop.give_back("T-1", "100.00", "2026-01-11")
    shop.redeem(members[2], 150, "2026-01-12")
    shop.check_in(members[3], "2026-01-12")
    shop.ledger.adjust_points(member_id=members[4]["member_id"], adjustment_id="ADJ", points=-20,
                              reason="fix", ticket="T-9", occurred_at=at("2026-01-12"),
                              actor=ACTOR, request_hash="adj")
    shop.ledger.merge(survivor_id=members[0]["member_id"], absorbed_id=members[1]["member_id"],
                      merge_id="M-1", reason="same", occurred_at=at("2026-01-13"), actor=ACTOR,
                      request_hash="m")
    shop.ledger.tick(at("2027-06-01"), shop.everyone)
    return members


def dump(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as conn:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
                for table, order in TABLES.items()}


def rebuild(shop: Shop, url: str) -> None:
    workers = workers_for(shop.ledger, url)
    reset(url, workers)
    catch_up(workers)


def test_a_projection_killed_mid_batch_and_restarted_equals_a_fresh_rebuild(shop, clean_db):
    mixed_workload(shop)
    healthy = [w for w in workers_for(shop.ledger, clean_db, batch=7)
               if not isinstance(w.read_model, LedgerEntriesReadModel)]
    catch_up(healthy)

    class Killed(Exception):
        pass

    class DiesOnItsThirdBatch(LedgerEntriesReadModel):
        batches = 0

        def fold(self, cursor, facts):
            super().fold(cursor, facts)  # the rows are written in this transaction…
            self.batches += 1
            if self.batches == 3:
                raise Killed  # …and the process dies before the position moves

    dying = Worker(shop.ledger, DiesOnItsThirdBatch(), clean_db, batch=7)
    dying.step()
    dying.step()
    with pytest.raises(Killed):
        dying.step()
    restarted = Worker(shop.ledger, LedgerEntriesReadModel(), clean_db, batch=7)
    assert restarted.position == dying.position
    catch_up([restarted])
    after_restart = dump(clean_db)
    rebuild(shop, clean_db)
    assert dump(clean_db) == after_restart


def test_a_worker_whose_position_another_worker_moved_applies_no_batch_twice(shop, clean_db):
    mixed_workload(shop)
    first = Worker(shop.ledger, LedgerEntriesReadModel(), clean_db, batch=7)
    second = Worker(shop.ledger, LedgerEntriesReadModel(), clean_db, batch=7)
    first.step()
    first.step()
    second.step()  # still believes the position is 0: resumes from 14 instead
    assert second.position == 21
    catch_up([first, second, *workers_for(shop.ledger, clean_db)])
    overlapped = dump(clean_db)
    rebuild(shop, clean_db)
    assert dump(clean_db) == overlapped


def test_a_rebuild_while_another_worker_is_midway_equals_a_rebuild_alone(shop, clean_db):
    mixed_workload(shop)
    running = workers_for(shop.ledger, clean_db, batch=7)
    for worker in running:
        worker.step()
    rebuilding = workers_for(shop.ledger, clean_db, batch=5)
    reset(clean_db, rebuilding)
    for worker in rebuilding:
        worker.step()
    catch_up(running + rebuilding)
    raced = dump(clean_db)
    rebuild(shop, clean_db)
    assert dump(clean_db) == raced


def test_catch_up_commits_a_batch_of_facts_per_transaction(shop, clean_db):
    mixed_workload(shop)
    workers = workers_for(shop.ledger, clean_db, batch=50)
    catch_up(workers)
    facts = shop.ledger.recorder.max_notification_id()
    assert facts > 60
    assert {w.batches for w in workers} == {-(-facts // 50)}


class CountingLedger:
    """The ledger as the read side sees it, counting the connections taken to read stored
    facts (the feed's; the recorder's own queries go to the real store uncounted)."""

    def __init__(self, ledger):
        self.ledger, self.reads = ledger, 0
        self.mapper = ledger.mapper
        self.recorder = self
        self.datastore = self

    def get_connection(self):
        self.reads += 1
        return self.ledger.recorder.datastore.get_connection()

    def __getattr__(self, name):  # the recorder's attributes, else its datastore's
        recorder = self.ledger.recorder
        return getattr(recorder, name) if hasattr(recorder, name) else getattr(recorder.datastore, name)


def test_read_models_in_step_read_each_batch_from_the_store_once(shop, clean_db):
    mixed_workload(shop)
    counting = CountingLedger(shop.ledger)
    feed = Feed(counting, 20)
    workers = [Worker(shop.ledger, model(), clean_db, 20, feed) for model in READ_MODELS]
    while sum(worker.step() for worker in workers):
        pass
    facts = shop.ledger.recorder.max_notification_id()
    complete, rest = divmod(facts, 20)
    assert rest  # the last batch is still filling up: read once all the same
    assert counting.reads == complete + 1
    shop.buy(shop.enroll(), "10.00", "2026-01-03")  # the short batch's followers: read once each
    while sum(worker.step() for worker in workers):
        pass
    newest = shop.ledger.recorder.max_notification_id()
    assert {worker.position for worker in workers} == {newest}
    assert counting.reads == complete + 1 + len(range(facts // 20, (newest - 1) // 20 + 1))


def test_the_last_entry_of_every_member_equals_its_member_document(shop, clean_db):
    members = mixed_workload(shop)
    catch_up(workers_for(shop.ledger, clean_db))
    with psycopg.connect(clean_db) as conn:
        for member in members:
            row = conn.execute("SELECT available_after, pending_after, debt_after FROM ledger_entries "
                               "WHERE member_id = %s ORDER BY position DESC LIMIT 1",
                               (member["member_id"],)).fetchone()
            balance = shop.balance(member)
            assert row == (balance["available"], balance["pending"], balance["debt"])


def test_the_members_table_equals_each_member_document(shop, clean_db):
    members = mixed_workload(shop)
    catch_up(workers_for(shop.ledger, clean_db))
    with psycopg.connect(clean_db) as conn:
        for member in members:
            document = shop.ledger.document(shop.ledger.member(member["member_id"]))
            row = conn.execute("SELECT status, available, pending, debt, lifetime_earned, redeemed, "
                               "expired, tier, version FROM members WHERE member_id = %s",
                               (member["member_id"],)).fetchone()
            b = document["balance"]
            assert row == (document["status"], b["available"], b["pending"], b["debt"],
                           b["lifetime_earned"], b["redeemed"], b["expired"],
                           document["tier"]["name"], document["version"])


def test_members_due_names_exactly_the_members_with_something_due(shop, clean_db):
    shop.ledger.configure_program({**copy.deepcopy(DEFAULT_PROGRAM), "pending_days": 14}, ACTOR)
    pending, expiring, idle = shop.enroll(), shop.enroll(), shop.enroll()
    shop.buy(pending, "10.00", "2026-03-01")
    shop.ledger.adjust_points(member_id=expiring["member_id"], adjustment_id="A", points=5,
                              reason="gift", ticket=None, occurred_at=at("2025-03-01"),
                              actor=ACTOR, request_hash="a")
    catch_up(workers_for(shop.ledger, clean_db))
    with psycopg.connect(clean_db) as conn:
        due = {str(member_id) for member_id in members_due(conn, at("2026-03-15"))}
    assert due == {pending["member_id"], expiring["member_id"]}
    assert idle["member_id"] not in due
