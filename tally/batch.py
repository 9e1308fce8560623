"""Many purchases per database transaction, for shop back-office imports (contract §3 batch).

Each order is judged on its own, in input order, exactly as a single post would judge it;
what changes is the work around it: guards, claims and members are loaded for a whole chunk in
a few queries and the chunk's new facts are saved in one transaction. If that save loses a
race with another writer, the chunk is posted again one order at a time (each retried and
idempotent), so the answers stay those of single posts.

While a chunk is being saved the next one is judged, on copies of the members as the first
left them; if the first is refused, the next one's judgement is thrown away and made again
on what the store then holds.
"""

from __future__ import annotations

import copy
import functools
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.errors import (IdempotencyConflict, IdentityNotFound, LedgerError, MemberMerged,
                           MemberNotFound)
from domain.guards import IdentityClaim, Purchase
from domain.member import Member
from domain.rules import Rules
from tally.bulk import collector_paused, load_many
from tally.purchases import PurchaseUseCases, purchase_fields

CHUNK = 1000
# A chunk's transaction holds the events table's lock while its facts go in, and the tills'
# group commits wait for it: batches posted beside tills (the API's) go 100 at a time. Tills at
# 500/s beside back-to-back batches of 5,000 (bench.mixed, alternating runs): p99 58 ms with
# chunks of 1,000, 30-40 with 250, 30-32 with 100 (p99.9 ~80, ~80, 49-58 ms), for about the
# same batch purchases/s (5,300-5,500 with 250 or 100; the batch path alone 9,300-9,900 both).
CHUNK_BESIDE_TILLS = 100
STATUS = {"member_not_found": 404, "identity_not_found": 404, "transaction_not_found": 404,
          "idempotency_conflict": 409, "member_merged": 409, "busy": 409,
          "insufficient_points": 409, "identity_taken": 409, "activity_limit_reached": 409}


@functools.lru_cache(maxsize=65_536)  # a chunk names each member twice, an import many times
def member_uuid(member_id: str | UUID) -> UUID:
    return UUID(str(member_id))


def refused(error: LedgerError) -> dict[str, Any]:
    return {"status": STATUS.get(error.code, 422), "code": error.code, "detail": error.detail}


@dataclass
class Chunk:
    """Orders judged in memory: their answers, the aggregates read (`known`) and changed."""

    orders: list[dict[str, Any]]
    results: list[dict[str, Any]] = field(default_factory=list)
    known: dict[UUID, Any] = field(default_factory=dict)
    changed: dict[UUID, Any] = field(default_factory=dict)
    saving: Future | None = None

    def saved_members(self) -> list[Member]:
        return [a for a in self.changed.values() if isinstance(a, Member) and a.id in self.known]

    def unchanged(self) -> list[Any]:
        """The members and identity claims read but not changed (nor left with facts of a
        refused order): worth caching as they are."""
        return [a for a in self.known.values() if a.id not in self.changed
                and (isinstance(a, IdentityClaim) or isinstance(a, Member) and not a.pending_events)]


