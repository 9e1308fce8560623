"""Response bodies, as documented in OpenAPI (the routes answer these shapes)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


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
