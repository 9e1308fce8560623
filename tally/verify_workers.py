"""Verify's chunks of members checked in worker processes, one per core.

Verify is Python's work (decoding, hashing, refolding and comparing, ~30 us a fact) with
little for PostgreSQL: one process keeps one core busy. Each worker opens a connection of
its own and checks the chunks it is handed; the answers come back in the chunks' order, so
the report is the one a single process gives. The workers fork from a fork server that
imported Tally once (tally/processes.py) and leave if the process that started them ends.
"""

from __future__ import annotations

import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Iterator
from uuid import UUID

from tally.processes import when_parent_ends, worker_context
from tally.storage import connect
from tally.verify import check_chunk

VERIFY_PRELOAD = ["tally.verify_workers"]
_worker: dict[str, Any] = {}  # this worker's connection and mapper


class VerifyStopped(Exception):
    """A worker ended (killed, out of memory) before its chunks were checked."""


def _begin(url: str, mapper: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    when_parent_ends(lambda: os._exit(1))
    _worker.update(conn=connect(url, autocommit=True), mapper=mapper)


def _check(chunk: list[UUID]) -> tuple[list[dict], int, int]:
    return check_chunk(_worker["conn"], _worker["mapper"], chunk)


def checked_in_workers(url: str, mapper: Any, chunks: list[list[UUID]],
                       workers: int) -> Iterator[tuple[list[dict], int, int]]:
    """check_chunk's answer for each chunk, in order, from `workers` processes."""
    context = worker_context(VERIFY_PRELOAD)
    with ProcessPoolExecutor(min(workers, len(chunks)), mp_context=context,
                             initializer=_begin, initargs=(url, mapper)) as pool:
        try:
            yield from pool.map(_check, chunks)
        except BrokenProcessPool as broken:
            raise VerifyStopped("a verify worker ended before its members were checked; "
                                "run verify again") from broken
