"""A member's timeline (contract §6): a replay of its own facts from the event store, each
with its sentence, its signed change of the net balance and the running balance after it.
A page deep in a long history starts from the balance the ledger entries read model holds
at its first version (tally/history.py), so it costs what its own facts cost however deep
it is.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, Callable
from uuid import UUID

from domain.errors import InvalidInput, MemberNotFound
from domain.lots import Lot
from domain.member import Member
from domain.statement import movement, summary
from tally.bulk import collector_paused
from tally.history import RunningBalance, opening_balance

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_NOT_DATA = {"originator_id", "originator_version", "originator_topic", "timestamp",
             "occurred_at", "actor"}


def fact_data(fact: Any) -> dict[str, Any]:
    """A fact's own fields (hashes included), lots and other value objects as plain dicts."""
    data = vars(fact).copy()
    for name in _NOT_DATA:
        data.pop(name, None)
    for name, value in data.items():  # most are scalars, decimals or moments, left as they are
        if type(value) not in _AS_IS:
            data[name] = _plain(value)
    return data


_AS_IS = frozenset((str, int, bool, type(None), Decimal, datetime))


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind in _AS_IS:
        return value
    if kind is Lot:  # most facts grant one: named here, not found field by field (1 us less)
        return {"lot_id": value.lot_id, "source": value.source, "remaining": value.remaining,
                "earned_at": value.earned_at, "available_at": value.available_at,
                "expires_at": value.expires_at, "pending": value.pending}
    if kind is list:
        return [_plain(item) for item in value]
    if kind is dict:
        return {key: _plain(item) for key, item in value.items()}
    fields = getattr(kind, "__dataclass_fields__", None)
    if fields is None:
        return value
    return {name: _plain(getattr(value, name)) for name in fields}  # other value objects


@cache
def _reading(kind: type) -> tuple[str, Callable[[Any], str], Callable[[Any], Any]]:
    """A fact class's name, sentence and movement, looked up once per class: through
    singledispatch they cost 0.4 us a fact each."""
    return kind.__name__, summary.dispatch(kind), movement.dispatch(kind)


def _entries(facts: list[Any], balance: RunningBalance, as_of: datetime | None,
             limit: int) -> tuple[list[dict[str, Any]], bool]:
    """Up to `limit` timeline entries of `facts` recorded at or before `as_of`, the running
    balance moved on from `balance`; and whether facts are left after them."""
    events: list[dict[str, Any]] = []
    for fact in facts:
        if as_of is not None and fact.timestamp > as_of:
            return events, False
        if len(events) == limit:
            return events, True
        name, sentence, moving = _reading(type(fact))
        points = balance.moved(moving(fact))
        events.append({"version": fact.originator_version, "type": name,
                       "occurred_at": fact.occurred_at, "recorded_at": fact.timestamp,
                       "summary": sentence(fact), "points_delta": points,
                       "balance": balance.as_dict(), "actor": fact.actor,
                       "data": fact_data(fact)})
    return events, False


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
    with collector_paused():  # tens of thousands of objects a page, freed or answered, no cycles
        facts = _facts_after(ledger, member_id, after_version, limit + 1)
        _require_member(ledger, member_id, facts, as_of)
        balance = opening_balance(ledger, member_id, after_version)
        events, more = _entries(facts, balance, as_of, limit)
    return {"member_id": str(member_id), "events": events,
            "next_after_version": events[-1]["version"] if more else None}


def _require_member(ledger: Any, member_id: UUID, facts: list[Any],
                    as_of: datetime | None) -> None:
    """MemberNotFound unless `facts` (a page) are a member's, enrolled by `as_of` if given.
    The enrolment is read only when the page does not start with it and the answer needs it
    (an empty page, or `as_of`): a fact of any later version is a member's fact as surely,
    and each read was a round trip of 0.2-0.3 ms on every page."""
    first = facts[0] if facts else None
    if first is None or (as_of is not None and first.originator_version != 1):
        first = next(iter(ledger.events.get(member_id, lte=1)), None)
    if not isinstance(first, Member.Event):
        raise MemberNotFound(f"no member {member_id}")
    if as_of is not None and as_of < first.timestamp:
        raise MemberNotFound(f"no member {member_id} as of {as_of.isoformat()}")


def _facts_after(ledger: Any, member_id: UUID, after_version: int, count: int) -> list[Any]:
    """The member's first `count` facts after `after_version`, asked for as a range of versions
    (a member's versions run on from 1 without gaps).

    Asked open-ended (`LIMIT`), PostgreSQL planned each of a connection's first five asks on
    its own, as prepared statements are, and for a long history read every later fact and
    sorted them: 3.7-8.6 ms a page of a 10,000-fact member, against 0.4 through the index,
    the plan it keeps from then on. A range that comes back short (the end of the history,
    or a gap, which verify reports) is followed by an open-ended read of what is left."""
    facts = list(ledger.events.get(member_id, gt=after_version, lte=after_version + count))
    if len(facts) < count:
        last = facts[-1].originator_version if facts else after_version
        facts += ledger.events.get(member_id, gt=last, limit=count - len(facts))
    return facts


def _member_uuid(member_id: UUID | str) -> UUID:
    try:
        return UUID(str(member_id))
    except ValueError:
        raise MemberNotFound(f"no member {member_id}") from None