class BatchUseCases(PurchaseUseCases):
    def post_purchases(self, orders: list[dict[str, Any]], chunk: int = CHUNK) -> list[dict[str, Any]]:
        """Posts each order (the keyword arguments of `post_purchase`), `chunk` per transaction;
        one result per order:
        {"status": 201 | 200 | 404 | 409 | 422, "points_earned"?, "code"?, "detail"?}."""
        results: list[dict[str, Any]] = []
        with self.bulk_cache.lock, collector_paused(), ThreadPoolExecutor(1, "bulk-save") as saver:
            saving: Chunk | None = None
            for start in range(0, len(orders), chunk):
                judged = self._judge(orders[start:start + chunk], after=saving)
                if saving is not None:
                    if not self._settle(saving):  # `judged` was judged on facts the store refused
                        judged = self._judge(judged.orders, after=None)
                    results += saving.results
                judged.saving = saver.submit(self.save, *judged.changed.values(), bulk=True)
                saving = judged
            if saving is not None:
                self._settle(saving)
                results += saving.results
        return results

    def _settle(self, chunk: Chunk) -> bool:
        """Waits for the chunk's save; False if the store refused it (another writer won a
        race), and then its orders are posted again one at a time, with their own answers."""
        try:
            chunk.saving.result()
        except IntegrityError:
            chunk.results = [self._post_alone(order) for order in chunk.orders]
            return False
        # the objects saved are handed to requests, unless this process serves none
        self.bulk_cache.keep(chunk.saved_members(), copying=self.repository.cache is not None)
        self.bulk_cache.give_back(chunk.unchanged())
        return True

    def _post_alone(self, order: dict[str, Any]) -> dict[str, Any]:
        try:
            outcome = self.post_purchase(**order)
        except LedgerError as error:
            return refused(error)
        return {"status": 200 if outcome.replayed else 201,
                "points_earned": outcome.body["points_earned"]}

    def _judge(self, orders: list[dict[str, Any]], after: Chunk | None) -> Chunk:
        """Judges the orders on what the store holds and, if given, on what the chunk `after`
        recorded (not saved yet)."""
        chunk, rules = Chunk(orders), self.rules()
        keys = [Purchase.id_for(o["channel"], o["transaction_id"]) for o in orders]
        chunk.known = self._load_for(orders, keys, after)
        for order, key in zip(orders, keys):
            try:
                chunk.results.append(self._post_known(order, key, rules, chunk.known,
                                                      chunk.changed))
            except LedgerError as error:
                chunk.results.append(refused(error))
        return chunk

    def _load_for(self, orders: list[dict[str, Any]], guards: list[UUID],
                  after: Chunk | None) -> dict[UUID, Any]:
        """The purchase `guards`, claims and members the orders need, current as of now:
        those the chunk `after` read or recorded come from it (members it changed as copies:
        the originals are being saved), the rest from the bulk cache or the store."""
        earlier = after.known if after else {}
        known = {i: earlier[i] for i in guards if i in earlier}
        known.update(load_many(self, [i for i in guards if i not in known], snapshotted=False))
        # a purchase posted before is answered from its guard alone, as a single post's is
        # (whoever holds the card now): a re-run import reads no member for it
        fresh = [o for o, guard in zip(orders, guards) if guard not in known]
        claims = [IdentityClaim.id_for(*o["identity"]) for o in fresh if o["identity"]]
        known.update({i: earlier[i] for i in claims if i in earlier})
        known.update(load_many(self, [i for i in claims if i not in known], self.bulk_cache,
                               snapshotted=False))
        holders = [known[c].holder for c in claims if c in known and known[c].holder]
        member_ids = [member_uuid(m) for m in
                      [o["member_id"] for o in fresh if o["member_id"]] + holders]
        for member_id in member_ids:
            member = earlier.get(member_id)
            if member_id in known or not isinstance(member, Member):
                continue
            if member_id in after.changed:
                known[member_id] = copy.deepcopy(earlier.pop(member_id))
            elif not member.pending_events:  # facts of a refused order are never carried on
                known[member_id] = earlier.pop(member_id)
        known.update(load_many(self, [m for m in member_ids if m not in known], self.bulk_cache,
                               marks=self.snapshot_marks))
        return known

    def _member_in(self, order: dict[str, Any], known: dict[UUID, Any]) -> Member:
        if order["identity"]:
            claim = known.get(IdentityClaim.id_for(*order["identity"]))
            if claim is None or claim.holder is None:
                raise IdentityNotFound(f"no member holds {order['identity'][0]} {order['identity'][1]}")
            member_id = claim.holder
        else:
            member_id = order["member_id"]
        member = known.get(member_uuid(member_id))
        if not isinstance(member, Member):
            raise MemberNotFound(f"no member {member_id}")
        while order["identity"] and member.status == "merged":
            member = known.get(UUID(member.merged_into)) or self.member(member.merged_into)
            known[member.id] = member
        return member

    def _post_known(self, order: dict[str, Any], key: UUID, rules: Rules,
                    known: dict[UUID, Any], changed: dict[UUID, Any]) -> dict[str, Any]:
        """Judges one order whose Purchase guard id is `key`."""
        rules.require_currency(order["currency"])
        earlier = known.get(key)
        if earlier is not None:
            if earlier.request_hash != order["request_hash"]:
                raise IdempotencyConflict(f"transaction {order['channel']}/{order['transaction_id']}"
                                          " was already used with a different body")
            return {"status": 200, "points_earned": earlier.points_earned}
        member = self._member_in(order, known)
        if member.status == "merged":
            raise MemberMerged(str(member.id), member.merged_into)
        purchase, others = self.record_purchase(member, rules, known=known,
                                                **purchase_fields(order))
        for aggregate in (member, purchase, *others):
            known[aggregate.id] = changed[aggregate.id] = aggregate
        return {"status": 201, "points_earned": purchase.points_earned}
