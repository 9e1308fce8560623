"""Maintenance: record the time-driven facts of every member that is due."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import Admin, LedgerDep
from api.documents import TickPublic
from api.models import TickCreate
from api.problems import documented
from api.responses import Json
from projections.due import members_due

router = APIRouter(prefix="/v1/maintenance", tags=["maintenance"])


@router.post("/tick", response_model=TickPublic, responses=documented())
def tick(body: TickCreate, request: Request, ledger: LedgerDep, actor: Admin) -> Json:
    """Activations, expiries and tier term ends due at or before `as_of`, for every member
    the read models say is due (after they have caught up). Idempotent."""
    runtime = request.app.state.runtime
    read_side = runtime.extras.get("read_side")
    if read_side is not None:
        read_side.wait_until_caught_up()
    with ledger.recorder.datastore.get_connection() as conn:
        due = members_due(conn, body.as_of)
    return Json(ledger.members_due(due, body.as_of))
