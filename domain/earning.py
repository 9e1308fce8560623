"""How many points a purchase earns (contract §5, Earning), in exact decimal arithmetic."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, localcontext

from domain.rules import Rules

_ONE = Decimal(1)


@dataclass(frozen=True)
class Item:
    sku: str
    category: str | None
    amount: Decimal
    quantity: int = 1


def purchase_points(rules: Rules, amount: Decimal, items: list[Item], tier_name: str) -> int:
    """floor(Σ amount / per_amount × points × category multiplier × tier multiplier)."""
    tier_multiplier = rules.tier(tier_name).earn_multiplier
    parts = [(item.amount, item.category) for item in items] or [(amount, None)]
    with localcontext(prec=60):
        raw = sum(
            part / rules.per_amount * rules.earn_points
            * rules.category_multipliers.get(category or "", _ONE) * tier_multiplier
            for part, category in parts
        )
        return int(math.floor(raw))
