"""A member's lots as its document lists them, each lot placed and encoded once.

Every answer to a write carries the member document, which lists every lot with points left
in spending order. Sorting the lots, showing each as a dict and encoding it grew with the
member, ~1.1 µs a lot: ~170 µs of an answer for a member of 150 lots (every member of the
benchmark gets there within minutes) and ~3 ms for a hot member of 3,000. A lot is an
immutable value, so its sort key, its dict and its JSON are worked out once and kept by lot
id beside the very lot object they came from; a document uses them while the member holds
that object. A lot spent, activated or replaced is a new object, worked out afresh.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Callable

from domain.document import shown_lot
from domain.lots import Lot, spending_order

KEPT = 100_000  # lots kept (~50 MB at most); all are dropped at once when there are more
_KEY = itemgetter(1)


class LotList(list):
    """A document's `lots`: a list of dicts like any other, whose JSON can also be had by
    joining each lot's, encoded once (the API's answers do: api/responses.py)."""

    __slots__ = ("_entries",)

    def json(self, render: Callable[[Any], bytes]) -> bytes:
        """The list as JSON; a lot not encoded yet is encoded by `render`. The encoding is
        kept with the lot, for whoever asks next: a process has one renderer, the API's."""
        parts = []
        for entry in self._entries:
            if entry[3] is None:
                entry[3] = render(entry[2])
            parts.append(entry[3])
        return b"[" + b",".join(parts) + b"]"


class LotListings:
    """This process's lots as documents show them: [lot, sort key, dict, JSON or None]."""

    def __init__(self, kept: int = KEPT) -> None:
        self.kept, self.known = kept, {}

    def of(self, lots: dict[str, Lot]) -> LotList:
        """The lots shown in spending order, as `member_document` lists them."""
        known, entries = self.known, []
        for lot in lots.values():
            entry = known.get(lot.lot_id)
            if entry is None or entry[0] is not lot:
                entry = known[lot.lot_id] = [lot, spending_order(lot), shown_lot(lot), None]
            entries.append(entry)
        if len(known) > self.kept:
            self.known = {}  # `entries` keeps what this listing needs
        entries.sort(key=_KEY)
        listing = LotList([dict(entry[2]) for entry in entries])  # the caller's own dicts
        listing._entries = entries
        return listing
