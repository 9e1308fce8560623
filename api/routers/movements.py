"""Points spent and granted on a member: redemptions, adjustments, activities."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.deps import LedgerDep, Support, Writer
from api.documents import ActivityPublic, AdjustmentPublic, RedemptionPublic, replay_of
from api.models import ActivityCreate, AdjustmentCreate, RedemptionCreate
from api.problems import documented
from api.responses import Json, created_or_replayed
from tally.guarding import digest

router = APIRouter(prefix="/v1/members/{member_id}", tags=["points"])
WRITE_REFUSALS = ("member_not_found", "idempotency_conflict", "member_merged", "busy")


@router.post("/redemptions", status_code=201, response_model=RedemptionPublic,
             responses={**documented(*WRITE_REFUSALS, "insufficient_points"),
                        **replay_of(RedemptionPublic)})
def redeem(member_id: UUID, body: RedemptionCreate, ledger: LedgerDep, actor: Writer) -> Json:
    """Spends points from the lots that expire soonest; the answer names the lots."""
    outcome = ledger.redeem_points(member_id=member_id, redemption_id=body.redemption_id,
                                   points=body.points, reward=body.reward,
                                   occurred_at=body.occurred_at or ledger.clock(), actor=actor,
                                   request_hash=digest(body.request()))
    return created_or_replayed(outcome.body, outcome.replayed)


@router.post("/adjustments", status_code=201, response_model=AdjustmentPublic,
             responses={**documented(*WRITE_REFUSALS, "insufficient_points"),
                        **replay_of(AdjustmentPublic)})
def adjust(member_id: UUID, body: AdjustmentCreate, ledger: LedgerDep, actor: Support) -> Json:
    """A support correction: positive → a new lot, negative → spent like a redemption."""
    outcome = ledger.adjust_points(member_id=member_id, adjustment_id=body.adjustment_id,
                                   points=body.points, reason=body.reason, ticket=body.ticket,
                                   occurred_at=body.occurred_at or ledger.clock(), actor=actor,
                                   request_hash=digest(body.request()))
    return created_or_replayed(outcome.body, outcome.replayed)


@router.post("/activities", status_code=201, response_model=ActivityPublic,
             responses={**documented(*WRITE_REFUSALS, "unknown_activity", "activity_limit_reached"),
                        **replay_of(ActivityPublic)})
def record_activity(member_id: UUID, body: ActivityCreate, ledger: LedgerDep,
                    actor: Writer) -> Json:
    """Rewards a task the program defines, within its per-day and lifetime limits."""
    outcome = ledger.record_activity(member_id=member_id, activity_id=body.activity_id,
                                     kind=body.kind,
                                     occurred_at=body.occurred_at or ledger.clock(), actor=actor,
                                     request_hash=digest(body.request()))
    return created_or_replayed(outcome.body, outcome.replayed)
