"""How many points a purchase earns (contract §5, Earning), in exact arithmetic."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from domain.rules import Rules

_ONE = Decimal(1)


@dataclass(frozen=True)
class Item:
    sku: str
    category: str | None
    amount: Decimal
    quantity: int = 1


@functools.lru_cache(maxsize=1024)
def _rate(points: int, per_amount: Decimal, category: Decimal, tier: Decimal) -> Fraction:
    """Points per currency unit: points × category multiplier × tier multiplier / per_amount."""
    return Fraction(points) * Fraction(category) * Fraction(tier) / Fraction(per_amount)


def purchase_points(rules: Rules, amount: Decimal, items: list[Item], tier_name: str) -> int:
    """floor(Σ amount / per_amount × points × category multiplier × tier multiplier).

    Every term is a ratio of integers, so nothing rounds before the floor: in decimals,
    10 / 3 × 3 comes to 9.99… and would floor to 9. (Integer arithmetic is also a tenth of the
    cost of 60-digit decimals, per purchase of a bulk import.)
    """
    tier_multiplier = rules.tier(tier_name).earn_multiplier
    if not items:
        rate = _rate(rules.earn_points, rules.per_amount, _ONE, tier_multiplier)
        units, scale = amount.as_integer_ratio()
        return units * rate.numerator // (scale * rate.denominator)
    raw = sum((Fraction(item.amount) * _rate(rules.earn_points, rules.per_amount,
                                             rules.category_multipliers.get(item.category or "", _ONE),
                                             tier_multiplier) for item in items), Fraction(0))
    return math.floor(raw)
