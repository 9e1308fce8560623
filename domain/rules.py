"""A program document (contract §5): its default, its validation, and the parsed `Rules`."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import InvalidInput, InvalidProgram

RETURN_POLICIES = ("unlimited", "within_balance", "only_pending")
DOWNGRADES = ("one_down", "requalify")

DEFAULT_PROGRAM: dict[str, Any] = {
    "currency": "CNY",
    "timezone": "Asia/Shanghai",
    "earn": {"points": 1, "per_amount": "1.00", "category_multipliers": {}},
    "pending_days": 0,
    "expiry": {"months": 12},
    "return_policy": "unlimited",
    "tiers": [
        {"name": "base", "min_spend": "0.00", "earn_multiplier": "1.0"},
        {"name": "silver", "min_spend": "1000.00", "earn_multiplier": "1.25"},
        {"name": "gold", "min_spend": "5000.00", "earn_multiplier": "1.5"},
        {"name": "platinum", "min_spend": "20000.00", "earn_multiplier": "2.0"},
    ],
    "tier_window_days": 365,
    "tier_term_days": 365,
    "downgrade": "one_down",
    "referral": {"referrer_points": 100, "referee_points": 50},
    "activities": {
        "check_in": {"points": 5, "per_day": 1},
        "profile_completed": {"points": 50, "lifetime": 1},
        "share": {"points": 2, "per_day": 5},
    },
}


@dataclass(frozen=True)
class Tier:
    name: str
    min_spend: Decimal
    earn_multiplier: Decimal


@dataclass(frozen=True)
class Activity:
    points: int
    per_day: int | None
    lifetime: int | None


@dataclass(frozen=True)
class Rules:
    """A validated program, in the types the rules compute with."""

    version: int
    currency: str
    timezone: str
    earn_points: int
    per_amount: Decimal
    category_multipliers: dict[str, Decimal]
    pending_days: int
    expiry_months: int | None
    return_policy: str
    tiers: tuple[Tier, ...]
    tier_window_days: int
    tier_term_days: int
    downgrade: str
    referrer_points: int
    referee_points: int
    activities: dict[str, Activity]

    @property
    def base(self) -> Tier:
        return self.tiers[0]

    @cached_property
    def _ranks(self) -> dict[str, int]:
        return {tier.name: index for index, tier in reversed(list(enumerate(self.tiers)))}

    def rank(self, tier_name: str) -> int:
        """Position of a tier, base = 0; a tier the program no longer has ranks as base."""
        return self._ranks.get(tier_name, 0)

    def tier(self, tier_name: str) -> Tier:
        return self.tiers[self.rank(tier_name)]

    def require_currency(self, currency: str) -> None:
        if currency != self.currency:
            raise InvalidInput("currency", f"must be the program's currency, {self.currency}")

    @classmethod
    def parse(cls, document: dict[str, Any], version: int) -> Rules:
        """Rules from a document; raises InvalidProgram listing every problem."""
        return _Parser(document).rules(version)


class _Parser:
    """Reads a document field by field, collecting problems instead of stopping at one."""

    def __init__(self, document: Any) -> None:
        self.doc = document if isinstance(document, dict) else {}
        self.problems: list[dict[str, str]] = []
        if not isinstance(document, dict):
            self.problem("", "a program is a JSON object")

    def problem(self, field: str, message: str) -> None:
        self.problems.append({"field": field, "message": message})

    def get(self, path: str) -> Any:
        node: Any = self.doc
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    def integer(self, path: str, value: Any = None, minimum: int = 0, optional: bool = False) -> Any:
        value = self.get(path) if value is None and path else value
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.problem(path, f"must be an integer of at least {minimum}")
            return minimum
        return value

    def decimal(self, path: str, value: Any = None, positive: bool = False) -> Decimal:
        value = self.get(path) if value is None else value
        try:
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise InvalidOperation
            number = Decimal(value)
            if not number.is_finite() or number < 0 or (positive and number == 0):
                raise InvalidOperation
        except InvalidOperation:
            rule = "above zero" if positive else "zero or more"
            self.problem(path, f"must be a decimal string, {rule}")
            return Decimal(1)
        return number

    def choice(self, path: str, options: tuple[str, ...]) -> str:
        value = self.get(path)
        if value not in options:
            self.problem(path, f"must be one of {', '.join(options)}")
            return options[0]
        return value

    def rules(self, version: int) -> Rules:
        rules = Rules(
            version=version,
            currency=self.currency(),
            timezone=self.timezone(),
            earn_points=self.integer("earn.points"),
            per_amount=self.decimal("earn.per_amount", positive=True),
            category_multipliers=self.category_multipliers(),
            pending_days=self.integer("pending_days"),
            expiry_months=self.integer("expiry.months", minimum=1, optional=True),
            return_policy=self.choice("return_policy", RETURN_POLICIES),
            tiers=self.tiers(),
            tier_window_days=self.integer("tier_window_days", minimum=1),
            tier_term_days=self.integer("tier_term_days", minimum=1),
            downgrade=self.choice("downgrade", DOWNGRADES),
            referrer_points=self.integer("referral.referrer_points"),
            referee_points=self.integer("referral.referee_points"),
            activities=self.activities(),
        )
        if not isinstance(self.get("expiry"), dict):
            self.problem("expiry", 'must be an object like {"months": 12}')
        if self.problems:
            raise InvalidProgram(self.problems)
        return rules

    def currency(self) -> str:
        value = self.get("currency")
        if not (isinstance(value, str) and len(value) == 3 and value.isalpha() and value.isupper()):
            self.problem("currency", "must be an ISO 4217 code like CNY")
            return "XXX"
        return value

    def timezone(self) -> str:
        value = self.get("timezone")
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            self.problem("timezone", "must be an IANA time zone like Asia/Shanghai")
            return "UTC"
        return value

    def category_multipliers(self) -> dict[str, Decimal]:
        value = self.get("earn.category_multipliers")
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem("earn.category_multipliers", "must be an object of category: multiplier")
            return {}
        path = "earn.category_multipliers."
        return {name: self.decimal(path + name, number) for name, number in value.items()}

    def tiers(self) -> tuple[Tier, ...]:
        value = self.get("tiers")
        if not isinstance(value, list) or not value:
            self.problem("tiers", "must be a non-empty list")
            return (Tier("base", Decimal(0), Decimal(1)),)
        tiers = tuple(self.tier(index, item) for index, item in enumerate(value))
        names = [tier.name for tier in tiers]
        if len(set(names)) != len(names):
            self.problem("tiers", "tier names must be unique")
        if tiers[0].min_spend != 0:
            self.problem("tiers.0.min_spend", 'the first tier must start at "0.00"')
        if any(a.min_spend >= b.min_spend for a, b in zip(tiers, tiers[1:])):
            self.problem("tiers", "min_spend must rise strictly from tier to tier")
        return tiers

    def tier(self, index: int, item: Any) -> Tier:
        path = f"tiers.{index}"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            self.problem(path, "a tier needs a name, a min_spend and an earn_multiplier")
            return Tier(f"#{index}", Decimal(index), Decimal(1))
        return Tier(
            name=item["name"],
            min_spend=self.decimal(f"{path}.min_spend", item.get("min_spend")),
            earn_multiplier=self.decimal(f"{path}.earn_multiplier", item.get("earn_multiplier")),
        )

    def activities(self) -> dict[str, Activity]:
        value = self.get("activities")
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem("activities", "must be an object of kind: {points, per_day, lifetime}")
            return {}
        result = {}
        for kind, spec in value.items():
            path = f"activities.{kind}"
            spec = spec if isinstance(spec, dict) else {}
            result[kind] = Activity(
                points=self.integer(f"{path}.points", spec.get("points")),
                per_day=self.integer(f"{path}.per_day", spec.get("per_day"), 1, optional=True),
                lifetime=self.integer(f"{path}.lifetime", spec.get("lifetime"), 1, optional=True),
            )
        return result
