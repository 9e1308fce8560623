"""Keeps read models up to date: one worker per read model, batches of facts per transaction.

A worker takes the next batch of facts after its tracking position from the feed it shares
with the other read models of the process, folds it into its tables and moves its position in
the same transaction. A session-level advisory lock per read model keeps one worker per read
model across processes; the writing lock and position check of every batch keep each fact
applied once even when two writers overlap (a lost lock, a rebuild beside a server).
"""

from __future__ import annotations

import logging
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import psycopg
from eventsourcing.persistence import Tracking

from projections.base import ReadModel, StalePosition, writing_lock
from projections.feed import Feed
from projections.identities import IdentitiesReadModel
from projections.ledger_entries import LedgerEntriesReadModel
from projections.lots import LotsReadModel
from projections.members import MembersReadModel

log = logging.getLogger("tally.projections")
READ_MODELS: tuple[type[ReadModel], ...] = (MembersReadModel, IdentitiesReadModel, LotsReadModel,
                                            LedgerEntriesReadModel)
UPSTREAM = "Ledger"


class Worker:
    """Projects the ledger into one read model, a batch per transaction."""

    def __init__(self, ledger: Any, read_model: ReadModel, url: str, batch: int = 500,
                 feed: Feed | None = None) -> None:
        self.read_model, self.url = read_model, url
        self.feed = feed or Feed(ledger, batch)
        self.view = read_model.view(ledger.recorder.datastore)
        self.position = self.view.max_tracking_id(UPSTREAM) or 0
        self.batches = 0

    def resume(self) -> None:
        """Carries on from the position the read model holds (after a restart or a rebuild)."""
        self.position = self.view.max_tracking_id(UPSTREAM) or 0

    def step(self) -> int:
        """Projects the next batch; returns how far the position moved (0: nothing new)."""
        while True:
            try:
                return self._project_next()
            except StalePosition as stale:  # another writer moved on: carry on from there
                log.info("projection %s resumes from its stored position: %s",
                         self.read_model.name, stale)
                self.resume()

    def _project_next(self) -> int:
        batch = self.feed.after(self.position)
        if batch is None:
            return 0
        self.view.write(self.read_model, batch.facts, Tracking(UPSTREAM, batch.last),
                        after=self.position)
        covered, self.position, self.batches = batch.last - self.position, batch.last, self.batches + 1
        return covered

    def run(self, stopping: threading.Event, idle: float = 0.2) -> None:
        """Steps until `stopping`, as the only worker of its read model (at most one step
        per `idle` seconds unless a full batch is waiting); survives outages."""
        delay = 0.5
        while not stopping.is_set():
            try:
                with sole_worker(self.url, self.read_model.name, stopping):
                    self.resume()
                    while not stopping.is_set():
                        # short of a full batch behind: wait for more facts to gather, so that
                        # a busy ledger is projected in batches, not a transaction per write
                        if self.step() < self.feed.size:
                            stopping.wait(idle)
                        delay = 0.5
            except Exception as failure:  # the database went away (or a bug): log, back off
                log.warning("projection %s stopped (%s); retrying in %.1fs",
                            self.read_model.name, failure, delay)
                stopping.wait(delay)
                delay = min(delay * 2, 10)


@contextmanager
def sole_worker(url: str, name: str, stopping: threading.Event) -> Iterator[None]:
    """Holds the read model's advisory lock (waiting for it) on a connection of its own."""
    key = zlib.crc32(f"tally-projection:{name}".encode())
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        while not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
            if stopping.wait(1.0):
                break
        yield


def workers_for(ledger: Any, url: str, batch: int = 500) -> list[Worker]:
    """A worker per read model, sharing one feed of facts."""
    feed = Feed(ledger, batch)
    return [Worker(ledger, read_model(), url, batch, feed) for read_model in READ_MODELS]


def reset(url: str, workers: list[Worker]) -> None:
    """Empties the workers' read tables and positions, for a rebuild from position 0.

    Takes each read model's writing lock, so a worker running elsewhere (a server) finishes
    its batch first and then finds its position stale, resuming from 0 alongside the rebuild.
    """
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        for worker in workers:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (writing_lock(worker.read_model.name),))
        conn.execute(f"TRUNCATE {', '.join(t for w in workers for t in w.read_model.tables)}")
        for worker in workers:
            conn.execute(f"DELETE FROM {worker.read_model.name}_tracking "
                         "WHERE application_name = %s", (UPSTREAM,))
    for worker in workers:
        worker.position = 0


def catch_up(workers: list[Worker], progress: Callable[[int], None] = lambda done: None) -> None:
    """Steps every worker, each in a thread of its own, until it has nothing new (for rebuilds
    and tests); `progress` hears the slowest position now and then."""
    def run(worker: Worker) -> None:
        while worker.step():
            pass

    with ThreadPoolExecutor(len(workers), thread_name_prefix="catch-up") as pool:
        running = [pool.submit(run, worker) for worker in workers]
        while wait(running, timeout=0.2).not_done:
            progress(min(worker.position for worker in workers))
    for done in running:
        done.result()
    progress(min(worker.position for worker in workers))
