"""A member's timeline (contract §6): a replay of its own facts from the event store, each
with its sentence, its signed change of the net balance and the running balance after it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any
from uuid import UUID

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


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
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
    def of(cls, member: Member | None) -> RunningBalance:
        return cls() if member is None else cls(member.available, member.pending, member.debt)

    def after(self, fact: Any) -> int:
        """Applies the fact's movement; returns its points (0 for a fact that moves none)."""
        moved = movement(fact)
        if moved is None:
            return 0
        self.available += moved.available
        self.pending += moved.pending
        self.debt += moved.debt
        return moved.points

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
    member = ledger.member(member_id)
    if as_of is not None and as_of < member.created_on:
        raise MemberNotFound(f"no member {member_id} as of {as_of.isoformat()}")
    start = None
    if 0 < after_version < member.version:
        start = ledger.repository.get(member.id, version=after_version)
    balance = RunningBalance.of(start)
    events, more = [], False
    for fact in ledger.events.get(member.id, gt=after_version, limit=limit + 1):
        if as_of is not None and fact.timestamp > as_of:
            break
        if len(events) == limit:
            more = True
            break
        events.append(timeline_entry(fact, balance))
    return {"member_id": str(member.id), "events": events,
            "next_after_version": events[-1]["version"] if more else None}
