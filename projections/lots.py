"""Read model `lots`: every lot with points left, pending or available (what tick reads)."""

from __future__ import annotations

from dataclasses import replace
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from psycopg import Cursor

from domain.lots import Lot
from domain.member import Member
from projections.base import Fact, ReadModel, member_facts, member_ids

COLUMNS = ("member_id", "lot_id", "source", "remaining", "available_at", "expires_at", "pending")


class LotsReadModel(ReadModel):
    name = "lots"
    tables = ("lots",)

    def fold(self, cursor: Cursor, facts: list[Fact]) -> None:
        facts = member_facts(facts)
        touched = member_ids(facts)
        books: dict[UUID, dict[str, Lot]] = {member_id: {} for member_id in touched}
        for row in cursor.execute("SELECT * FROM lots WHERE member_id = ANY(%s)", (touched,)):
            books[row["member_id"]][row["lot_id"]] = Lot(
                row["lot_id"], row["source"], row["remaining"], row["available_at"],
                row["available_at"], row["expires_at"], row["pending"])
        for fact in facts:
            self.apply(fact.event, books[fact.event.originator_id])
        cursor.execute("DELETE FROM lots WHERE member_id = ANY(%s)", (touched,))
        with cursor.copy(f"COPY lots ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for member_id, book in books.items():
                for lot in book.values():
                    copy.write_row((member_id, lot.lot_id, lot.source, lot.remaining,
                                    lot.available_at, lot.expires_at, lot.pending))

    @singledispatchmethod
    def apply(self, event: Any, book: dict[str, Lot]) -> None:
        """Facts that move no lot."""

    def _grant(self, event: Any, book: dict[str, Lot]) -> None:
        if event.lot is not None:
            book[event.lot.lot_id] = event.lot

    def _take(self, parts: list[dict], book: dict[str, Lot]) -> None:
        for part in parts:
            lot = book[part["lot_id"]].less(part["points"])
            if lot.remaining:
                book[lot.lot_id] = lot
            else:
                del book[lot.lot_id]

    @apply.register
    def _earned(self, event: Member.PointsEarned, book: dict[str, Lot]) -> None:
        self._grant(event, book)

    @apply.register
    def _referral(self, event: Member.ReferralCredited, book: dict[str, Lot]) -> None:
        self._grant(event, book)

    @apply.register
    def _activity(self, event: Member.ActivityRewarded, book: dict[str, Lot]) -> None:
        self._grant(event, book)

    @apply.register
    def _adjusted(self, event: Member.PointsAdjusted, book: dict[str, Lot]) -> None:
        self._grant(event, book)
        self._take(event.drawn, book)

    @apply.register
    def _redeemed(self, event: Member.PointsRedeemed, book: dict[str, Lot]) -> None:
        self._take(event.drawn, book)

    @apply.register
    def _returned(self, event: Member.PurchaseReturned, book: dict[str, Lot]) -> None:
        self._take(event.taken, book)

    @apply.register
    def _activated(self, event: Member.PointsActivated, book: dict[str, Lot]) -> None:
        book[event.lot_id] = replace(book[event.lot_id], pending=False)

    @apply.register
    def _expired(self, event: Member.PointsExpired, book: dict[str, Lot]) -> None:
        del book[event.lot_id]

    @apply.register
    def _absorbed(self, event: Member.MemberAbsorbed, book: dict[str, Lot]) -> None:
        book.update({lot.lot_id: lot for lot in event.lots})
        self._take(event.settled, book)

    @apply.register
    def _merged_away(self, event: Member.MergedAway, book: dict[str, Lot]) -> None:
        book.clear()
