"""In-process scenarios: bulk import, projection catch-up, reads on a large ledger."""

from __future__ import annotations

import gc
import io
import os
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Iterator

import orjson
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from rich.console import Console

from api.routers.ledger import csv_chunks
from projections.runner import UPSTREAM, catch_up as project, workers_for
from tally.batch import CHUNK_BESIDE_TILLS
from tally.bootstrap import start
from tally.bulk import collector_paused
from tally.cli_projections import REBUILD_BATCH
from tally.cli import IMPORT_WORKERS, settle_garbage_collector
from tally.importer import run_import
from tally.settings import Settings
from tally.audit import EntryFilter, entries_export
from tally.storage import open_pool
from tally.timeline import member_timeline
from tally.verify import verify_ledger

ACTOR = {"name": "bench", "role": "admin", "request_id": None}
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
IMPORT_COPY = "tally_bench_import"


def _order(number: int, member_id: str) -> dict:
    return dict(transaction_id=f"K-{number}", channel="web", store_id=None, member_id=member_id,
                identity=None, amount=Decimal("12.80"), currency="CNY", items=[],
                occurred_at=START + timedelta(seconds=number), actor=ACTOR,
                request_hash=f"K-{number}")


def _members(ledger, count: int) -> list[str]:
    return [ledger.enroll(member_id=None, identities=[("card", f"BENCH-{n}")], referrer_code=None,
                          occurred_at=START, actor=ACTOR, request_hash=str(n)).body["member_id"]
            for n in range(count)]


def bulk(url: str, scale: int) -> list[tuple[str, ...]]:
    """The batch path and `tally import` against a raw batched INSERT of the same rows."""
    runtime = start(Settings(database_url=url))
    ledger = runtime.ledger
    members = _members(ledger, 2000)
    orders = [_order(n, members[n % len(members)]) for n in range(scale)]
    started = time.perf_counter()
    for first in range(0, scale, 10_000):
        ledger.post_purchases(orders[first:first + 10_000], chunk=CHUNK_BESIDE_TILLS)
    batch_rate = scale / (time.perf_counter() - started)
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE raw_purchases (transaction_id text PRIMARY KEY, member_id uuid, "
                     "amount numeric, occurred_at timestamptz)")
        started = time.perf_counter()
        with conn.cursor().copy("COPY raw_purchases FROM STDIN") as copy:
            for order in orders:
                copy.write_row((order["transaction_id"], order["member_id"], order["amount"],
                                order["occurred_at"]))
        conn.commit()
        raw_rate = scale / (time.perf_counter() - started)
    runtime.close()
    rows = 2 * scale
    import_rates = {workers: _import_rate(url, rows, workers) for workers in (1, IMPORT_WORKERS)}
    return [("Bulk: POST /v1/transactions/batch path", f"{batch_rate:,.0f} purchases/s",
             f"{scale:,} purchases over 2,000 members, {CHUNK_BESIDE_TILLS} a transaction as the API "
             f"posts them; raw COPY of the same rows {raw_rate:,.0f}/s "
             f"({batch_rate / raw_rate:.2f}×)"),
            (f"Bulk: tally import (NDJSON, by card), {IMPORT_WORKERS} workers",
             f"{import_rates[IMPORT_WORKERS]:,.0f} purchases/s",
             f"{rows:,} rows over the 2,000 members, with validation and identity lookups, "
             "from the same copy of the ledger, start-up included; "
             f"in one process {import_rates[1]:,.0f}/s "
             f"({import_rates[IMPORT_WORKERS] / import_rates[1]:.2f}×)")]


def _import_rate(url: str, rows: int, workers: int) -> float:
    """`tally import` of `rows` purchases by card over the 2,000 members, in rows/s, on a copy
    of the ledger as the batch path left it (each import starts from the same state, and as
    cold as a new `tally import` process: no member in memory)."""
    admin, source = make_conninfo(url, dbname="postgres"), conninfo_to_dict(url)["dbname"]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{IMPORT_COPY}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{IMPORT_COPY}" TEMPLATE "{source}"')
    runtime = start(Settings(database_url=make_conninfo(url, dbname=IMPORT_COPY)))
    try:
        with TemporaryDirectory() as folder:
            file = Path(folder) / "sales.ndjson"
            file.write_bytes(b"".join(orjson.dumps({
                "transaction_id": f"F-{n}", "channel": "web", "amount": "12.80", "currency": "CNY",
                "member": {"identity": {"kind": "card", "value": f"BENCH-{n % 2000}"}},
                "occurred_at": "2026-02-01T10:00:00+08:00"}) + b"\n" for n in range(rows)))
            started = time.perf_counter()
            run_import(runtime.ledger, file, Console(file=io.StringIO()), 1000, workers, runtime.url)
            return rows / (time.perf_counter() - started)
    finally:
        runtime.close()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{IMPORT_COPY}" WITH (FORCE)')


