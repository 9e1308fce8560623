"""Lots: each grant of points with what is left of it, when it becomes available and expires."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Iterable


@dataclass(frozen=True, slots=True)  # slots: a third less memory per lot than a __dict__
class Lot:
    lot_id: str
    source: str  # purchase, referral, activity, adjustment
    remaining: int
    earned_at: datetime
    available_at: datetime
    expires_at: datetime | None  # None: never expires
    pending: bool

    def less(self, points: int) -> Lot:
        return replace(self, remaining=self.remaining - points)


def due_at(lot: Lot) -> datetime | None:
    """When the lot's next time-driven fact falls due: activation if pending, else expiry."""
    return lot.available_at if lot.pending else lot.expires_at


def sooner(first: datetime | None, second: datetime | None) -> datetime | None:
    """The earlier of two moments, None standing for never."""
    if first is None or (second is not None and second < first):
        return second
    return first


def spending_order(lot: Lot) -> tuple:
    """Soonest expiry first (never-expiring last); ties: earliest earned."""
    return (lot.expires_at is None, lot.expires_at or lot.earned_at, lot.earned_at, lot.lot_id)


def draw(lots: Iterable[Lot], points: int) -> list[dict]:
    """Which available lots pay `points`, as [{"lot_id", "points"}]; may fall short."""
    drawn = []
    for lot in sorted((lot for lot in lots if not lot.pending), key=spending_order):
        if points <= 0:
            break
        take = min(points, lot.remaining)
        if take > 0:
            drawn.append({"lot_id": lot.lot_id, "points": take})
            points -= take
    return drawn


def total(drawn: Iterable[dict]) -> int:
    return sum(part["points"] for part in drawn)
