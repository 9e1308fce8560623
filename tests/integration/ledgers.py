"""Builds a Ledger on the test database, with a clock the test can move."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from tally.ledger import Ledger
from tally.storage import eventsourcing_env

ACTOR = {"name": "key:test", "role": "admin", "request_id": "req-1"}


class Clock:
    def __init__(self, now: str = "2026-01-01T00:00") -> None:
        self.now = at(now)

    def __call__(self) -> datetime:
        return self.now


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def open_ledger(database_url: str, clock: Clock | None = None) -> Ledger:
    ledger = Ledger(eventsourcing_env(database_url, 4), clock=clock or Clock())
    ledger.program()
    return ledger


class Shop:
    """Drives a ledger the way a till does, with fresh ids and request hashes."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger, self.count = ledger, 0

    def _next(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}-{self.count}"

    def enroll(self, referrer_code: str | None = None, on: str = "2026-01-01") -> dict[str, Any]:
        return self.ledger.enroll(member_id=None, identities=[], referrer_code=referrer_code,
                                  occurred_at=at(on), actor=ACTOR,
                                  request_hash=self._next("enrol")).body

    def buy(self, member: dict, amount: str, on: str, transaction_id: str | None = None) -> dict:
        transaction_id = transaction_id or self._next("T")
        return self.ledger.post_purchase(
            transaction_id=transaction_id, channel="pos", store_id="S-1",
            member_id=member["member_id"], identity=None, amount=Decimal(amount), currency="CNY",
            items=[], occurred_at=at(on), actor=ACTOR, request_hash=f"{transaction_id}:{amount}").body

    def give_back(self, transaction_id: str, amount: str, on: str) -> dict:
        return_id = self._next("R")
        return self.ledger.return_purchase(
            channel="pos", transaction_id=transaction_id, return_id=return_id,
            amount=Decimal(amount), occurred_at=at(on), actor=ACTOR, request_hash=return_id).body

    def redeem(self, member: dict, points: int, on: str) -> dict:
        redemption_id = self._next("X")
        return self.ledger.redeem_points(
            member_id=member["member_id"], redemption_id=redemption_id, points=points,
            reward=None, occurred_at=at(on), actor=ACTOR, request_hash=redemption_id).body

    def check_in(self, member: dict, on: str) -> dict:
        activity_id = self._next("A")
        return self.ledger.record_activity(
            member_id=member["member_id"], activity_id=activity_id, kind="check_in",
            occurred_at=at(on), actor=ACTOR, request_hash=activity_id).body

    def balance(self, member: dict) -> dict:
        return self.ledger.document(self.ledger.member(member["member_id"]))["balance"]

    def everyone(self, as_of: datetime) -> list:
        """Every member id: a stand-in for the read model's "who is due" in these tests."""
        return [notification.originator_id
                for notification in self.ledger.recorder.select_notifications(1, 10_000)
                if notification.originator_version == 1
                and notification.topic.endswith("Member.Enrolled")]


def order(member: dict | None, amount: str, transaction_id: str, identity=None) -> dict:
    """The keyword arguments of a purchase (`post_purchase` and `post_purchase_soon`)."""
    return dict(transaction_id=transaction_id, channel="pos", store_id="S-1",
                member_id=member["member_id"] if member else None, identity=identity,
                amount=Decimal(amount), currency="CNY", items=[], occurred_at=at("2026-01-02"),
                actor=ACTOR, request_hash=f"{transaction_id}:{amount}")


def soon(shop: Shop, *orders: dict, failures: bool = False) -> list:
    """The orders posted at once on one event loop, as POST /v1/transactions posts them; with
    `failures`, what a post raised is in the list in place of its answer."""
    async def post_all():
        return await asyncio.gather(*(shop.ledger.post_purchase_soon(**o) for o in orders),
                                    return_exceptions=failures)
    return asyncio.run(post_all())


def threads_of(ledger: Ledger) -> list[str]:
    """From now on, the transaction id of each purchase that goes to `post_purchase` in a
    worker thread (the event loop left it there)."""
    calls: list[str] = []
    in_thread = ledger.post_purchase
    ledger.post_purchase = lambda **order: calls.append(order["transaction_id"]) or in_thread(**order)
    return calls