def catch_up(url: str) -> list[tuple[str, ...]]:
    """Every read model from position 0 as `tally rebuild` does it (batches of 2,000, a thread
    per read model, the collector paused) against one transaction per fact, stepped."""
    runtime = start(Settings(database_url=url))
    head = runtime.ledger.recorder.max_notification_id() or 0
    workers = workers_for(runtime.ledger, url, REBUILD_BATCH)
    _forget(url, workers)
    started = time.perf_counter()
    with collector_paused():
        project(workers)
    batched = head / (time.perf_counter() - started)
    workers, limit = workers_for(runtime.ledger, url, 1), min(head, 3000)
    _forget(url, workers)
    started = time.perf_counter()
    while min(w.position for w in workers) < limit and sum(w.step() for w in workers):
        pass
    one_by_one = min(w.position for w in workers) / (time.perf_counter() - started)
    project(workers_for(runtime.ledger, url))
    runtime.close()
    return [("Projection catch-up from 0, 4 read models", f"{batched:,.0f} facts/s",
             f"{head:,} facts, as `tally rebuild`; one transaction per fact: {one_by_one:,.0f} "
             f"facts/s ({batched / one_by_one:.1f}×)")]


def _document_times(ledger, members: list) -> list[float]:
    timings = []
    for member_id in members:
        started = time.perf_counter()
        ledger.document(ledger.member(member_id))
        timings.append(time.perf_counter() - started)
    return sorted(timings)


def _ms(timings: list[float], share: float) -> str:
    return f"{timings[min(int(len(timings) * share), len(timings) - 1)] * 1000:.2f}"


def _top_up(ledger, url: str, events: int) -> None:
    with psycopg.connect(url) as conn:
        members = [str(row[0]) for row in conn.execute(
            "SELECT originator_id FROM ledger_events WHERE topic LIKE '%%Member.Enrolled' "
            "ORDER BY notification_id LIMIT 2000")]
    number = 20_000_000
    while (ledger.recorder.max_notification_id() or 0) < events - 10_000:
        ledger.post_purchases([_order(number + n, members[n % len(members)])
                               for n in range(10_000)])
        number += 10_000


def _forget(url: str, workers: list) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE members, identities, lots, ledger_entries, ledger_totals")
        for worker in workers:
            conn.execute(f"DELETE FROM {worker.read_model.name}_tracking "
                         "WHERE application_name = %s", (UPSTREAM,))
            worker.position = 0


@contextmanager
def collector_pauses() -> Iterator[list[tuple[int, float]]]:
    """(generation, seconds) of each of Python's garbage collections while the block ran."""
    pauses, began = [], [0.0]

    def clock(phase: str, info: dict) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            pauses.append((info["generation"], time.perf_counter() - began[0]))

    gc.callbacks.append(clock)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(clock)


def _timeline_pages(ledger, member_id: uuid.UUID) -> tuple[list[float], float]:
    """Seconds per page of 1,000, walking a member's whole timeline, and the seconds Python's
    garbage collector took meanwhile (a full collection of this process's heap, a million lots
    in its caches by now, takes about half a second: it would show as one slow page)."""
    timings, after = [], 0
    with collector_pauses() as pauses:
        while after is not None:
            started = time.perf_counter()
            after = member_timeline(ledger, member_id, after_version=after, limit=1000)["next_after_version"]
            timings.append(time.perf_counter() - started)
    return timings, sum(seconds for _, seconds in pauses)


def _first_page(ledger, member_id: str) -> float:
    started = time.perf_counter()
    member_timeline(ledger, uuid.UUID(member_id))
    return (time.perf_counter() - started) * 1000


