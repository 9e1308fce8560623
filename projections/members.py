"""Read model `members`: each member's balances, counters, tier, status and chain head."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from psycopg import Cursor
from psycopg.rows import dict_row

from domain.member import Member
from domain.statement import Movement
from projections.base import Fact, ReadModel, as_json, member_ids, upsert_rows

COLUMNS = ("member_id", "status", "merged_into", "enrolled_at", "referral_code", "available",
           "pending", "debt", "lifetime_earned", "redeemed", "expired", "tier", "tier_since",
           "tier_expires_at", "version", "chain_head", "updated_at")
_UPSERT = upsert_rows("members", COLUMNS, key=("member_id",))
_EARNING_KINDS = ("earn", "referral", "activity")


class MembersReadModel(ReadModel):
    name = "members"
    tables = ("members",)

    def fold(self, cursor: Cursor, facts: list[Fact]) -> None:
        with cursor.connection.cursor(row_factory=dict_row) as reader:
            rows = {row["member_id"]: row for row in reader.execute(
                "SELECT * FROM members WHERE member_id = ANY(%b::uuid[])", (member_ids(facts),))}
        apply = self.apply  # bound once: a singledispatchmethod binds anew at each access
        for fact in facts:
            apply(fact.event, rows)
            self._follow(fact.event, fact.moved, rows[fact.event.originator_id])
        if rows:
            cursor.execute(_UPSERT, (as_json(rows.values()),))

    @staticmethod
    def _follow(event: Any, moved: Movement | None, row: dict[str, Any]) -> None:
        """What every fact changes: balances by its movement, counters, version, chain head."""
        if moved is not None:
            row["available"] += moved.available
            row["pending"] += moved.pending
            row["debt"] += moved.debt
            if moved.kind in _EARNING_KINDS or (moved.kind == "adjust" and moved.points > 0):
                row["lifetime_earned"] += moved.points
            elif moved.kind == "redeem":
                row["redeemed"] -= moved.points
            elif moved.kind == "expire":
                row["expired"] -= moved.points
        row.update(version=event.originator_version, chain_head=event.fact_hash,
                   updated_at=event.timestamp)

    @singledispatchmethod
    def apply(self, event: Any, rows: dict) -> None:
        """Facts with nothing of their own to add to the row."""

    @apply.register
    def _enrolled(self, event: Member.Enrolled, rows: dict) -> None:
        rows[event.originator_id] = dict(
            member_id=event.originator_id, status="active", merged_into=None,
            enrolled_at=event.occurred_at, referral_code=event.referral_code, available=0,
            pending=0, debt=0, lifetime_earned=0, redeemed=0, expired=0, tier="base",
            tier_since=event.occurred_at, tier_expires_at=None)

    @apply.register
    def _tier_changed(self, event: Member.TierChanged, rows: dict) -> None:
        rows[event.originator_id].update(tier=event.to_tier, tier_since=event.since,
                                         tier_expires_at=event.expires_at)

    @apply.register
    def _absorbed(self, event: Member.MemberAbsorbed, rows: dict) -> None:
        row = rows[event.originator_id]
        row.update(tier=event.tier, tier_since=event.tier_since, tier_expires_at=event.tier_expires_at)
        for counter in ("lifetime_earned", "redeemed", "expired"):
            row[counter] += event.counters[counter]

    @apply.register
    def _merged_away(self, event: Member.MergedAway, rows: dict) -> None:
        rows[event.originator_id].update(status="merged", merged_into=event.survivor_id)
