"""Tier qualification over the rolling spend window (contract §5, Tiers)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from domain.rules import Rules, Tier
from domain.spend import SpendHistory


def qualifying_spend(spend: SpendHistory, at: datetime, window_days: int) -> Decimal:
    """Purchases minus returns with occurred_at in (at - window, at]."""
    return spend.within(at - timedelta(days=window_days), at)


def highest_reached(rules: Rules, spend: Decimal) -> Tier:
    reached = rules.base
    for tier in rules.tiers:
        if tier.min_spend <= spend:
            reached = tier
    return reached


def at_term_end(rules: Rules, current: str, spend: Decimal) -> tuple[Tier, str]:
    """The tier a member holds after a term ends, and why: renewed or downgrade."""
    tier = rules.tier(current)
    if spend >= tier.min_spend:
        return tier, "renewed"
    if rules.downgrade == "requalify":
        return highest_reached(rules, spend), "downgrade"
    return rules.tiers[max(rules.rank(current) - 1, 0)], "downgrade"


def next_tier(rules: Rules, current: str) -> Tier | None:
    rank = rules.rank(current)
    return rules.tiers[rank + 1] if rank + 1 < len(rules.tiers) else None
