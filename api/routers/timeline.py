"""A member's timeline: its facts replayed from the event store with running balances."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import Historian, LedgerDep
from api.models import Instant
from api.problems import documented
from api.responses import Json
from tally.timeline import DEFAULT_LIMIT, MAX_LIMIT, member_timeline

router = APIRouter(prefix="/v1/members", tags=["audit"])


class RunningBalance(BaseModel):
    available: int
    pending: int
    debt: int


class TimelineEvent(BaseModel):
    version: int
    type: str
    occurred_at: datetime
    recorded_at: datetime
    summary: str
    points_delta: int
    balance: RunningBalance
    actor: dict[str, Any]
    data: dict[str, Any]


class Timeline(BaseModel):
    member_id: str
    events: list[TimelineEvent]
    next_after_version: int | None


@router.get("/{member_id}/timeline", response_model=Timeline,
            responses=documented("member_not_found"))
def timeline(member_id: UUID, ledger: LedgerDep, actor: Historian,
             as_of: Annotated[Instant | None, Query()] = None,
             after_version: Annotated[int, Query(ge=0)] = 0,
             limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT) -> Json:
    """The member's facts after `after_version` (recorded at or before `as_of` if given), each
    with its sentence, its change of the net balance and the balance after it. `data` holds
    the fact's own fields, its `prev_hash` and `fact_hash` included."""
    return Json(member_timeline(ledger, member_id, as_of, after_version, limit))
