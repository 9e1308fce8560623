"""Batch posting judges each purchase as a single post would, many per transaction."""

from __future__ import annotations

import gc
from collections import Counter
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from tally.batch import CHUNK
from tally.ledger import Ledger
from tally.storage import eventsourcing_env
from tally.verify import chain_mismatches
from tests.integration.ledgers import ACTOR, Clock, Shop, at, open_ledger


def order(transaction_id: str, member_id: str, amount: str = "10.00", **changes) -> dict:
    fields = dict(transaction_id=transaction_id, channel="web", store_id=None,
                  member_id=member_id, identity=None, amount=Decimal(amount), currency="CNY",
                  items=[], occurred_at=at("2026-02-01"), actor=ACTOR,
                  request_hash=f"{transaction_id}:{amount}")
    return {**fields, **changes}


def test_a_batch_with_duplicates_and_unknown_members_answers_each_item_in_order(shop):
    members = [shop.enroll()["member_id"] for _ in range(20)]
    orders = [order(f"W-{i}", members[i % 20]) for i in range(1000)]
    for i in range(0, 1000, 100):  # 1% unknown members
        orders[i] = order(f"W-{i}", str(uuid4()))
    orders += [order(f"W-{i}", members[i % 20]) for i in range(1, 1000, 100)]  # 1% duplicates
    results = shop.ledger.post_purchases(orders)
    assert Counter(r["status"] for r in results) == {201: 990, 404: 10, 200: 10}
    assert [r.get("code") for r in results[:1]] == ["member_not_found"]
    assert sum(shop.balance({"member_id": m})["available"] for m in members) == 9900


def test_resending_a_whole_batch_records_nothing_new(shop):
    members = [shop.enroll()["member_id"] for _ in range(5)]
    orders = [order(f"W-{i}", members[i % 5]) for i in range(50)]
    shop.ledger.post_purchases(orders)
    versions = [shop.ledger.member(m).version for m in members]
    again = shop.ledger.post_purchases(orders)
    assert Counter(r["status"] for r in again) == {200: 50}
    assert [shop.ledger.member(m).version for m in members] == versions


def test_the_same_transaction_id_with_another_amount_in_one_batch_is_a_conflict(shop):
    member = shop.enroll()["member_id"]
    results = shop.ledger.post_purchases([order("W-1", member), order("W-1", member, "11.00")])
    assert [(r["status"], r.get("code")) for r in results] == [(201, None), (409, "idempotency_conflict")]


def test_a_batch_item_in_another_currency_is_refused_alone(shop):
    member = shop.enroll()["member_id"]
    results = shop.ledger.post_purchases([order("W-1", member, currency="USD"), order("W-2", member)])
    assert [(r["status"], r.get("code")) for r in results] == [(422, "validation_error"), (201, None)]


def test_a_batch_credits_a_referral_once_with_the_first_purchase(shop):
    referrer = shop.enroll()
    referee = shop.enroll(referrer_code=referrer["referral_code"])
    shop.ledger.post_purchases([order(f"W-{i}", referee["member_id"]) for i in range(3)])
    assert shop.balance(referee)["available"] == 80
    assert shop.balance(referrer)["available"] == 100


def test_a_batch_reaches_members_by_identity(shop):
    shop.ledger.enroll(member_id=None, identities=[("card", "C-9")], referrer_code=None,
                       occurred_at=at("2026-01-01"), actor=ACTOR, request_hash="e")
    results = shop.ledger.post_purchases([order("W-1", None, identity=("card", "C-9")),
                                          order("W-2", None, identity=("card", "C-404"))])
    assert [(r["status"], r.get("code")) for r in results] == [(201, None), (404, "identity_not_found")]


def test_a_resent_purchase_replays_though_its_card_left_the_member_as_a_single_post_does(shop):
    member_id = shop.ledger.enroll(member_id=None, identities=[("card", "C-9")], referrer_code=None,
                                   occurred_at=at("2026-01-01"), actor=ACTOR,
                                   request_hash="e").body["member_id"]
    by_card = order("W-1", None, identity=("card", "C-9"))
    assert shop.ledger.post_purchases([by_card])[0]["status"] == 201
    shop.ledger.unlink_identity(UUID(member_id), "card", "C-9", ACTOR)
    assert shop.ledger.post_purchase(**by_card).replayed
    assert shop.ledger.post_purchases([by_card, order("W-2", None, identity=("card", "C-9"))]) == [
        {"status": 200, "points_earned": 10},
        {"status": 404, "code": "identity_not_found", "detail": "no member holds card C-9"}]