def reads(url: str, events: int = 1_000_000) -> list[tuple[str, ...]]:
    """Member documents, a 10,000-fact timeline, a CSV export and verify, on the ledger built so
    far topped up with purchases (batch path, over the bulk scenario's members) to `events`."""
    runtime = start(Settings(database_url=url))
    ledger = runtime.ledger
    _top_up(ledger, url, events)
    heavy = ledger.enroll(member_id=None, identities=[], referrer_code=None, occurred_at=START,
                          actor=ACTOR, request_hash="heavy").body["member_id"]
    ledger.post_purchases([_order(10_000_000 + n, heavy) for n in range(9_999)])
    head = ledger.recorder.max_notification_id()
    with psycopg.connect(url) as conn:
        members = [row[0] for row in conn.execute(
            "SELECT originator_id FROM ledger_events WHERE topic LIKE '%%Member.Enrolled' LIMIT 1000")]
    # The collector as `tally serve` sets it when it starts: without this the benchmark's own
    # heap (a million facts posted, their members cached) gets full collections of ~0.5 s at
    # default thresholds, which land on whichever read runs then (a timeline page at 06:23 UTC).
    settle_garbage_collector()
    # First reads in a process that has read no member yet, as after `tally serve` starts
    # (each member from its latest snapshot and the facts since); then again, cached. Until
    # 2026-11-24 08:30 UTC the first reads came from this process's own cache, which the
    # top-up had filled with every member it posted to.
    fresh = start(Settings(database_url=url))
    with collector_pauses() as pauses:
        cold = _document_times(fresh.ledger, members)
    timings = _document_times(fresh.ledger, members)
    fresh.close()
    project(workers_for(ledger, url))  # as `tally serve` keeps them: deep pages start from them
    (pages, collecting), first_page = _timeline_pages(ledger, uuid.UUID(heavy)), _first_page(ledger, heavy)
    again = [sum(_timeline_pages(ledger, uuid.UUID(heavy))[0]) for _ in range(2)]  # planned by now
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT count(*) FROM ledger_entries").fetchone()[0]
    pool, size = open_pool(url), 0
    started = time.perf_counter()
    for chunk in csv_chunks(entries_export(pool, EntryFilter())):
        size += len(chunk)  # what GET /v1/ledger/entries streams with Accept: text/csv
    export_rate = rows / (time.perf_counter() - started)
    verify_seconds = {}
    for workers in (1, os.cpu_count() or 1):  # as GET /v1/ledger/verify, as `tally verify`
        started = time.perf_counter()
        checked = verify_ledger(ledger, pool, workers=workers)  # read models current (above)
        verify_seconds[workers] = time.perf_counter() - started
    pool.close()
    runtime.close()
    return [(f"Reads at {head:,} facts: member document", f"p99 {_ms(timings, .99)} ms",
             f"p50 {_ms(timings, .5)} ms over {len(timings)} members, read again (cached, "
             f"fast-forwarded); first read in a new process (snapshot and facts since) "
             f"p50 {_ms(cold, .5)} ms, p99 {_ms(cold, .99)} ms, longest collector pause "
             f"meanwhile {max((seconds for _, seconds in pauses), default=0) * 1000:.1f} ms"),
            ("Reads: a 10,000-fact timeline", f"{sum(pages) * 1000:,.0f} ms",
             f"all {len(pages)} pages of 1,000, replayed from the store, the first walk (walked "
             f"twice more: {again[0] * 1000:,.0f} and {again[1] * 1000:,.0f} ms); slowest page "
             f"{max(pages) * 1000:.0f} ms; garbage collection meanwhile {collecting * 1000:.0f} ms; "
             f"first page of 100: {first_page:.1f} ms"),
            ("Reads: ledger entries export", f"{export_rate:,.0f} rows/s",
             f"{rows:,} rows as CSV ({size / 2**20:,.0f} MiB), as the API streams them from a server-side cursor"),
            ("Reads: verify the whole ledger", f"{verify_seconds[1]:,.1f} s",
             f"{checked['members_checked']:,} members, {checked['events_checked']:,} member facts "
             f"({verify_seconds[1] / checked['events_checked'] * 1e6:.0f} µs a fact) in one process "
             f"(GET /v1/ledger/verify); {max(verify_seconds):,} processes (tally verify) "
             f"{verify_seconds[max(verify_seconds)]:,.1f} s; hash chains, refold, every read "
             f"model compared; ok {checked['ok']}")]
