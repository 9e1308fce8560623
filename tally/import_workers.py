"""`tally import --workers N`: the rows shared out among worker processes, by member.

One process judges about 7,000 purchases a second (bench/): its Python holds one core while
PostgreSQL uses little of the other. Worker processes, each with a Ledger of its own on the
same database, judge and save side by side. All the rows of one member go to one worker, in
file order, so each member's purchases are judged in the order one process would judge them;
a row naming its member by identity goes where the identity's holder goes (the parent looks
the holders up, a round of rows at a time). The store stays the backstop: if two workers (or a
till) change one member at once, the losing chunk is posted again one order at a time, exactly
as in one process, so nothing is counted twice or lost.

The parent reads the file, shares the rows out and reports progress. Each worker writes the
rows it refused, in line order, to a part file; the parent merges them into the refused file.
"""

from __future__ import annotations

import gc
import heapq
import os
import queue
import signal
import zlib
from collections import Counter
from pathlib import Path
from typing import Any, Callable
from uuid import UUID

import orjson

from domain.guards import IdentityClaim
from domain.identities import normalise
from tally.bulk import load_many
from tally.importer import ImportStopped, batches, post_rows
from tally.processes import IMPORT_PRELOAD, when_parent_ends, worker_context

ROUNDS_AHEAD = 4  # batches a worker may have waiting: memory stays flat on a large file
HOLDERS_KEPT = 200_000  # identities whose holder the parent remembers


def _work(url: str, inbox: Any, results: Any, part: Path, actor: dict[str, Any]) -> None:
    """A worker: opens its own ledger, posts each batch it is given, reports what it did."""
    from tally.bootstrap import start
    from tally.settings import Settings

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    when_parent_ends(lambda: os._exit(1))  # a killed import leaves no worker behind
    try:
        runtime = start(Settings(database_url=url, pool_size=4))
        runtime.ledger.serving_no_requests()
    except BaseException as failure:  # noqa: BLE001 - the parent reports it and stops
        results.put(("failed", f"{type(failure).__name__}: {failure}"))
        return
    # Paused for the worker's whole life, not only while it posts (collector_paused): it ends
    # with os._exit once the import is done, and the full collection that resuming would set
    # off, over every member read, held up the end of the import (~0.3 s after a night's file).
    gc.disable()
    try:
        with part.open("wb") as refused:
            while (batch := inbox.get()) is not None:
                counts, reasons = Counter(), Counter()
                post_rows(runtime.ledger, batch, actor, counts, reasons, refused)
                results.put(("posted", counts, reasons))
        results.put(("finished", None))
    except BaseException as failure:  # noqa: BLE001
        results.put(("failed", f"{type(failure).__name__}: {failure}"))
    finally:
        runtime.close()


class Workers:
    """The worker processes of one import, their inboxes, and what they have reported."""

    def __init__(self, url: str, count: int, side: Path, actor: dict[str, Any]) -> None:
        context = worker_context(IMPORT_PRELOAD)
        self.results = context.Queue()
        self.inboxes = [context.Queue(maxsize=ROUNDS_AHEAD) for _ in range(count)]
        self.parts = [side.with_name(f"{side.name}.{k}.part") for k in range(count)]
        self.processes = [context.Process(target=_work, name=f"tally-import-{k}", daemon=True,
                                          args=(url, inbox, self.results, part, actor))
                          for k, (inbox, part) in enumerate(zip(self.inboxes, self.parts))]
        self.counts, self.reasons, self.finished = Counter(), Counter(), 0
        for process in self.processes:
            process.start()

    def send(self, shares: list[list[tuple[int, Any]]]) -> None:
        for inbox, share in zip(self.inboxes, shares):
            if share:
                self._put(inbox, share)

    def finish(self) -> None:
        """Tells every worker there is no more, and waits until each has said it is done."""
        for inbox in self.inboxes:
            self._put(inbox, None)
        while self.finished < len(self.processes):
            self.collect(wait=1.0)

    def collect(self, wait: float = 0.0) -> None:
        """Takes in what the workers reported; raises ImportStopped if one failed or died."""
        while True:
            try:
                report = self.results.get(timeout=wait) if wait else self.results.get_nowait()
            except queue.Empty:
                self._check_alive()
                return
            wait = 0.0
            self._take(report)

    def _take(self, report: tuple[Any, ...]) -> None:
        kind, *detail = report
        if kind == "failed":
            raise ImportStopped(detail[0])
        if kind == "finished":
            self.finished += 1
        else:
            self.counts.update(detail[0])
            self.reasons.update(detail[1])

    def stop(self) -> None:
        """Ends every worker: at once if the import stopped, else once each has closed."""
        stopped = self.finished < len(self.processes)
        for inbox in self.inboxes if stopped else ():
            inbox.cancel_join_thread()  # rows no one will read: exit without sending them
        for process in self.processes:
            if stopped and process.is_alive():
                process.terminate()
            process.join(timeout=10)
            if process.is_alive():
                process.kill()

    def merge_refusals(self, side: Path) -> None:
        """The workers' refused rows, each part in line order, merged into `side`."""
        files = [part.open("rb") for part in self.parts if part.exists()]
        try:
            with side.open("wb") as out:
                out.writelines(heapq.merge(*files, key=lambda line: orjson.loads(line)["line"]))
        finally:
            for file in files:
                file.close()
            for part in self.parts:
                part.unlink(missing_ok=True)

    def _put(self, inbox: Any, item: Any) -> None:
        while True:
            try:
                inbox.put(item, timeout=1.0)
                return
            except queue.Full:
                self.collect()

    def _check_alive(self) -> None:
        """Raises ImportStopped if a worker ended without saying it finished (killed, or out
        of memory); its last words may still be on their way, so they get a second."""
        while sum(process.exitcode is not None for process in self.processes) > self.finished:
            try:
                self._take(self.results.get(timeout=1.0))
            except queue.Empty:
                raise ImportStopped("an import worker stopped unexpectedly") from None

