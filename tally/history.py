"""A member's balance at any version of its history, as its timeline reads it.

A page deep in a long history starts from the balance the ledger entries read model holds at
its first version, where the read model has reached it (one indexed read; it folds the same
movements); elsewhere from the member's nearest snapshot, read without restoring the member.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import ProgrammingError
from psycopg.errors import UndefinedTable
from psycopg.sql import SQL, Identifier

from domain.statement import Movement, movement
from tally.transcoder import stored_lot_points


class RunningBalance:
    """Available, pending and debt, moved fact by fact by the facts' ledger movements."""

    def __init__(self, available: int = 0, pending: int = 0, debt: int = 0) -> None:
        self.available, self.pending, self.debt = available, pending, debt

    @classmethod
    def of_snapshot(cls, state: dict[str, Any]) -> RunningBalance:
        """From a member snapshot's stored state, read without restoring the member: a
        long-lived member holds thousands of lots, and restoring them all costs far more
        than adding up their `remaining`."""
        remaining = stored_lot_points(state["lots"])
        available = sum(points for pending, points in remaining if not pending)
        return cls(available, sum(points for pending, points in remaining if pending),
                   state["debt"])

    def after(self, fact: Any) -> int:
        """Applies the fact's movement; returns its points (0 for a fact that moves none)."""
        return self.moved(movement(fact))

    def moved(self, moved: Movement | None) -> int:
        """Applies a movement (None: none); returns its points."""
        if moved is None:
            return 0
        self.available += moved.available
        self.pending += moved.pending
        self.debt += moved.debt
        return moved.points

    def before(self, fact: Any) -> None:
        """Takes the fact's movement back (walking back from a later balance)."""
        moved = movement(fact)
        if moved is not None:
            self.available -= moved.available
            self.pending -= moved.pending
            self.debt -= moved.debt

    def as_dict(self) -> dict[str, int]:
        return {"available": self.available, "pending": self.pending, "debt": self.debt}


# The balance after a member's fact, from the last ledger entry at or before it, if the ledger
# entries read model has reached the fact (no row: it has not, and the store must answer).
_PROJECTED = (
    "SELECT e.available_after, e.pending_after, e.debt_after FROM {events} f "
    "LEFT JOIN LATERAL (SELECT available_after, pending_after, debt_after FROM ledger_entries "
    "WHERE member_id = f.originator_id AND position <= f.notification_id "
    "ORDER BY position DESC LIMIT 1) e ON true "
    "WHERE f.originator_id = %s AND f.originator_version = %s AND f.notification_id <= "
    "(SELECT max(notification_id) FROM ledger_entries_tracking WHERE application_name = 'Ledger')")


def opening_balance(ledger: Any, member_id: UUID, version: int) -> RunningBalance:
    """The member's balance right after `version`: from the ledger entries read model if it
    has reached that fact (one indexed read; it folds the same movements), else from the
    nearest snapshot (before it: adding the facts between; after it: taking them away), or
    from enrolment."""
    if version <= 0:
        return RunningBalance()
    projected = projected_balance(ledger, member_id, version)
    if projected is not None:
        return projected
    anchor, balance = 0, RunningBalance()
    if ledger.snapshots is not None:
        nearest = [*ledger.snapshots.recorder.select_events(member_id, lte=version, desc=True,
                                                            limit=1),
                   *ledger.snapshots.recorder.select_events(member_id, gt=version, limit=1)]
        nearest = [stored for stored in nearest
                   if abs(stored.originator_version - version) < version]
        if nearest:
            stored = min(nearest, key=lambda stored: abs(stored.originator_version - version))
            anchor = stored.originator_version
            balance = RunningBalance.of_snapshot(orjson.loads(stored.state)["state"])
    if anchor < version:
        for fact in ledger.events.get(member_id, gt=anchor, lte=version):
            balance.after(fact)
    elif anchor > version:
        for fact in ledger.events.get(member_id, gt=version, lte=anchor):
            balance.before(fact)
    return balance


def projected_balance(ledger: Any, member_id: UUID, version: int) -> RunningBalance | None:
    """The balance after `version` as the ledger entries read model holds it, or None if the
    read model has not reached that fact (or is not there: a ledger without read models)."""
    recorder = ledger.recorder
    events = Identifier(recorder.datastore.schema, recorder.events_table_name)
    try:
        with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
            row = cursor.execute(SQL(_PROJECTED).format(events=events),
                                 (member_id, version)).fetchone()
    except ProgrammingError as error:
        if isinstance(error.__cause__, UndefinedTable):
            return None
        raise
    if row is None:
        return None
    return RunningBalance(row["available_after"] or 0, row["pending_after"] or 0,
                          row["debt_after"] or 0)
