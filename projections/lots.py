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
from projections.base import Fact, ReadModel, as_json, upsert_rows

Key = tuple[UUID, str]
COLUMNS = ("member_id", "lot_id", "source", "remaining", "available_at", "expires_at", "pending")
_KEYS = "json_populate_recordset(NULL::lots, %s::json) AS k"
_LOAD = f"SELECT l.* FROM lots l JOIN {_KEYS} USING (member_id, lot_id)"
_UPSERT = upsert_rows("lots", COLUMNS, key=("member_id", "lot_id"))
_DELETE = f"DELETE FROM lots l USING {_KEYS} WHERE l.member_id = k.member_id AND l.lot_id = k.lot_id"


def _as_keys(keys: list[Key]) -> str:
    return as_json({"member_id": member_id, "lot_id": lot_id} for member_id, lot_id in keys)


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
        keys = list(dict.fromkeys(key for fact in facts for key in self.names(fact.event)))
        loaded = {(row["member_id"], row["lot_id"]): Lot(
            row["lot_id"], row["source"], row["remaining"], row["available_at"],
            row["available_at"], row["expires_at"], row["pending"])
            for row in cursor.execute(_LOAD, (_as_keys(keys),))} if keys else {}
        book = LotBook(loaded)
        apply = self.apply  # bound once: a singledispatchmethod binds anew at each access
        for fact in facts:
            apply(fact.event, book)
        if book.cleared:
            cursor.execute("DELETE FROM lots WHERE member_id = ANY(%b::uuid[])", (book.cleared,))
        upserts = [dict(member_id=k[0], lot_id=k[1], source=lot.source, remaining=lot.remaining,
                        available_at=lot.available_at, expires_at=lot.expires_at,
                        pending=lot.pending) for k, lot in book.lots.items() if lot is not None]
        gone = [key for key, lot in book.lots.items() if lot is None]
        if upserts:
            cursor.execute(_UPSERT, (as_json(upserts),))
        if gone:
            cursor.execute(_DELETE, (_as_keys(gone),))

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
