"""Response bodies, as documented in OpenAPI (the routes answer these shapes)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from domain.rules import DOWNGRADES, RETURN_POLICIES


class IdentityPublic(BaseModel):
    kind: str
    value: str


class BalancePublic(BaseModel):
    available: int
    pending: int
    debt: int
    lifetime_earned: int
    redeemed: int
    expired: int


class NextTier(BaseModel):
    name: str
    min_spend: str
    spend_needed: str


class TierPublic(BaseModel):
    name: str
    since: datetime
    expires_at: datetime | None
    qualifying_spend: str
    next: NextTier | None


class LotPublic(BaseModel):
    lot_id: str
    remaining: int
    available_at: datetime
    expires_at: datetime | None
    source: str
    status: str


class MemberPublic(BaseModel):
    member_id: str
    status: str
    merged_into: str | None
    enrolled_at: datetime
    identities: list[IdentityPublic]
    referral_code: str
    balance: BalancePublic
    tier: TierPublic
    lots: list[LotPublic]
    version: int


class PurchasePublic(BaseModel):
    transaction_id: str
    channel: str
    member_id: str
    points_earned: int
    status: str
    available_at: datetime
    expires_at: datetime | None
    member: MemberPublic


class ReturnPublic(BaseModel):
    return_id: str
    points_clawed_back: int
    points_forgiven: int
    debt_created: int
    member: MemberPublic


class DrawnLot(BaseModel):
    lot_id: str
    points: int


class RedemptionPublic(BaseModel):
    redemption_id: str
    points: int
    lots: list[DrawnLot]
    member: MemberPublic


class AdjustmentPublic(BaseModel):
    adjustment_id: str
    points: int
    member: MemberPublic


class ActivityPublic(BaseModel):
    activity_id: str
    kind: str
    points_earned: int
    member: MemberPublic


class BatchItemResult(BaseModel):
    transaction_id: str | None
    channel: str | None
    status: int
    points_earned: int | None = None
    code: str | None = None
    detail: str | None = None
    errors: list[dict] | None = None


class BatchPublic(BaseModel):
    results: list[BatchItemResult]


class TickPublic(BaseModel):
    activated: int
    expired_points: int
    tiers_changed: int
    members_touched: int


class ProgramEarn(BaseModel):
    points: int
    per_amount: str
    category_multipliers: dict[str, str] = {}


class ProgramExpiry(BaseModel):
    months: int | None


class ProgramTier(BaseModel):
    name: str
    min_spend: str
    earn_multiplier: str


class ProgramReferral(BaseModel):
    referrer_points: int
    referee_points: int


class ProgramActivity(BaseModel):
    points: int
    per_day: int | None = None
    lifetime: int | None = None


class ProgramPublic(BaseModel):
    """The program document (contract §5); `version` is answered, and ignored in a PUT."""

    currency: str
    timezone: str
    earn: ProgramEarn
    pending_days: int
    expiry: ProgramExpiry
    return_policy: str = Field(json_schema_extra={"enum": list(RETURN_POLICIES)})
    tiers: list[ProgramTier]
    tier_window_days: int
    tier_term_days: int
    downgrade: str = Field(json_schema_extra={"enum": list(DOWNGRADES)})
    referral: ProgramReferral
    activities: dict[str, ProgramActivity]
    version: int


def replay_of(model: type[BaseModel]) -> dict[int | str, dict]:
    """OpenAPI for the 200 of an idempotent write sent again with the same body."""
    replayed = {"description": "always true", "schema": {"type": "string", "enum": ["true"]}}
    return {200: {"model": model, "headers": {"Idempotent-Replayed": replayed},
                  "description": "Sent before with the same body: the original answer; "
                                 "nothing recorded"}}
