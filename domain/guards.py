"""Small aggregates whose ids are derived from client keys, saved with the member they guard.

Because the event store refuses a second event at version 1 for the same id, saving a guard
in the same transaction as the member's new facts makes an idempotency key, an identity or a
referral code impossible to use twice, whatever the concurrency.
"""

from __future__ import annotations

import functools
import hashlib
from decimal import Decimal
from typing import Any
from uuid import UUID, SafeUUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic, resolve_topic

from domain.facts import new_fact

NAMESPACE = UUID("6c1f1f7e-3b7a-4d7e-9a57-2f4f3c9d1a10")
_HASHED_NAMESPACE = hashlib.sha1(NAMESPACE.bytes)
_VERSION_BITS, _VERSION_5 = 0xF000 << 64 | 0xC000 << 48, 5 << 76 | 0x8000 << 48


@functools.lru_cache(maxsize=16_384)  # a batch names each of its keys several times
def guard_id(kind: str, value: str) -> UUID:
    """`uuid5(NAMESPACE, kind + ":" + value)`, at a third of its cost (a bulk post makes one
    per order): the namespace is hashed once and the UUID built without re-checking it."""
    digest = _HASHED_NAMESPACE.copy()
    digest.update(f"{kind}:{value}".encode())
    number = int.from_bytes(digest.digest()[:16]) & ~_VERSION_BITS | _VERSION_5
    guard = object.__new__(UUID)
    object.__setattr__(guard, "int", number)
    object.__setattr__(guard, "is_safe", SafeUUID.unknown)
    return guard


_NOTHING = Decimal("0.00")
_EVENT_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def keep_fields(event: Any, aggregate: Any) -> None:
    """Copies a creation fact's own fields onto the new aggregate."""
    for name, value in vars(event).items():
        if name not in _EVENT_FIELDS:
            setattr(aggregate, name, value)


class Guard(Aggregate):
    """An aggregate whose creation fact carries all its fields.

    Guards are created, and read back, thousands at a time by bulk posting; the library's
    generic `_create` and creation `mutate` matched the fact's fields against `__init__`
    signatures on every call, half of a guard's cost. These build the same fact and the same
    aggregate (a test compares them with the library's) without that.
    """

    class Created(Aggregate.Created):
        def mutate(self, aggregate: Any) -> Any:
            guard = object.__new__(resolve_topic(self.originator_topic))
            guard.__base_init__(self.originator_id, self.originator_version, self.timestamp)
            self.apply(guard)
            return guard

    @classmethod
    def _create(cls, event_class: type, *, id: UUID, **fields: Any) -> Any:  # noqa: A002
        fields.update(originator_topic=get_topic(cls), originator_id=id,
                      originator_version=cls.INITIAL_VERSION,
                      timestamp=event_class.create_timestamp())
        created = new_fact(event_class, fields)
        guard = created.mutate(None)
        guard.pending_events.append(created)
        return guard


class Receipt(Guard):
    """The ledger's answer to one client write (redemption, adjustment, activity, merge, ...)."""

    class Issued(Guard.Created):
        kind: str
        key: str
        request_hash: str
        member_id: str
        member_version: int
        result: dict[str, Any]

        apply = keep_fields

    @classmethod
    def issue(cls, kind: str, key: str, request_hash: str, member_id: str,
              member_version: int, result: dict[str, Any]) -> Receipt:
        return cls._create(cls.Issued, id=guard_id(kind, key), kind=kind, key=key,
                           request_hash=request_hash, member_id=member_id,
                           member_version=member_version, result=result)


class Purchase(Guard):
    """A recorded purchase: what it earned, for whom, and the returns made against it."""

    class Recorded(Guard.Created):
        channel: str
        transaction_id: str
        request_hash: str
        member_id: str
        member_version: int
        amount: Decimal
        currency: str
        points_earned: int
        lot_id: str | None
        result: dict[str, Any]

        def apply(self, purchase: Purchase) -> None:
            keep_fields(self, purchase)
            purchase.returned = _NOTHING
            purchase.owed = 0
            purchase.returns = {}

    class ReturnRecorded(Aggregate.Event):
        return_id: str
        request_hash: str
        amount: Decimal
        owed: int
        member_id: str
        member_version: int
        result: dict[str, Any]

        def apply(self, purchase: Purchase) -> None:
            purchase.returned += self.amount
            purchase.owed += self.owed
            purchase.returns[self.return_id] = {
                "request_hash": self.request_hash, "member_id": self.member_id,
                "member_version": self.member_version, "result": self.result,
            }

    @staticmethod
    def id_for(channel: str, transaction_id: str) -> UUID:
        return guard_id("purchase", f"{channel}:{transaction_id}")

    @classmethod
    def record(cls, **fields: Any) -> Purchase:
        return cls._create(cls.Recorded, id=cls.id_for(fields["channel"], fields["transaction_id"]),
                           **fields)

    def record_return(self, **fields: Any) -> None:
        self.trigger_event(self.ReturnRecorded, **fields)


class IdentityClaim(Guard):
    """Who holds an identity (phone, card, openid, ...); at most one member at a time."""

    class Claimed(Guard.Created):
        kind: str
        value: str
        member_id: str

        def apply(self, claim: IdentityClaim) -> None:
            keep_fields(self, claim)
            claim.holder = self.member_id

    class Transferred(Aggregate.Event):
        member_id: str | None  # None: released

        def apply(self, claim: IdentityClaim) -> None:
            claim.holder = self.member_id

    @staticmethod
    def id_for(kind: str, value: str) -> UUID:
        return guard_id("identity", f"{kind}:{value}")

    @classmethod
    def claim(cls, kind: str, value: str, member_id: str) -> IdentityClaim:
        return cls._create(cls.Claimed, id=cls.id_for(kind, value), kind=kind, value=value,
                           member_id=member_id)

    def transfer(self, member_id: str | None) -> None:
        self.trigger_event(self.Transferred, member_id=member_id)


class ReferralCode(Guard):
    """A member's referral code, unique across the ledger."""

    class Assigned(Guard.Created):
        code: str
        member_id: str

        apply = keep_fields

    @staticmethod
    def id_for(code: str) -> UUID:
        return guard_id("referral", code)

    @classmethod
    def assign(cls, code: str, member_id: str) -> ReferralCode:
        return cls._create(cls.Assigned, id=cls.id_for(code), code=code, member_id=member_id)
