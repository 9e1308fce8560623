"""The composition root: settings → database → migrations → Ledger (+ read side)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from migrations import apply_migrations, schema_lock
from tally.application import utc_now
from tally.ledger import Ledger
from tally.settings import Settings
from tally.storage import database_url, eventsourcing_env


@dataclass
class Runtime:
    """Everything a process of Tally holds: the ledger and the read side's handles."""

    settings: Settings
    url: str
    ledger: Ledger
    extras: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        for closer in reversed(self.extras.get("closers", [])):
            closer()
        self.ledger.close()


def start(settings: Settings, clock: Callable[[], datetime] = utc_now,
          read_side: bool = False, apart: bool = False, serving: bool = False) -> Runtime:
    """Opens the database (embedded when DATABASE_URL is unset), migrates it, builds the Ledger;
    with `read_side`, also starts the projection workers: in this process, or with `apart`
    in a child process it supervises (tally/read_side.py). `serving` (the HTTP server) also
    starts `settings.batch_workers` processes to post batches (tally/batch_workers.py)."""
    url = database_url(settings)
    with schema_lock(url) as conn:  # processes opening a new database together take turns
        apply_migrations(conn)
        ledger = Ledger(eventsourcing_env(url, settings.pool_size), clock=clock)
        ledger.program()  # a fresh ledger starts with the default program, version 1
        runtime = Runtime(settings=settings, url=url, ledger=ledger)
        # in this process: created here, under the lock, as they create the tracking tables
        projections = _read_side(ledger, url) if read_side and not apart else None
    if read_side and apart:
        projections = _read_side_apart(runtime)
    if projections is not None:
        runtime.extras["read_side"] = projections.start()
        runtime.extras.setdefault("closers", []).append(projections.stop)
    if serving and settings.batch_workers:
        from tally.batch_workers import BatchWorkers

        workers = runtime.extras["batch_workers"] = BatchWorkers(url, settings.batch_workers)
        runtime.extras.setdefault("closers", []).append(workers.close)
    return runtime


def _read_side(ledger: Ledger, url: str) -> Any:
    from tally.read_side import ReadSide  # only processes that project need it

    return ReadSide(ledger, url)


def _read_side_apart(runtime: Runtime) -> Any:
    from tally.read_side import ReadSideProcess

    return ReadSideProcess(runtime)