def member_key(row: Any) -> Any:
    """What names the row's member: its id as text, (kind, value) of an identity, or None."""
    member = row.get("member") if isinstance(row, dict) else None
    if not isinstance(member, dict):
        return None
    if member.get("member_id") is not None:
        try:
            return str(UUID(str(member["member_id"])))
        except ValueError:
            return None
    identity = member.get("identity")
    if isinstance(identity, dict) and isinstance(identity.get("value"), str):
        try:
            return identity["kind"], normalise(identity["kind"], identity["value"])
        except Exception:  # noqa: BLE001 - a bad identity is refused by the worker
            return None
    return None


class Sharer:
    """Which worker each row goes to: its member's, by a hash of the member id."""

    def __init__(self, ledger: Any, workers: int) -> None:
        self.ledger, self.workers = ledger, workers
        self.holders: dict[tuple[str, str], str] = {}

    def share(self, batch: list[tuple[int, Any]]) -> list[list[tuple[int, Any]]]:
        keys = [member_key(row) for _, row in batch]
        self._look_up([key for key in keys if isinstance(key, tuple)])
        shares: list[list[tuple[int, Any]]] = [[] for _ in range(self.workers)]
        for (number, row), key in zip(batch, keys):
            name = self.holders.get(key, str(key)) if isinstance(key, tuple) else str(key or number)
            shares[zlib.crc32(name.encode()) % self.workers].append((number, row))
        return shares

    def _look_up(self, identities: list[tuple[str, str]]) -> None:
        """Remembers the holder of each identity not known yet (one query)."""
        wanted = {IdentityClaim.id_for(*key): key for key in set(identities)
                  if key not in self.holders}
        if not wanted:
            return
        if len(self.holders) + len(wanted) > HOLDERS_KEPT:
            self.holders.clear()
        claims = load_many(self.ledger, wanted, snapshotted=False)
        for claim_id, key in wanted.items():
            claim = claims.get(claim_id)
            self.holders[key] = str(claim.holder) if claim is not None and claim.holder else str(key)


def import_in_workers(ledger: Any, url: str, file: Path, workers: int, batch: int,
                      actor: dict[str, Any], side: Path,
                      advance: Callable[[int, int], None]) -> tuple[Counter, Counter]:
    """Imports `file` with `workers` processes; (counts, refusal reasons). The refused rows
    are left in `side`. `advance(bytes read, rows done)` reports progress."""
    pool, sharer = Workers(url, workers, side, actor), Sharer(ledger, workers)
    try:
        for pending, position in batches(file, batch * workers):
            pool.send(sharer.share(pending))
            pool.collect()
            advance(position, sum(pool.counts.values()))
        pool.finish()
    finally:
        pool.stop()
        pool.merge_refusals(side)  # also what was refused before an import stopped
    return pool.counts, pool.reasons
