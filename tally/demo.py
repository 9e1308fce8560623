"""A realistic synthetic year of a coffee-and-bakery chain's loyalty program.

Thousands of members across channels, a year of purchases with seasonality (weekends, the
11.11 and December peaks), returns, redemptions, check-ins, referrals and a few merges, with a
tick at the end of every week so that points activate and expire and tiers move. Seeded, so
two runs on empty ledgers tell the same story.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from concurrent.futures import ThreadPoolExecutor
from itertools import accumulate
from typing import Any, Callable
from uuid import UUID, uuid5

from domain.errors import LedgerError
from domain.rules import DEFAULT_PROGRAM
from tally.guarding import digest
from tally.ledger import Ledger

ACTOR = {"name": "demo", "role": "admin", "request_id": None}
DEMO_NAMESPACE = UUID("d3e0d3e0-0000-4000-8000-00000000de70")
CATEGORIES = {"coffee": (Decimal("28.00"), 0.55), "bakery": (Decimal("18.00"), 0.3),
              "beans": (Decimal("98.00"), 0.1), "gift_card": (Decimal("500.00"), 0.05)}
CHANNELS = (("pos", 0.6), ("miniapp", 0.3), ("web", 0.1))


@dataclass
class DemoReport:
    members: int = 0
    purchases: int = 0
    returns: int = 0
    redemptions: int = 0
    check_ins: int = 0
    merges: int = 0
    refused: int = 0
    ticks: dict[str, int] = field(default_factory=lambda: {"activated": 0, "expired_points": 0,
                                                           "tiers_changed": 0})
    samples: list[str] = field(default_factory=list)


def demo_program() -> dict[str, Any]:
    program = copy.deepcopy(DEFAULT_PROGRAM)
    program["earn"]["category_multipliers"] = {"beans": "2.0", "gift_card": "0"}
    program["pending_days"] = 7
    program["expiry"] = {"months": 6}
    program["tiers"][1]["min_spend"] = "2000.00"
    program["tiers"][2]["min_spend"] = "6000.00"
    program["tiers"][3]["min_spend"] = "15000.00"
    program["tier_term_days"] = 120
    return program


class Demo:
    def __init__(self, ledger: Ledger, members: int = 3000, seed: int = 7,
                 end: datetime | None = None, progress: Callable[[int, int], None] | None = None):
        self.ledger, self.size, self.random = ledger, members, random.Random(seed)
        self.end = end or datetime(2026, 11, 22, 12, tzinfo=timezone.utc)
        self.start = self.end - timedelta(days=364)
        self.progress = progress or (lambda done, total: None)
        self.report, self.members, self.bought, self.numbered = DemoReport(), [], [], 0

    def run(self) -> DemoReport:
        self.ledger.configure_program(demo_program(), ACTOR)
        self._enrol_everyone()
        self.appetite = list(accumulate(self.random.lognormvariate(0, 1) for _ in self.members))
        for week in range(52):
            monday = self.start + timedelta(days=7 * week)
            self._trade(monday)
            counts = self.ledger.members_due([m for m, _ in self.members], monday + timedelta(days=7))
            for key in self.report.ticks:
                self.report.ticks[key] += counts[key]
            self.progress(week + 1, 52)
        self._merge_some()
        self.report.samples = [member_id for member_id, _ in self.members[:3]]
        return self.report

    def _enrol_everyone(self) -> None:
        """Enrols in waves on a few threads; members of later waves may be referred by earlier ones."""
        with ThreadPoolExecutor(max_workers=6) as pool:
            for wave in range(0, self.size, 500):
                numbers = range(wave, min(wave + 500, self.size))
                self.members += pool.map(self._enrol, [self._applicant(n) for n in numbers])
        self.report.members = self.size

    def _applicant(self, number: int) -> dict[str, Any]:
        identities = [("phone", f"+86138{number:08d}")]
        if self.random.random() < 0.5:
            identities.append(("wechat_openid", f"oDemo{number:06d}"))
        if self.random.random() < 0.3:
            identities.append(("card", f"CARD-{number:07d}"))
        referrer = self.members[self.random.randrange(len(self.members))][1] \
            if self.members and self.random.random() < 0.1 else None
        return dict(member_id=uuid5(DEMO_NAMESPACE, str(number)), identities=identities,
                    referrer_code=referrer, actor=ACTOR, request_hash=digest({"demo": number}),
                    occurred_at=self.start + timedelta(days=self.random.uniform(0, 200)))

    def _enrol(self, applicant: dict[str, Any]) -> tuple[str, str]:
        body = self.ledger.enroll(**applicant).body
        return body["member_id"], body["referral_code"]

    def _weight(self, day: datetime) -> float:
        weight = 1.4 if day.weekday() >= 5 else 1.0
        if day.month == 12 or (day.month == 11 and 10 <= day.day <= 11):
            weight *= 2.5
        return weight

    def _purchase(self, number: int, when: datetime) -> dict[str, Any]:
        member_id = self.random.choices(self.members, cum_weights=self.appetite)[0][0]
        category = self.random.choices(list(CATEGORIES), [w for _, w in CATEGORIES.values()])[0]
        base = CATEGORIES[category][0]
        amount = (base * Decimal(str(round(self.random.uniform(0.6, 2.5), 2)))).quantize(Decimal("0.01"))
        channel = self.random.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
        transaction_id = f"D-{number:07d}"
        return dict(transaction_id=transaction_id, channel=channel, store_id=f"S-{number % 40}",
                    member_id=member_id, identity=None, amount=amount, currency="CNY", items=[],
                    occurred_at=when, actor=ACTOR,
                    request_hash=digest({"t": transaction_id, "a": str(amount)}))

    def _trade(self, monday: datetime) -> None:
        orders = []
        for day in range(7):
            date = monday + timedelta(days=day)
            for _ in range(max(1, int(self.size * 0.025 * self._weight(date)))):
                when = date + timedelta(minutes=self.random.uniform(0, 24 * 60 - 1))
                self.numbered += 1
                orders.append(self._purchase(self.numbered, when))
        orders.sort(key=lambda order: order["occurred_at"])
        results = self.ledger.post_purchases(orders)
        self.bought += [o for o, r in zip(orders, results) if r["status"] in (200, 201)]
        self.report.purchases += sum(r["status"] == 201 for r in results)
        self._everyday_life(monday)

    def _everyday_life(self, monday: datetime) -> None:
        """Returns of recent purchases, redemptions by the richest members, check-ins."""
        later = monday + timedelta(days=6, hours=23)
        for order in self.random.sample(self.bought[-400:], min(8, len(self.bought))):
            self._try("returns", lambda: self.ledger.return_purchase(
                channel=order["channel"], transaction_id=order["transaction_id"],
                return_id=f"RET-{order['transaction_id']}", amount=order["amount"] / 2,
                occurred_at=later, actor=ACTOR, request_hash=order["transaction_id"]))
        for member_id, _ in self.random.sample(self.members, min(25, len(self.members))):
            self._try("check_ins", lambda: self.ledger.record_activity(
                member_id=member_id, activity_id=f"CI-{member_id}-{monday:%Y%m%d}",
                kind="check_in", occurred_at=later, actor=ACTOR, request_hash=str(monday)))
        for member_id, _ in self.members[:60:6]:
            self._try("redemptions", lambda: self.ledger.redeem_points(
                member_id=member_id, redemption_id=f"RD-{member_id}-{monday:%Y%m%d}", points=200,
                reward="free latte", occurred_at=later, actor=ACTOR, request_hash=str(monday)))

    def _merge_some(self) -> None:
        """Ten pairs merged: members 100 to 119, clear of the first 60, who redeem (in a demo
        of fewer than 120 members, pairs from its second half)."""
        first = 100 if len(self.members) >= 120 else len(self.members) // 2
        pairs = self.members[first:first + 20]
        for pair in range(len(pairs) // 2):
            survivor, absorbed = pairs[2 * pair][0], pairs[2 * pair + 1][0]
            self._try("merges", lambda: self.ledger.merge(
                survivor_id=survivor, absorbed_id=absorbed, merge_id=f"MERGE-{pair}",
                reason="same customer at till and mini-program", occurred_at=self.end,
                actor=ACTOR, request_hash=f"merge-{pair}"))

    def _try(self, counter: str, write: Callable[[], Any]) -> None:
        try:
            write()
        except LedgerError:
            self.report.refused += 1
            return
        setattr(self.report, counter, getattr(self.report, counter) + 1)
