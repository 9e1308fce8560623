"""The member: lots, balance, tier, identities and referral state, as a sequence of facts.

Public methods check the rules and raise a LedgerError without recording anything; the
nested event classes are the facts, and their `apply` is all that replay runs.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import lots as lotbook
from domain.calendar import add_days, add_months, local_day
from domain.chain import fact_hash
from domain.earning import Item, purchase_points
from domain.errors import (ActivityLimitReached, InsufficientPoints, InvalidInput,
                           MemberMerged, ReturnExceedsPurchase, UnknownActivity)
from domain.facts import new_fact
from domain.lots import Lot, due_at, sooner
from domain.member_facts import NEXT_TIMER, MemberFacts
from domain.rules import Rules
from domain.spend import SpendHistory
from domain.tiers import at_term_end, highest_reached, qualifying_spend

SYSTEM = {"name": "system", "role": "system", "request_id": None}


class Member(MemberFacts, Aggregate):
    # Version 2 of the snapshotted state keeps spend as a SpendHistory (version 1: a list of
    # [moment, amount] pairs in arrival order).
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["spend"] = SpendHistory.of(state["spend"])

    @classmethod
    def enroll(cls, member_id: UUID, identities: list[dict[str, str]], referral_code: str,
               referrer_id: str | None, request_hash: str, occurred_at: datetime,
               actor: dict[str, Any]) -> Member:
        fields = dict(identities=identities, referral_code=referral_code, referrer_id=referrer_id,
                      request_hash=request_hash, occurred_at=occurred_at, actor=actor,
                      prev_hash="", timestamp=cls.Enrolled.create_timestamp())
        fields["fact_hash"] = fact_hash("Enrolled", member_id, 1, fields)
        return cls._create(cls.Enrolled, id=member_id, **fields)

    def __deepcopy__(self, memo: dict) -> Member:
        """A copy sharing only immutable parts: lots are frozen and every fact's `apply`
        replaces, never edits, the lists and dicts it finds (but activity days' counters)."""
        copy = object.__new__(type(self))
        state = dict(self.__dict__)
        state.update(lots=dict(self.lots), spend=self.spend.copy(), identities=list(self.identities),
                     activity_days={kind: dict(days) for kind, days in self.activity_days.items()},
                     activity_totals=dict(self.activity_totals), _pending_events=[])
        copy.__dict__.update(state)
        return copy

    def trigger_event(self, event_class: type, **fields: Any) -> None:
        """Records the next fact, chained to the one before: the library's `trigger_event`
        with the hash added, without copying the fields twice more, and the fact built by
        `new_fact` rather than its dataclass `__init__`."""
        version = self.version + 1
        fields.setdefault("timestamp", event_class.create_timestamp())
        fields["prev_hash"] = self.chain_head
        fields["fact_hash"] = fact_hash(event_class.__name__, self.id, version, fields)
        fields["originator_id"], fields["originator_version"] = self.id, version
        fact = new_fact(event_class, fields)
        fact.mutate(self)
        self._pending_events.append(fact)

    # Balances -----------------------------------------------------------------------------

    @property
    def available(self) -> int:
        return sum(lot.remaining for lot in self.lots.values() if not lot.pending)

    @property
    def pending(self) -> int:
        return sum(lot.remaining for lot in self.lots.values() if lot.pending)

    def holds(self, kind: str, value: str) -> bool:
        return {"kind": kind, "value": value} in self.identities

    def ensure_active(self) -> None:
        if self.status == "merged":
            raise MemberMerged(str(self.id), self.merged_into)

    # Time-driven facts --------------------------------------------------------------------

    def catch_up(self, rules: Rules, until: datetime, actor: dict[str, Any] = SYSTEM) -> int:
        """Records activations, expiries and tier term ends due at or before `until`."""
        count = 0
        earliest = self.earliest_timer()
        if earliest is None or earliest > until:
            return count
        while (due := self.next_due(until)) is not None:
            when, kind, lot_id = due
            if kind == 0:
                lot = self.lots[lot_id]
                self.trigger_event(self.PointsActivated, occurred_at=when, actor=actor,
                                   lot_id=lot_id, points=lot.remaining)
            elif kind == 1:
                lot = self.lots[lot_id]
                self.trigger_event(self.PointsExpired, occurred_at=when, actor=actor,
                                   lot_id=lot_id, points=lot.remaining)
            else:
                self._end_tier_term(rules, when, actor)
            count += 1
        return count

    def earliest_timer(self) -> datetime | None:
        """When the next time-driven fact falls due (None: nothing ever).

        Remembered for the version it was worked out at, and carried forward by the facts
        that add a lot (member_facts.NEXT_TIMER): a pass over the lots of a member with
        a long history, scattered in memory, cost 60 µs a purchase in a bulk import.
        """
        known = self.__dict__.get(NEXT_TIMER)
        if known is not None and known[0] == self.version:
            return known[1]
        best = self.tier_expires_at
        for lot in self.lots.values():
            best = sooner(best, due_at(lot))
        self.__dict__[NEXT_TIMER] = (self.version, best)
        return best

    def next_due(self, until: datetime | None = None) -> tuple[datetime, int, str] | None:
        """(when, 0 activation | 1 expiry | 2 tier term end, lot id) of the earliest timer."""
        timers = [(lot.available_at, 0, lot.lot_id) if lot.pending else (lot.expires_at, 1, lot.lot_id)
                  for lot in self.lots.values() if lot.pending or lot.expires_at is not None]
        if self.tier_expires_at is not None:
            timers.append((self.tier_expires_at, 2, ""))
        due = min(timers, default=None)
        return due if due is not None and (until is None or due[0] <= until) else None

    def _end_tier_term(self, rules: Rules, at: datetime, actor: dict[str, Any]) -> None:
        spend = qualifying_spend(self.spend, at, rules.tier_window_days)
        tier, reason = at_term_end(rules, self.tier, spend)
        since = self.tier_since if tier.name == self.tier else at
        self._change_tier(rules, tier.name, reason, since, at, spend, actor)

    def _change_tier(self, rules: Rules, name: str, reason: str, since: datetime, at: datetime,
                     spend: Decimal, actor: dict[str, Any]) -> None:
        expires_at = None if rules.rank(name) == 0 else add_days(at, rules.tier_term_days)
        self.trigger_event(self.TierChanged, occurred_at=at, actor=actor, from_tier=self.tier,
                           to_tier=name, reason=reason, since=since, expires_at=expires_at,
                           qualifying_spend=spend)

    # Grants -------------------------------------------------------------------------------

    @staticmethod
    def _grant_dates(rules: Rules, occurred_at: datetime,
                     may_be_pending: bool) -> tuple[datetime, datetime | None]:
        """When points granted at `occurred_at` become available, and when they expire."""
        available_at = occurred_at
        if may_be_pending and rules.pending_days:
            available_at = add_days(occurred_at, rules.pending_days)
        expires_at = add_months(available_at, rules.expiry_months) if rules.expiry_months else None
        return available_at, expires_at

    def _grant(self, points: int, source: str, occurred_at: datetime, rules: Rules,
               may_be_pending: bool,
               dates: tuple[datetime, datetime | None] | None = None) -> tuple[Lot | None, int]:
        """Debt first; the rest becomes a lot with its availability and expiry."""
        debt_paid = min(self.debt, points)
        available_at, expires_at = dates or self._grant_dates(rules, occurred_at, may_be_pending)
        if points == debt_paid:
            return None, debt_paid
        lot = Lot(lot_id=f"{self.id.hex[:12]}-{self.version + 1}", source=source,
                  remaining=points - debt_paid, earned_at=occurred_at, available_at=available_at,
                  expires_at=expires_at, pending=available_at > occurred_at)
        return lot, debt_paid

    def earn_purchase(self, rules: Rules, channel: str, transaction_id: str, store_id: str | None,
                      amount: Decimal, currency: str, items: list[Item], occurred_at: datetime,
                      actor: dict[str, Any]) -> dict[str, Any]:
        self.ensure_active()
        points = purchase_points(rules, amount, items, self.tier)
        dates = available_at, expires_at = self._grant_dates(rules, occurred_at, True)
        lot, debt_paid = self._grant(points, "purchase", occurred_at, rules, True, dates)
        self.trigger_event(
            self.PointsEarned, occurred_at=occurred_at, actor=actor, channel=channel,
            transaction_id=transaction_id, store_id=store_id, amount=amount, currency=currency,
            items=[vars(item) for item in items], points=points, tier=self.tier,
            tier_multiplier=rules.tier(self.tier).earn_multiplier, program_version=rules.version,
            lot=lot, debt_paid=debt_paid)
        self._upgrade_if_reached(rules, occurred_at, actor)
        return {"points_earned": points, "lot_id": lot.lot_id if lot else None,
                "status": "pending" if available_at > occurred_at else "available",
                "available_at": available_at, "expires_at": expires_at}

    def _upgrade_if_reached(self, rules: Rules, at: datetime, actor: dict[str, Any]) -> None:
        if rules.rank(self.tier) == len(rules.tiers) - 1:
            return
        spend = qualifying_spend(self.spend, at, rules.tier_window_days)
        latest = self.spend.latest
        if latest > at and at > latest - timedelta(days=rules.tier_window_days):
            # a late purchase (from a till that was offline) lifts the window ending at the
            # member's latest spend too, and that is the spend the member is shown
            spend = max(spend, qualifying_spend(self.spend, latest, rules.tier_window_days))
        reached = highest_reached(rules, spend)
        if rules.rank(reached.name) > rules.rank(self.tier):
            self._change_tier(rules, reached.name, "upgrade", at, at, spend, actor)

    @property
    def awaits_referral_credit(self) -> bool:
        return self.referrer_id is not None and not self.referral_credited and self.purchases == 0

    def credit_referral(self, rules: Rules, role: str, counterpart_id: str, occurred_at: datetime,
                        actor: dict[str, Any]) -> None:
        """A referral bonus: `role` is "referee" (first purchase) or "referrer"."""
        points = rules.referee_points if role == "referee" else rules.referrer_points
        lot, debt_paid = self._grant(points, "referral", occurred_at, rules, may_be_pending=True)
        self.trigger_event(self.ReferralCredited, occurred_at=occurred_at, actor=actor, role=role,
                           counterpart_id=counterpart_id, points=points, lot=lot,
                           debt_paid=debt_paid, program_version=rules.version)

    def record_activity(self, rules: Rules, activity_id: str, kind: str, occurred_at: datetime,
                        actor: dict[str, Any]) -> int:
        self.ensure_active()
        spec = rules.activities.get(kind)
        if spec is None:
            raise UnknownActivity(f"the program defines no activity {kind!r}")
        day = local_day(occurred_at, rules.timezone).isoformat()
        if spec.per_day and self.activity_days.get(kind, {}).get(day, 0) >= spec.per_day:
            raise ActivityLimitReached(f"{kind}: {spec.per_day} per day, used up on {day}")
        if spec.lifetime and self.activity_totals.get(kind, 0) >= spec.lifetime:
            raise ActivityLimitReached(f"{kind}: {spec.lifetime} per member, used up")
        lot, debt_paid = self._grant(spec.points, "activity", occurred_at, rules, False)
        self.trigger_event(self.ActivityRewarded, occurred_at=occurred_at, actor=actor,
                           activity_id=activity_id, kind=kind, local_day=day, points=spec.points,
                           lot=lot, debt_paid=debt_paid, program_version=rules.version)
        return spec.points

    # Spending -----------------------------------------------------------------------------

    def _draw(self, points: int) -> list[dict[str, Any]]:
        if points > self.available:
            raise InsufficientPoints(f"{points} points asked, {self.available} available")
        return lotbook.draw(self.lots.values(), points)

    def redeem(self, redemption_id: str, points: int, reward: str | None, occurred_at: datetime,
               actor: dict[str, Any]) -> list[dict[str, Any]]:
        """Spends from the lots that expire soonest; returns which lots paid."""
        self.ensure_active()
        drawn = self._draw(points)
        self.trigger_event(self.PointsRedeemed, occurred_at=occurred_at, actor=actor,
                           redemption_id=redemption_id, points=points, reward=reward, drawn=drawn)
        return drawn

    def adjust(self, rules: Rules, adjustment_id: str, points: int, reason: str,
               ticket: str | None, occurred_at: datetime, actor: dict[str, Any]) -> None:
        self.ensure_active()
        lot, debt_paid, drawn = None, 0, []
        if points > 0:
            lot, debt_paid = self._grant(points, "adjustment", occurred_at, rules, False)
        else:
            drawn = self._draw(-points)
        self.trigger_event(self.PointsAdjusted, occurred_at=occurred_at, actor=actor,
                           adjustment_id=adjustment_id, points=points, reason=reason, ticket=ticket,
                           lot=lot, debt_paid=debt_paid, drawn=drawn, program_version=rules.version)

    def take_return(self, rules: Rules, purchase: Any, return_id: str, amount: Decimal,
                    occurred_at: datetime, actor: dict[str, Any]) -> dict[str, int]:
        """Claws back floor(earned × returned / amount) in total: own lot, other lots, then policy."""
        self.ensure_active()
        returned = purchase.returned + amount
        if returned > purchase.amount:
            raise ReturnExceedsPurchase(
                f"returns would total {returned} of a {purchase.amount} purchase")
        owed = math.floor(purchase.points_earned * returned / purchase.amount) - purchase.owed
        taken = self._clawback_sources(rules.return_policy, purchase.lot_id, owed)
        rest = owed - lotbook.total(taken)
        debt_created = rest if rules.return_policy == "unlimited" else 0
        self.trigger_event(self.PurchaseReturned, occurred_at=occurred_at, actor=actor,
                           channel=purchase.channel, transaction_id=purchase.transaction_id,
                           return_id=return_id, amount=amount, owed=owed, taken=taken,
                           debt_created=debt_created, forgiven=rest - debt_created,
                           program_version=rules.version)
        return {"points_clawed_back": lotbook.total(taken) + debt_created,
                "points_forgiven": rest - debt_created, "debt_created": debt_created, "owed": owed}

    def _clawback_sources(self, policy: str, own_lot_id: str | None, owed: int) -> list[dict]:
        taken = []
        own = self.lots.get(own_lot_id) if own_lot_id else None
        if own is not None and owed > 0 and (policy != "only_pending" or own.pending):
            taken.append({"lot_id": own.lot_id, "points": min(owed, own.remaining),
                          "pending": own.pending})
        if policy != "only_pending":
            others = [lot for lot in self.lots.values() if lot is not own]
            taken += lotbook.draw(others, owed - lotbook.total(taken))
        return taken

    # Merging ------------------------------------------------------------------------------

    def absorb(self, rules: Rules, absorbed: Member, merge_id: str, reason: str,
               occurred_at: datetime, actor: dict[str, Any]) -> None:
        """Takes over the absorbed member's lots, debt, spend, identities and better tier."""
        self.ensure_active()
        if absorbed.id == self.id:
            raise InvalidInput("absorbed_member_id", "a member cannot absorb itself")
        if absorbed.status == "merged":
            raise InvalidInput("absorbed_member_id", f"already merged into {absorbed.merged_into}")
        lots = list(absorbed.lots.values())
        settled = lotbook.draw(list(self.lots.values()) + lots, self.debt + absorbed.debt)
        tier = max((self, absorbed), key=lambda m: (rules.rank(m.tier), m.tier_expires_at is None,
                                                    m.tier_expires_at or occurred_at))
        self.trigger_event(
            self.MemberAbsorbed, occurred_at=occurred_at, actor=actor, merge_id=merge_id,
            absorbed_id=str(absorbed.id), reason=reason, lots=lots, debt=absorbed.debt,
            settled=settled, spend=absorbed.spend.entries(), identities=list(absorbed.identities),
            tier=tier.tier, tier_since=tier.tier_since, tier_expires_at=tier.tier_expires_at,
            counters={"lifetime_earned": absorbed.lifetime_earned, "redeemed": absorbed.redeemed,
                      "expired": absorbed.expired, "purchases": absorbed.purchases},
            activity_days=absorbed.activity_days, activity_totals=absorbed.activity_totals)
        absorbed.trigger_event(
            absorbed.MergedAway, occurred_at=occurred_at, actor=actor, merge_id=merge_id,
            survivor_id=str(self.id), reason=reason, available=absorbed.available,
            pending=absorbed.pending, debt=absorbed.debt)

    def link_identity(self, kind: str, value: str, occurred_at: datetime,
                      actor: dict[str, Any]) -> None:
        self.ensure_active()
        self.trigger_event(self.IdentityLinked, occurred_at=occurred_at, actor=actor, kind=kind,
                           value=value)

    def unlink_identity(self, kind: str, value: str, occurred_at: datetime,
                        actor: dict[str, Any]) -> None:
        self.ensure_active()
        self.trigger_event(self.IdentityUnlinked, occurred_at=occurred_at, actor=actor,
                           kind=kind, value=value)
