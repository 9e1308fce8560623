"""Many purchases per database transaction, for shop back-office imports (contract §3 batch).

Each order is judged on its own, in input order, exactly as a single post would judge it;
what changes is the work around it: guards, claims and members are loaded for a whole chunk in
a few queries and the chunk's new facts are saved in one transaction. If that save loses a
race with another writer, the chunk is posted again one order at a time (each retried and
idempotent), so the answers stay those of single posts.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.errors import (IdempotencyConflict, IdentityNotFound, LedgerError, MemberMerged,
                           MemberNotFound)
from domain.guards import IdentityClaim, Purchase
from domain.member import Member
from domain.rules import Rules
from tally.bulk import collector_paused, load_many
from tally.purchases import PurchaseUseCases

CHUNK = 1000
STATUS = {"member_not_found": 404, "identity_not_found": 404, "transaction_not_found": 404,
          "idempotency_conflict": 409, "member_merged": 409, "busy": 409,
          "insufficient_points": 409, "identity_taken": 409, "activity_limit_reached": 409}


def refused(error: LedgerError) -> dict[str, Any]:
    return {"status": STATUS.get(error.code, 422), "code": error.code, "detail": error.detail}


class BatchUseCases(PurchaseUseCases):
    def post_purchases(self, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Posts each order (the keyword arguments of `post_purchase`); one result per order:
        {"status": 201 | 200 | 404 | 409 | 422, "points_earned"?, "code"?, "detail"?}."""
        with collector_paused():
            return [result for start in range(0, len(orders), CHUNK)
                    for result in self._post_or_post_alone(orders[start:start + CHUNK])]

    def _post_or_post_alone(self, chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
        try:
            with self.bulk_cache.lock:
                return self._post_chunk(chunk)
        except IntegrityError:
            return [self._post_alone(order) for order in chunk]

    def _post_alone(self, order: dict[str, Any]) -> dict[str, Any]:
        try:
            outcome = self.post_purchase(**order)
        except LedgerError as error:
            return refused(error)
        return {"status": 200 if outcome.replayed else 201,
                "points_earned": outcome.body["points_earned"]}

    def _post_chunk(self, chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rules, known, changed, results = self.rules(), self._load_for(chunk), {}, []
        for order in chunk:
            try:
                results.append(self._post_known(order, rules, known, changed))
            except LedgerError as error:
                results.append(refused(error))
        self.save(*changed.values())
        self.bulk_cache.keep(a for a in changed.values() if isinstance(a, Member))
        self.bulk_cache.give_back(a for i, a in known.items() if isinstance(a, Member)
                                  and i not in changed and not a.pending_events)
        return results

    def _load_for(self, chunk: list[dict[str, Any]]) -> dict[UUID, Any]:
        """The guards, claims and members the chunk needs, current as of now."""
        guards = [Purchase.id_for(o["channel"], o["transaction_id"]) for o in chunk]
        claims = [IdentityClaim.id_for(*o["identity"]) for o in chunk if o["identity"]]
        known = load_many(self, guards + claims)
        holders = [known[c].holder for c in claims if c in known and known[c].holder]
        member_ids = [UUID(str(m)) for m in [o["member_id"] for o in chunk if o["member_id"]] + holders]
        known.update(load_many(self, member_ids, self.bulk_cache))
        return known

    def _member_in(self, order: dict[str, Any], known: dict[UUID, Any]) -> Member:
        if order["identity"]:
            claim = known.get(IdentityClaim.id_for(*order["identity"]))
            if claim is None or claim.holder is None:
                raise IdentityNotFound(f"no member holds {order['identity'][0]} {order['identity'][1]}")
            member_id = claim.holder
        else:
            member_id = order["member_id"]
        member = known.get(UUID(str(member_id)))
        if not isinstance(member, Member):
            raise MemberNotFound(f"no member {member_id}")
        while order["identity"] and member.status == "merged":
            member = known.get(UUID(member.merged_into)) or self.member(member.merged_into)
            known[member.id] = member
        return member

    def _post_known(self, order: dict[str, Any], rules: Rules, known: dict[UUID, Any],
                    changed: dict[UUID, Any]) -> dict[str, Any]:
        rules.require_currency(order["currency"])
        member = self._member_in(order, known)
        key = Purchase.id_for(order["channel"], order["transaction_id"])
        earlier = known.get(key)
        if earlier is not None:
            if earlier.request_hash != order["request_hash"]:
                raise IdempotencyConflict(f"transaction {order['channel']}/{order['transaction_id']}"
                                          " was already used with a different body")
            return {"status": 200, "points_earned": earlier.points_earned}
        if member.status == "merged":
            raise MemberMerged(str(member.id), member.merged_into)
        fields = {k: v for k, v in order.items() if k not in ("member_id", "identity")}
        purchase, others = self.record_purchase(member, rules, known=known, **fields)
        for aggregate in (member, purchase, *others):
            known[aggregate.id] = changed[aggregate.id] = aggregate
        return {"status": 201, "points_earned": purchase.points_earned}
