"""Use cases of the till and the shop: purchases (with referral credits) and returns."""

from __future__ import annotations

import asyncio
import functools
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import anyio.to_thread
from eventsourcing.persistence import IntegrityError

from domain.earning import Item
from domain.errors import IdentityNotFound, LedgerError, TransactionNotFound
from domain.guards import IdentityClaim, Purchase
from domain.member import Member
from domain.rules import Rules
from tally.application import LedgerCore, system
from tally.guarding import Outcome, check_replay, retrying
from tally.lanes import Waiting


def purchase_fields(order: dict[str, Any]) -> dict[str, Any]:
    """An order's (`post_purchase`'s keyword arguments) fields for `record_purchase`: all but
    how it names the member, who is found by then."""
    return {key: value for key, value in order.items() if key not in ("member_id", "identity")}


class PurchaseUseCases(LedgerCore):
    def holder_of(self, kind: str, value: str) -> Member:
        """The member holding an identity (after a merge, the survivor); IdentityNotFound."""
        claim = self._get(IdentityClaim.id_for(kind, value), IdentityClaim)
        if claim is None or claim.holder is None:
            raise IdentityNotFound(f"no member holds {kind} {value}")
        return self.survivor(self.member_to_change(claim.holder))

    def post_purchase(self, *, transaction_id: str, channel: str, store_id: str | None,
                      member_id: str | None, identity: tuple[str, str] | None, amount: Decimal,
                      currency: str, items: list[Item], occurred_at: datetime,
                      actor: dict[str, Any], request_hash: str) -> Outcome:
        """Records a purchase once per (channel, transaction_id).

        Raises InvalidInput (currency), MemberNotFound, IdentityNotFound, IdempotencyConflict,
        MemberMerged (a merged member_id), Busy.
        """
        self.rules().require_currency(currency)

        def attempt() -> Outcome:
            # A new purchase is the common case: decide and save at once. The Purchase guard
            # can only be created once, so a retried post is refused by the store (or by the
            # member's state, e.g. merged since) and only then is the earlier answer read.
            try:
                member = self.member_to_change(member_id) if identity is None \
                    else self.holder_of(*identity)
                rules = self.rules()
                purchase, referrer = self.record_purchase(
                    member, rules, transaction_id=transaction_id, channel=channel,
                    store_id=store_id, amount=amount, currency=currency, items=items,
                    occurred_at=occurred_at, actor=actor, request_hash=request_hash)
                self.save(member, purchase, *referrer)
            except (LedgerError, IntegrityError):
                earlier = self._get(Purchase.id_for(channel, transaction_id), Purchase)
                if earlier is None:
                    raise
                check_replay(earlier.request_hash, request_hash,
                             f"transaction {channel}/{transaction_id}")
                return self._purchase_answer(earlier, replayed=True)
            return Outcome(self._purchase_body(purchase, self.document(member, rules)))

        with self.locks.holding(member_id or self._claimed_by(identity)):
            return retrying(attempt)

    async def post_purchase_soon(self, **order: Any) -> Outcome:
        """`post_purchase` for the event loop: the same answers, without a worker thread when
        the purchase needs nothing from the store.

        A purchase for a member this process holds in memory, and that no other request here
        is changing, is decided on the event loop and waits for its group commit holding no
        thread: the hop to a worker thread and back cost more CPU than the purchase (bench/).
        Purchases of that member arriving meanwhile wait in its lane and are decided and saved
        together after it (tally/lanes.py). Everything else (a member to read, an identity to
        look up, a referral credit, a refusal, a replay, a race lost) is worked out by
        `post_purchase` in a worker thread.
        """
        self.rules().require_currency(order["currency"])
        if order["identity"] is None:
            member_id = str(order["member_id"])
            answer = self.lanes.join(member_id, order)
            if answer is None and (lock := self.locks.try_hold(member_id)) is not None:
                answer = asyncio.get_running_loop().create_future()
                lane = self.lanes.opened(member_id, lock)
                try:
                    await self._purchases_in_memory(member_id, [(order, answer)])
                finally:
                    self.lanes.hand_on(lane, self._purchases_in_memory)
                    if not answer.done():
                        answer.set_result(None)  # left to post_purchase
            if answer is not None and (outcome := await answer) is not None:
                return outcome
        return await anyio.to_thread.run_sync(functools.partial(self.post_purchase, **order))

    def _in_memory(self, member_id: str) -> bool:
        """Whether this process holds the member in memory: deciding for it reads nothing
        from the store (which would hold up the event loop)."""
        try:
            return isinstance(self.repository.cache.get(UUID(member_id)), Member)
        except (KeyError, ValueError, AttributeError):
            return False

    async def _purchases_in_memory(self, member_id: str, orders: Waiting) -> None:
        """Decides the orders one after another on the member in memory and saves them in one
        go; answers each one's future, or leaves them all to `post_purchase` (a referral
        credit due, a refusal, a race lost: what a single post would answer is worked out
        there). A lane's later round may find the member gone from memory (a race lost to
        another process forgets it): that round is left to `post_purchase` too."""
        if not self._in_memory(member_id):
            return
        member = self.member_to_change(member_id)  # a copy of the cached member
        if member.awaits_referral_credit:
            return
        rules, decided = self.rules(), []
        for order, answer in orders:
            if decided:
                await asyncio.sleep(0)  # other requests go on meanwhile: a round is long
            try:
                purchase, _ = self.record_purchase(member, rules, **purchase_fields(order))
            except LedgerError:
                return
            decided.append((answer, purchase, self.document(member, rules)))
        try:
            await self.save_soon(member, *(purchase for _, purchase, _ in decided))
        except (LedgerError, IntegrityError):
            return
        for answer, purchase, document in decided:
            if not answer.done():
                answer.set_result(Outcome(self._purchase_body(purchase, document)))

    def _claimed_by(self, identity: tuple[str, str]) -> str:
        claim = self._get(IdentityClaim.id_for(*identity), IdentityClaim)
        return str(claim.holder) if claim is not None else f"identity:{identity}"

    def record_purchase(self, member: Member, rules: Rules, *, transaction_id: str, channel: str,
                        store_id: str | None, amount: Decimal, currency: str, items: list[Item],
                        occurred_at: datetime, actor: dict[str, Any], request_hash: str,
                        known: dict | None = None) -> tuple[Purchase, list[Member]]:
        """Decides a new purchase on a loaded member: due facts, points, referral credits.

        Returns the Purchase guard and any other member changed (the referrer); `known` holds
        aggregates already loaded (and maybe changed) in this unit of work.
        """
        member.ensure_active()
        member.catch_up(rules, occurred_at, system(actor))
        first_referred = member.awaits_referral_credit
        result = member.earn_purchase(rules, channel, transaction_id, store_id, amount, currency,
                                      items, occurred_at, actor)
        referrer = self._credit_referral(member, rules, occurred_at, actor, known or {}) \
            if first_referred else []
        purchase = Purchase.record(
            channel=channel, transaction_id=transaction_id, request_hash=request_hash,
            member_id=str(member.id), member_version=member.version, amount=amount,
            currency=currency, points_earned=result["points_earned"],
            lot_id=result.pop("lot_id"), result={**result, "_program_version": rules.version})
        return purchase, referrer

    def _credit_referral(self, member: Member, rules: Rules, occurred_at: datetime,
                         actor: dict[str, Any], known: dict) -> list[Member]:
        """With a referee's first purchase, both sides get their bonus (once, ever)."""
        referrer = known.get(UUID(member.referrer_id)) or self.member_to_change(member.referrer_id)
        while referrer.status == "merged":
            referrer = known.get(UUID(referrer.merged_into)) \
                or self.member_to_change(referrer.merged_into)
        member.credit_referral(rules, "referee", str(referrer.id), occurred_at, actor)
        if referrer.id == member.id:
            return []
        referrer.credit_referral(rules, "referrer", str(member.id), occurred_at, actor)
        return [referrer]

    def _purchase_body(self, purchase: Purchase, document: dict[str, Any]) -> dict[str, Any]:
        result = purchase.result
        return {"transaction_id": purchase.transaction_id, "channel": purchase.channel,
                "member_id": purchase.member_id, "points_earned": purchase.points_earned,
                "status": result["status"], "available_at": result["available_at"],
                "expires_at": result["expires_at"], "member": document}

    def _purchase_answer(self, purchase: Purchase, replayed: bool) -> Outcome:
        document = self.document_at_version(purchase.member_id, purchase.member_version,
                                            purchase.result["_program_version"])
        return Outcome(self._purchase_body(purchase, document), replayed)

    def return_purchase(self, *, channel: str, transaction_id: str, return_id: str,
                        amount: Decimal, occurred_at: datetime, actor: dict[str, Any],
                        request_hash: str) -> Outcome:
        """A full or partial return; its return_id is unique per purchase.

        Raises TransactionNotFound, IdempotencyConflict, ReturnExceedsPurchase, Busy.
        """

        def attempt() -> Outcome:
            purchase = self._get(Purchase.id_for(channel, transaction_id), Purchase)
            if purchase is None:
                raise TransactionNotFound(f"no transaction {channel}/{transaction_id}")
            earlier = purchase.returns.get(return_id)
            if earlier is not None:
                check_replay(earlier["request_hash"], request_hash, f"return id {return_id!r}")
                return self.answer(earlier["result"], earlier["member_id"],
                                   earlier["member_version"],
                                   earlier["result"]["_program_version"], replayed=True)
            member = self.survivor(self.member(purchase.member_id))
            rules = self.rules()
            member.catch_up(rules, occurred_at, system(actor))
            try:
                outcome = member.take_return(rules, purchase, return_id, amount, occurred_at,
                                             actor)
            except LedgerError:
                self.save_due_facts(member)
                raise
            result = {"return_id": return_id, "points_clawed_back": outcome["points_clawed_back"],
                      "points_forgiven": outcome["points_forgiven"],
                      "debt_created": outcome["debt_created"], "_program_version": rules.version}
            purchase.record_return(return_id=return_id, request_hash=request_hash, amount=amount,
                                   owed=outcome["owed"], member_id=str(member.id),
                                   member_version=member.version, result=result)
            self.save(member, purchase)
            return self.fresh(result, member, rules)

        with self.locks.holding(f"purchase:{channel}:{transaction_id}"):
            return retrying(attempt)
