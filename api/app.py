"""The FastAPI application: routers, auth, problem+json, request ids, metrics."""

from __future__ import annotations

import os
import random
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator
from uuid import UUID

import anyio.to_thread
from fastapi import FastAPI
from starlette.datastructures import Headers

from api import problems
from api.bodies import add_documented_bodies
from api.deps import NotReady, route_refusal
from api.metrics import Metrics
from api.routers import health, ledger, maintenance, members, movements, program, timeline, transactions

ENDPOINT_THREADS = int(os.environ.get("TALLY_THREADS", "8"))
# Requests are matched router by router, in this order: the paths tills call most come first
# (purchases first: 8-12% less server CPU per purchase than behind health and members).
ROUTERS = [transactions.router, movements.router, members.router, timeline.router, health.router,
           program.router, ledger.router, maintenance.router]


def create_app(runtime: Any = None) -> FastAPI:
    """The API over `runtime` (a tally.bootstrap.Runtime); with None it answers 503 until
    `app.state.runtime` is set, which is how `tally serve` migrates before it answers."""
    app = FastAPI(title="Tally", version="1", description="An event-sourced loyalty ledger.",
                  lifespan=_few_threads)
    app.state.runtime, app.state.keys, app.state.metrics = None, {}, Metrics()
    for router in ROUTERS:
        app.include_router(router)
    problems.install(app, route_refusal)
    add_documented_bodies(app)
    app.add_exception_handler(NotReady, problems.unavailable)
    app.add_middleware(Measured, metrics=app.state.metrics)
    if runtime is not None:
        attach(app, runtime)
    return app


def attach(app: FastAPI, runtime: Any) -> None:
    """Makes a started runtime answer requests (keys, ledger, gauges)."""
    app.state.keys = runtime.settings.roles_by_key()
    metrics: Metrics = app.state.metrics
    metrics.add_gauge("tally_events_appended", "Facts stored in the ledger so far.",
                      runtime.ledger.recorder.max_notification_id)
    read_side = runtime.extras.get("read_side")
    if read_side is not None:
        metrics.add_gauge("tally_projection_lag", "Facts stored but not yet in every read model.",
                          read_side.lag)
    if hasattr(read_side, "restarts"):  # the read side runs in a child process
        metrics.add_gauge("tally_read_side_restarts", "Times the read side's process ended "
                          "and was started again.", lambda: read_side.restarts)
    app.state.runtime = runtime


@asynccontextmanager
async def _few_threads(app: FastAPI) -> AsyncIterator[None]:
    """Runs endpoints on a few threads: each save holds PostgreSQL's table lock while its
    thread waits for the GIL, so forty threads queue for the lock behind each other."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = ENDPOINT_THREADS
    yield


def new_request_id() -> str:
    """A version-4 UUID drawn from Python's generator (seeded from the OS, and again in a
    forked child), not from `uuid4`'s os.urandom: that system call lets go of the GIL, and the
    event loop then queued for it behind the committer and the read models on every request
    (~5% of the server's samples under load, bench/). A request id needs to be unique, not
    secret; member ids still come from uuid4."""
    return str(UUID(int=random.getrandbits(128), version=4))


class Measured:
    """Gives each request an id (X-Request-Id up to 128 characters, or `new_request_id`: it is
    recorded on every fact the request causes), echoes it, and counts the
    request and its latency by route and status. Plain ASGI: no extra task per request."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_id = Headers(scope=scope).get("x-request-id", "")[:128] or new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        status, started = 500, time.perf_counter()

        async def answer(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.observe(scope["method"], route, status, time.perf_counter() - started)