def test_a_batch_changes_copies_never_the_member_other_requests_copy_from(shop):
    member = shop.enroll()["member_id"]
    shop.ledger.post_purchases([order("W-1", member)])
    as_saved = shop.ledger.repository.cache.get(UUID(member))
    version = as_saved.version
    shop.ledger.post_purchases([order("W-2", member)])  # decided on top of W-1, then saved
    assert as_saved.version == version
    assert shop.ledger.member(member).version == version + 1


def test_a_batch_is_saved_chunk_by_chunk(shop, monkeypatch):
    member = shop.enroll()["member_id"]
    saved, save = [], shop.ledger.save

    def counting(*aggregates, **options):
        saved.append(len(aggregates))
        return save(*aggregates, **options)

    monkeypatch.setattr(shop.ledger, "save", counting)
    results = shop.ledger.post_purchases([order(f"W-{i}", member) for i in range(5)], chunk=2)

    assert [r["status"] for r in results] == [201] * 5
    assert saved == [3, 3, 2]  # a transaction per chunk: the member and the chunk's guards
    assert shop.balance({"member_id": member})["available"] == 50


def test_the_garbage_collector_runs_again_after_a_batch_even_a_failed_one(shop):
    member = shop.enroll()["member_id"]
    shop.ledger.post_purchases([order("W-1", member)])
    assert gc.isenabled()
    with pytest.raises(KeyError):
        shop.ledger.post_purchases([{"transaction_id": "W-2"}])
    assert gc.isenabled()


class AnotherWriterFirst(Ledger):
    """A ledger process whose next save is preceded by another process's write (`race`)."""

    name = "Ledger"  # the library would otherwise name its tables after this class
    race, refused_saves = None, 0

    def save(self, *aggregates, **kwargs):
        race, self.race = self.race, None
        if race is not None:
            race()
        try:
            return super().save(*aggregates, **kwargs)
        except IntegrityError:
            self.refused_saves += 1
            raise


def test_a_chunk_that_loses_a_race_is_posted_alone_and_the_next_chunk_is_judged_again(
        database_url, clean_db):
    here = AnotherWriterFirst(eventsourcing_env(database_url, 4), clock=Clock())
    there = Shop(open_ledger(database_url))
    members = [Shop(here).enroll()["member_id"] for _ in range(2)]
    orders = [order(f"W-{i}", members[i % 2]) for i in range(CHUNK + 10)]
    here.race = lambda: there.buy({"member_id": members[0]}, "10.00", "2026-01-15", "THERE-1")

    results = here.post_purchases(orders)

    assert here.refused_saves == 1
    assert Counter(r["status"] for r in results) == {201: CHUNK + 10}
    earned = sum(r["points_earned"] for r in results) + 10
    assert sum(here.member(m).available for m in members) == earned
    for member in members:
        rows = [(e.originator_id, e.originator_version, e.topic, e.state)
                for e in here.recorder.select_events(UUID(member))]
        assert chain_mismatches(here.mapper, UUID(member), rows) == []
    assert here.post_purchases(orders) == [{**r, "status": 200} for r in results]
    here.close()
    there.ledger.close()


def test_a_batch_reads_what_another_process_wrote_since_its_last_batch(database_url, clean_db):
    """Members and cards kept from one batch to the next are brought up to date before the
    next one is judged: nothing is decided on a stale copy, so no save is refused."""
    here = AnotherWriterFirst(eventsourcing_env(database_url, 4), clock=Clock())
    there = Shop(open_ledger(database_url))
    card = ("card", "C-7")
    holder = here.enroll(member_id=None, identities=[card], referrer_code=None,
                         occurred_at=at("2026-01-01"), actor=ACTOR, request_hash="e1").body
    other = Shop(here).enroll()
    assert [r["status"] for r in here.post_purchases([order("W-1", None, identity=card)])] == [201]

    there.buy(holder, "40.00", "2026-01-20", "THERE-1")
    there.ledger.unlink_identity(UUID(holder["member_id"]), *card, ACTOR)
    there.ledger.link_identity(UUID(other["member_id"]), *card, ACTOR)
    results = here.post_purchases([order("W-2", None, identity=card),
                                   order("W-3", holder["member_id"])])

    assert here.refused_saves == 0
    assert results == [{"status": 201, "points_earned": 10}, {"status": 201, "points_earned": 10}]
    assert there.balance(holder)["available"] == 10 + 40 + 10
    assert there.balance(other)["available"] == 10
    here.close()
    there.ledger.close()
