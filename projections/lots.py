"""Read model `lots`: every lot with points left, pending or available (what tick reads).

A batch loads only the lots its facts name, applies the facts in order, and writes back only
what changed: members with thousands of lots cost no more than members with one.
"""

from __future__ import annotations

from dataclasses import replace
from functools import singledispatchmethod
from typing import Any, Iterator
from uuid import UUID

from psycopg import Cursor

from domain.lots import Lot
from domain.member import Member
from projections.base import Fact, ReadModel, member_facts

Key = tuple[UUID, str]
_LOAD = ("SELECT l.* FROM lots l JOIN unnest(%s::uuid[], %s::text[]) AS k(member_id, lot_id) "
         "ON l.member_id = k.member_id AND l.lot_id = k.lot_id")
_UPSERT = ("INSERT INTO lots (member_id, lot_id, source, remaining, available_at, expires_at, pending) "
           "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (member_id, lot_id) DO UPDATE SET "
           "remaining = EXCLUDED.remaining, pending = EXCLUDED.pending, source = EXCLUDED.source, "
           "available_at = EXCLUDED.available_at, expires_at = EXCLUDED.expires_at")
_DELETE = "DELETE FROM lots WHERE member_id = %s AND lot_id = %s"


class LotBook:
    """The lots a batch touches: None marks a lot that is gone."""

    def __init__(self, loaded: dict[Key, Lot]) -> None:
        self.lots: dict[Key, Lot | None] = dict(loaded)
        self.cleared: list[UUID] = []

    def put(self, member_id: UUID, lot: Lot) -> None:
        self.lots[(member_id, lot.lot_id)] = lot

    def take(self, member_id: UUID, parts: list[dict]) -> None:
        for part in parts:
            lot = self.lots[(member_id, part["lot_id"])].less(part["points"])
            self.lots[(member_id, lot.lot_id)] = lot if lot.remaining else None

    def clear(self, member_id: UUID) -> None:
        self.cleared.append(member_id)
        self.lots = {key: lot for key, lot in self.lots.items() if key[0] != member_id}


class LotsReadModel(ReadModel):
    name = "lots"
    tables = ("lots",)

    def fold(self, cursor: Cursor, facts: list[Fact]) -> None:
        facts = member_facts(facts)
        keys = list(dict.fromkeys(key for fact in facts for key in self.names(fact.event)))
        loaded = {(row["member_id"], row["lot_id"]): Lot(
            row["lot_id"], row["source"], row["remaining"], row["available_at"],
            row["available_at"], row["expires_at"], row["pending"])
            for row in cursor.execute(_LOAD, ([k[0] for k in keys], [k[1] for k in keys]))}
        book = LotBook(loaded)
        for fact in facts:
            self.apply(fact.event, book)
        for member_id in book.cleared:
            cursor.execute("DELETE FROM lots WHERE member_id = %s", (member_id,))
        upserts = [(k[0], k[1], lot.source, lot.remaining, lot.available_at, lot.expires_at,
                    lot.pending) for k, lot in book.lots.items() if lot is not None]
        cursor.executemany(_UPSERT, upserts)
        cursor.executemany(_DELETE, [key for key, lot in book.lots.items() if lot is None])

    @staticmethod
    def names(event: Any) -> Iterator[Key]:
        """The existing lots a fact changes (those it creates come whole in the fact)."""
        member_id = event.originator_id
        for field in ("drawn", "taken", "settled"):
            for part in getattr(event, field, None) or []:
                yield member_id, part["lot_id"]
        if isinstance(event, (Member.PointsActivated, Member.PointsExpired)):
            yield member_id, event.lot_id

    @singledispatchmethod
    def apply(self, event: Any, book: LotBook) -> None:
        """Facts that move no lot."""

    def _grant(self, event: Any, book: LotBook) -> None:
        if event.lot is not None:
            book.put(event.originator_id, event.lot)

    @apply.register
    def _earned(self, event: Member.PointsEarned, book: LotBook) -> None:
        self._grant(event, book)

    @apply.register
    def _referral(self, event: Member.ReferralCredited, book: LotBook) -> None:
        self._grant(event, book)

    @apply.register
    def _activity(self, event: Member.ActivityRewarded, book: LotBook) -> None:
        self._grant(event, book)

    @apply.register
    def _adjusted(self, event: Member.PointsAdjusted, book: LotBook) -> None:
        self._grant(event, book)
        book.take(event.originator_id, event.drawn)

    @apply.register
    def _redeemed(self, event: Member.PointsRedeemed, book: LotBook) -> None:
        book.take(event.originator_id, event.drawn)

    @apply.register
    def _returned(self, event: Member.PurchaseReturned, book: LotBook) -> None:
        book.take(event.originator_id, event.taken)

    @apply.register
    def _activated(self, event: Member.PointsActivated, book: LotBook) -> None:
        key = (event.originator_id, event.lot_id)
        book.lots[key] = replace(book.lots[key], pending=False)

    @apply.register
    def _expired(self, event: Member.PointsExpired, book: LotBook) -> None:
        book.lots[(event.originator_id, event.lot_id)] = None

    @apply.register
    def _absorbed(self, event: Member.MemberAbsorbed, book: LotBook) -> None:
        for lot in event.lots:
            book.put(event.originator_id, lot)
        book.take(event.originator_id, event.settled)

    @apply.register
    def _merged_away(self, event: Member.MergedAway, book: LotBook) -> None:
        book.clear(event.originator_id)
