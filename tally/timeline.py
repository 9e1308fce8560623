"""A member's timeline (contract §6): a replay of its own facts from the event store, each
with its sentence, its signed change of the net balance and the running balance after it.
A page deep in a long history starts from the balance the ledger entries read model holds
at its first version, where the read model has reached it, so it costs what its own facts
cost however deep it is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import ProgrammingError
from psycopg.errors import UndefinedTable
from psycopg.sql import SQL, Identifier

from domain.errors import InvalidInput, MemberNotFound
from domain.member import Member
from domain.statement import movement, summary

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_NOT_DATA = {"originator_id", "originator_version", "originator_topic", "timestamp",
             "occurred_at", "actor"}


def fact_data(fact: Any) -> dict[str, Any]:
    """A fact's own fields (hashes included), lots and other value objects as plain dicts."""
    return {name: _plain(value) for name, value in vars(fact).items() if name not in _NOT_DATA}


_SCALARS = (str, int, bool, type(None))


def _plain(value: Any) -> Any:
    if type(value) in _SCALARS:
        return value
    if hasattr(type(value), "__dataclass_fields__"):  # a lot: its fields, without deep copies
        return {name: _plain(item) for name, item in vars(value).items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


class RunningBalance:
    """Available, pending and debt, moved fact by fact by the facts' ledger movements."""

    def __init__(self, available: int = 0, pending: int = 0, debt: int = 0) -> None:
        self.available, self.pending, self.debt = available, pending, debt

    @classmethod
    def of_snapshot(cls, state: dict[str, Any]) -> RunningBalance:
        """From a member snapshot's stored state, read without restoring the member: a
        long-lived member holds thousands of lots, and restoring them all costs far more
        than adding up their `remaining` (see tally/transcoder.py for the tagged layout)."""
        available = pending = 0
        for lot in state["lots"].values():
            if lot["f"]["pending"]:
                pending += lot["f"]["remaining"]
            else:
                available += lot["f"]["remaining"]
        return cls(available, pending, state["debt"])

    def after(self, fact: Any) -> int:
        """Applies the fact's movement; returns its points (0 for a fact that moves none)."""
        moved = movement(fact)
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


def timeline_entry(fact: Any, balance: RunningBalance) -> dict[str, Any]:
    points = balance.after(fact)
    return {"version": fact.originator_version, "type": type(fact).__name__,
            "occurred_at": fact.occurred_at, "recorded_at": fact.timestamp,
            "summary": summary(fact), "points_delta": points, "balance": balance.as_dict(),
            "actor": fact.actor, "data": fact_data(fact)}


def _check_page(after_version: int, limit: int) -> None:
    if after_version < 0:
        raise InvalidInput("after_version", "must be 0 or more")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", f"must be between 1 and {MAX_LIMIT}")


def member_timeline(ledger: Any, member_id: UUID | str, as_of: datetime | None = None,
                    after_version: int = 0, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """Up to `limit` facts after `after_version`, recorded at or before `as_of` if given.

    `next_after_version` is the version to ask after for the next page, or None at the end.
    The running balance starts from the member as it stood at `after_version`.
    Raises InvalidInput (paging), MemberNotFound (unknown, or enrolled after `as_of`).
    """
    _check_page(after_version, limit)
    member_id = _member_uuid(member_id)
    enrolment = next(iter(ledger.events.get(member_id, lte=1)), None)
    if not isinstance(enrolment, Member.Event):
        raise MemberNotFound(f"no member {member_id}")
    if as_of is not None and as_of < enrolment.timestamp:
        raise MemberNotFound(f"no member {member_id} as of {as_of.isoformat()}")
    balance = opening_balance(ledger, member_id, after_version)
    events, more = [], False
    for fact in ledger.events.get(member_id, gt=after_version, limit=limit + 1):
        if as_of is not None and fact.timestamp > as_of:
            break
        if len(events) == limit:
            more = True
            break
        events.append(timeline_entry(fact, balance))
    return {"member_id": str(member_id), "events": events,
            "next_after_version": events[-1]["version"] if more else None}


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
        with recorder.datastore.transaction(commit=False) as cursor:
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


def _member_uuid(member_id: UUID | str) -> UUID:
    try:
        return UUID(str(member_id))
    except ValueError:
        raise MemberNotFound(f"no member {member_id}") from None
