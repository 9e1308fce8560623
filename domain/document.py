"""The member document (contract §2): what a member holds, derived from its facts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.lots import spending_order
from domain.rules import Rules
from domain.tiers import next_tier, qualifying_spend


def money(value: Any) -> str:
    return f"{value:.2f}"


def member_document(member: Any, rules: Rules, at: datetime) -> dict[str, Any]:
    """The document as of `at` (qualifying spend is counted over the window ending at `at`)."""
    spend = qualifying_spend(member.spend, at, rules.tier_window_days)
    upcoming = next_tier(rules, member.tier)
    lots = sorted(member.lots.values(), key=spending_order)
    return {
        "member_id": str(member.id),
        "status": member.status,
        "merged_into": member.merged_into,
        "enrolled_at": member.enrolled_at,
        "identities": [dict(identity) for identity in member.identities],
        "referral_code": member.referral_code,
        "balance": {
            "available": member.available, "pending": member.pending, "debt": member.debt,
            "lifetime_earned": member.lifetime_earned, "redeemed": member.redeemed,
            "expired": member.expired,
        },
        "tier": {
            "name": member.tier, "since": member.tier_since, "expires_at": member.tier_expires_at,
            "qualifying_spend": money(spend),
            "next": None if upcoming is None else {
                "name": upcoming.name, "min_spend": money(upcoming.min_spend),
                "spend_needed": money(max(upcoming.min_spend - spend, 0)),
            },
        },
        "lots": [
            {"lot_id": lot.lot_id, "remaining": lot.remaining, "available_at": lot.available_at,
             "expires_at": lot.expires_at, "source": lot.source,
             "status": "pending" if lot.pending else "available"}
            for lot in lots
        ],
        "version": member.version,
    }
