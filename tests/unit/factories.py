"""Small builders for domain tests: rules with overrides, times, an enrolled member."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.member import Member
from domain.rules import DEFAULT_PROGRAM, Rules

ACTOR = {"name": "key:test", "role": "admin", "request_id": "req-1"}
MEMBER_ID = UUID("11111111-1111-4111-8111-111111111111")


def rules(version: int = 1, **overrides: Any) -> Rules:
    document = copy.deepcopy(DEFAULT_PROGRAM)
    document.update(overrides)
    return Rules.parse(document, version)


def at(text: str) -> datetime:
    """A UTC moment from 'YYYY-MM-DD' or 'YYYY-MM-DDTHH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def enrolled(on: str = "2026-01-01", member_id: UUID = MEMBER_ID, referrer_id: str | None = None) -> Member:
    return Member.enroll(member_id, [], "CODE0001", referrer_id, "hash", at(on), ACTOR)


def buy(member: Member, program: Rules, amount: str, on: str, transaction_id: str = "T-1",
        items: list | None = None) -> dict:
    return member.earn_purchase(program, "pos", transaction_id, "S-1", Decimal(amount), "CNY",
                                items or [], at(on), ACTOR)


class PurchaseRecord:
    """What a Purchase guard tells a return: amount, points earned, its lot, returns so far."""

    def __init__(self, amount: str, result: dict, transaction_id: str = "T-1") -> None:
        self.channel, self.transaction_id = "pos", transaction_id
        self.amount, self.points_earned = Decimal(amount), result["points_earned"]
        self.lot_id, self.returned, self.owed = result["lot_id"], Decimal("0.00"), 0

    def returned_now(self, amount: str, outcome: dict) -> None:
        self.returned += Decimal(amount)
        self.owed += outcome["owed"]
