"""`POST /v1/transactions/batch` posted in a worker process, beside `tally serve`'s own.

Posting a batch is Python from end to end (validating, deciding, encoding: ~150 us an item),
and in the server it held the one GIL the event loop answers tills with: tills posting 500
purchases a second beside a back office's batches of 5,000 were answered at 304-365/s, p50
34-40 ms and p99 139-165 ms, against 1 ms and ~5 ms alone; with the worker, at 500/s, p50
~5.5 ms, p99 48-57 ms (`python -m bench.mixed`, README). A worker process
with a ledger of its own on the same database posts the items instead, exactly as the server
would (`batch_results`); the server only parses the body and relays the answers.

The worker's writes reach members the server may hold in memory: the server's next save of
such a member is refused by the store (its copy is stale), and the member is read afresh, as
after a write by any other process (tests/integration/test_two_writers.py). A worker that dies
mid-batch (killed, out of memory) leaves the chunks it saved saved; the request is answered
503 and a new worker takes the next batch; the client's retry replays what was saved.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import psycopg

from tally.processes import when_parent_ends, worker_context

log = logging.getLogger("tally")
_runtime: Any = None  # the worker's own (tally.bootstrap.Runtime)


def _open(url: str, pool_size: int) -> None:
    """A worker starts: its own ledger on the server's database."""
    global _runtime
    from tally.bootstrap import start
    from tally.settings import Settings

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the server, which stops us
    if hasattr(os, "nice"):
        os.nice(10)  # background work: the tills come first
    when_parent_ends(lambda: os._exit(0))  # a killed server leaves no worker behind
    _runtime = start(Settings(database_url=url, pool_size=pool_size))
    _runtime.ledger.serving_no_requests()


def _post(items: list[Any], actor: dict[str, Any]) -> tuple[str, Any]:
    """("answered", results), or ("unavailable", why) if the database is away (an error of the
    store's driver may not survive the trip back to the server, so it travels as text)."""
    from api.problems import DATABASE_DOWN
    from api.routers.transactions import batch_results

    try:
        return "answered", batch_results(_runtime.ledger, items, actor)
    except DATABASE_DOWN as outage:
        return "unavailable", f"{type(outage).__name__}: {outage}"


def _ready() -> bool:
    return _runtime is not None


class BatchWorkers:
    """The worker processes posting batches for one server; `post` waits on its event loop."""

    def __init__(self, url: str, workers: int = 1, pool_size: int = 4) -> None:
        self.url, self.workers, self.pool_size = url, workers, pool_size
        self.executor = self._started()

    def _started(self) -> ProcessPoolExecutor:
        # forked, never from the server itself: it holds threads
        context = worker_context(["tally.bootstrap", "api.routers.transactions"])
        executor = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_open,
                                       initargs=(self.url, self.pool_size))
        executor.submit(_ready)  # start one now: the first batch should not wait for it
        return executor

    async def post(self, items: list[Any], actor: dict[str, Any]) -> list[dict[str, Any]]:
        """Each item's answer, as `batch_results` gives it; psycopg.OperationalError (the
        API's 503) if the database is away or the worker died."""
        executor = self.executor
        try:
            outcome, value = await asyncio.get_running_loop().run_in_executor(
                executor, _post, items, actor)
        except BrokenProcessPool:
            self._replace(executor)
            raise psycopg.OperationalError("the batch worker stopped; post the batch again "
                                           "(what it saved is replayed, not counted twice)") from None
        if outcome == "unavailable":
            raise psycopg.OperationalError(value)
        return value

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        if self.executor is broken:  # once, however many requests saw it break
            log.warning("a batch worker stopped; starting another")
            self.executor = self._started()
            broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
