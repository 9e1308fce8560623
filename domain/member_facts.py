"""The facts recorded on a member, and how each one changes the member's state.

They are nested in `MemberFacts`, which `Member` inherits; the library redefines each of them on
`Member`, so they read, and are stored, as `domain.member:Member.<Name>`: never rename them or
move `Member` without registering the old topic. Every fact carries its business time (`occurred_at`), who
recorded it (`actor`), its own hash and the hash of the fact before it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from eventsourcing.domain import Aggregate

from domain.lots import Lot, due_at, sooner
from domain.spend import SpendHistory


# The member's earliest timer as (version, when), worked out at that version by
# `Member.earliest_timer`. Any fact moves the version on and so makes it stale; adding a lot
# carries it forward, taking from lots forgets it. Never snapshotted.
NEXT_TIMER = "_next_timer"


def _add_lot(member: Any, lot: Lot | None, debt_paid: int, points: int) -> None:
    """Pays debt first and keeps the rest as `lot`; the earliest timer, if known just before
    this fact (`apply` runs before the version moves on), stays known across it."""
    member.debt -= debt_paid
    if lot is not None:
        member.lots[lot.lot_id] = lot
    member.lifetime_earned += points
    known = member.__dict__.pop(NEXT_TIMER, None)
    if known is not None and known[0] == member.version:
        when = due_at(lot) if lot is not None else None
        member.__dict__[NEXT_TIMER] = (member.version + 1, sooner(known[1], when))


def _take(member: Any, parts: list[dict[str, Any]]) -> None:
    member.__dict__.pop(NEXT_TIMER, None)
    for part in parts:
        lot = member.lots[part["lot_id"]].less(part["points"])
        if lot.remaining:
            member.lots[lot.lot_id] = lot
        else:
            del member.lots[lot.lot_id]


class MemberFacts:
    class Event(Aggregate.Event):
        occurred_at: datetime
        actor: dict[str, Any]
        prev_hash: str
        fact_hash: str

        def mutate(self, aggregate: Any) -> Any:
            member = super().mutate(aggregate)
            member.chain_head = self.fact_hash
            return member

    class Enrolled(Event, Aggregate.Created):
        identities: list[dict[str, str]]
        referral_code: str
        referrer_id: str | None
        request_hash: str

        def apply(self, member: Any) -> None:
            member.enrolled_at = self.occurred_at
            member.request_hash = self.request_hash
            member.status, member.merged_into = "active", None
            member.identities = [dict(identity) for identity in self.identities]
            member.referral_code, member.referrer_id = self.referral_code, self.referrer_id
            member.referral_credited, member.purchases = False, 0
            member.lots, member.debt = {}, 0
            member.lifetime_earned = member.redeemed = member.expired = 0
            member.tier, member.tier_since, member.tier_expires_at = "base", self.occurred_at, None
            member.spend = SpendHistory()
            member.activity_days, member.activity_totals = {}, {}

    class IdentityLinked(Event):
        kind: str
        value: str

        def apply(self, member: Any) -> None:
            member.identities.append({"kind": self.kind, "value": self.value})

    class IdentityUnlinked(Event):
        kind: str
        value: str

        def apply(self, member: Any) -> None:
            member.identities.remove({"kind": self.kind, "value": self.value})

    class PointsEarned(Event):
        channel: str
        transaction_id: str
        store_id: str | None
        amount: Decimal
        currency: str
        items: list[dict[str, Any]]
        points: int
        tier: str
        tier_multiplier: Decimal
        program_version: int
        lot: Lot | None
        debt_paid: int

        def apply(self, member: Any) -> None:
            _add_lot(member, self.lot, self.debt_paid, self.points)
            member.spend.add(self.occurred_at, self.amount)
            member.purchases += 1

    class ReferralCredited(Event):
        role: str  # referee or referrer
        counterpart_id: str
        points: int
        lot: Lot | None
        debt_paid: int
        program_version: int

        def apply(self, member: Any) -> None:
            _add_lot(member, self.lot, self.debt_paid, self.points)
            if self.role == "referee":
                member.referral_credited = True

    class ActivityRewarded(Event):
        activity_id: str
        kind: str
        local_day: str
        points: int
        lot: Lot | None
        debt_paid: int
        program_version: int

        def apply(self, member: Any) -> None:
            _add_lot(member, self.lot, self.debt_paid, self.points)
            days = member.activity_days.setdefault(self.kind, {})
            days[self.local_day] = days.get(self.local_day, 0) + 1
            member.activity_totals[self.kind] = member.activity_totals.get(self.kind, 0) + 1

    class PointsAdjusted(Event):
        adjustment_id: str
        points: int
        reason: str
        ticket: str | None
        lot: Lot | None
        debt_paid: int
        drawn: list[dict[str, Any]]
        program_version: int

        def apply(self, member: Any) -> None:
            if self.points > 0:
                _add_lot(member, self.lot, self.debt_paid, self.points)
            _take(member, self.drawn)

    class PointsRedeemed(Event):
        redemption_id: str
        points: int
        reward: str | None
        drawn: list[dict[str, Any]]

        def apply(self, member: Any) -> None:
            _take(member, self.drawn)
            member.redeemed += self.points

    class PointsActivated(Event):
        lot_id: str
        points: int

        def apply(self, member: Any) -> None:
            member.lots[self.lot_id] = replace(member.lots[self.lot_id], pending=False)

    class PointsExpired(Event):
        lot_id: str
        points: int

        def apply(self, member: Any) -> None:
            del member.lots[self.lot_id]
            member.expired += self.points

    class PurchaseReturned(Event):
        channel: str
        transaction_id: str
        return_id: str
        amount: Decimal
        owed: int
        taken: list[dict[str, Any]]
        debt_created: int
        forgiven: int
        program_version: int

        def apply(self, member: Any) -> None:
            _take(member, self.taken)
            member.debt += self.debt_created
            member.spend.add(self.occurred_at, -self.amount)

    class TierChanged(Event):
        from_tier: str
        to_tier: str
        reason: str  # upgrade, renewed, downgrade
        since: datetime
        expires_at: datetime | None
        qualifying_spend: Decimal

        def apply(self, member: Any) -> None:
            member.tier, member.tier_since = self.to_tier, self.since
            member.tier_expires_at = self.expires_at

    class MemberAbsorbed(Event):
        merge_id: str
        absorbed_id: str
        reason: str
        lots: list[Lot]
        debt: int
        settled: list[dict[str, Any]]
        spend: list[list[Any]]
        identities: list[dict[str, str]]
        tier: str
        tier_since: datetime
        tier_expires_at: datetime | None
        counters: dict[str, int]
        activity_days: dict[str, dict[str, int]]
        activity_totals: dict[str, int]

        def apply(self, member: Any) -> None:
            member.lots.update({lot.lot_id: lot for lot in self.lots})
            member.debt += self.debt - sum(part["points"] for part in self.settled)
            _take(member, self.settled)
            member.spend = member.spend.merged(self.spend)
            member.identities += [dict(identity) for identity in self.identities]
            member.tier, member.tier_since = self.tier, self.tier_since
            member.tier_expires_at = self.tier_expires_at
            for name, count in self.counters.items():
                setattr(member, name, getattr(member, name) + count)
            for kind, days in self.activity_days.items():
                mine = member.activity_days.setdefault(kind, {})
                for day, count in days.items():
                    mine[day] = mine.get(day, 0) + count
            for kind, count in self.activity_totals.items():
                member.activity_totals[kind] = member.activity_totals.get(kind, 0) + count

    class MergedAway(Event):
        merge_id: str
        survivor_id: str
        reason: str
        available: int
        pending: int
        debt: int

        def apply(self, member: Any) -> None:
            member.status, member.merged_into = "merged", self.survivor_id
            member.lots, member.debt, member.identities = {}, 0, []
