"""Liveness and metrics: no key needed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from api.problems import DATABASE_DOWN
from api.responses import Json

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: str


@router.get("/healthz", response_model=Health, responses={503: {
    "model": Health, "description": "Starting (migrating) or the database is unreachable; "
    "Retry-After is set"}})
def healthz(request: Request) -> Json:
    """{"status": "ok", "database": "ok"}; 503 while starting or when the database is down."""
    runtime = request.app.state.runtime
    if runtime is None:
        return Json({"status": "starting", "database": "unknown"}, status_code=503,
                    headers={"Retry-After": "1"})
    try:
        runtime.ledger.recorder.max_notification_id()
    except DATABASE_DOWN:
        return Json({"status": "degraded", "database": "unreachable"}, status_code=503,
                    headers={"Retry-After": "1"})
    return Json({"status": "ok", "database": "ok"})


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> PlainTextResponse:
    """Prometheus text: requests, latencies, events appended, projection lag."""
    return PlainTextResponse(request.app.state.metrics.render(),
                             media_type="text/plain; version=0.0.4")
