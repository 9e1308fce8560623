"""Keeps read models up to date: one worker per read model, batches of facts per transaction.

A worker reads the ledger's notifications after its tracking position, folds up to `batch`
of them into its table and moves its position in the same transaction. A session-level
advisory lock per read model keeps one worker per read model across processes.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections import OrderedDict
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import psycopg
from eventsourcing.persistence import Tracking

from projections.base import Fact, ReadModel, StalePosition, writing_lock
from projections.identities import IdentitiesReadModel
from projections.ledger_entries import LedgerEntriesReadModel
from projections.lots import LotsReadModel
from projections.members import MembersReadModel

log = logging.getLogger("tally.projections")
READ_MODELS: tuple[type[ReadModel], ...] = (MembersReadModel, IdentitiesReadModel, LotsReadModel,
                                            LedgerEntriesReadModel)
UPSTREAM = "Ledger"


class DecodedFacts:
    """Facts decoded once for all the read models of a process (the most recent ones kept)."""

    def __init__(self, mapper: Any, size: int = 20_000) -> None:
        self.mapper, self.size = mapper, size
        self.facts: OrderedDict[int, Any] = OrderedDict()
        self.lock = threading.Lock()

    def of(self, notification: Any) -> Any:
        with self.lock:
            fact = self.facts.get(notification.id)
        if fact is None:
            fact = self.mapper.to_domain_event(notification)
            with self.lock:
                self.facts[notification.id] = fact
                while len(self.facts) > self.size:
                    self.facts.popitem(last=False)
        return fact


class Worker:
    """Projects the ledger into one read model, a batch per transaction."""

    def __init__(self, ledger: Any, read_model: ReadModel, url: str, batch: int = 500,
                 decoded: DecodedFacts | None = None) -> None:
        self.ledger, self.read_model, self.url, self.batch = ledger, read_model, url, batch
        self.decoded = decoded or DecodedFacts(ledger.mapper)
        self.view = read_model.view(ledger.recorder.datastore)
        self.position = self.view.max_tracking_id(UPSTREAM) or 0
        self.batches = 0

    def resume(self) -> None:
        """Carries on from the position the read model holds (after a restart or a rebuild)."""
        self.position = self.view.max_tracking_id(UPSTREAM) or 0

    def step(self) -> int:
        """Projects the next batch; returns how many notifications it covered (0: none new)."""
        try:
            return self._project_next()
        except StalePosition as stale:  # another writer moved on: carry on from where it is
            log.info("projection %s resumes from its stored position: %s", self.read_model.name, stale)
            self.resume()
            return self._project_next()

    def _project_next(self) -> int:
        notifications = self.ledger.recorder.select_notifications(self.position + 1, self.batch)
        if not notifications:
            return 0
        facts = [Fact(n.id, self.decoded.of(n)) for n in notifications
                 if n.topic.startswith("domain.member:Member.")]
        last = notifications[-1].id
        self.view.write(self.read_model, facts, Tracking(UPSTREAM, last), after=self.position)
        self.position, self.batches = last, self.batches + 1
        return len(notifications)

    def run(self, stopping: threading.Event, idle: float = 0.05) -> None:
        """Steps until `stopping`, as the only worker of its read model; survives outages."""
        delay = 0.5
        while not stopping.is_set():
            try:
                with sole_worker(self.url, self.read_model.name, stopping):
                    self.resume()
                    while not stopping.is_set():
                        if not self.step():
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
    """A worker per read model, sharing decoded facts."""
    decoded = DecodedFacts(ledger.mapper)
    return [Worker(ledger, read_model(), url, batch, decoded) for read_model in READ_MODELS]


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
    """Steps every worker until none has anything new (for rebuilds and tests)."""
    while True:
        moved = sum(worker.step() for worker in workers)
        progress(min(worker.position for worker in workers))
        if not moved:
            return

