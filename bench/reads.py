"""Reads at a million facts: member documents, a 10,000-fact timeline, an export, verify.

Documents and the timeline are read in a process of their own, started for the purpose, as
`tally serve` reads them after it starts (its garbage collector set the same way): the
benchmark's own process has posted the million facts by then and holds what that left on
its heap, which slowed the timeline's walk in it by 1.1-1.4×. Until 2026-11-24 14:00 UTC
they were read there, the first reads through a new ledger in the same process
(`bench/HISTORY.md`); the timeline is still walked there once as well, to compare.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, Iterator

import psycopg

from api.routers.ledger import csv_chunks
from bench.scenarios import ACTOR, START, _order
from projections.runner import catch_up as project, workers_for
from tally.audit import EntryFilter, entries_export
from tally.bootstrap import start
from tally.cli import settle_garbage_collector
from tally.settings import Settings
from tally.storage import open_pool
from tally.timeline import member_timeline
from tally.verify import verify_ledger


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


def _timeline_pages(ledger, member_id: uuid.UUID) -> tuple[list[float], float]:
    """Seconds per page of 1,000, walking a member's whole timeline, and the seconds Python's
    garbage collector took meanwhile (a full collection of a heap holding a million lots
    takes about half a second: it would show as one slow page)."""
    timings, after = [], 0
    with collector_pauses() as pauses:
        while after is not None:
            started = time.perf_counter()
            after = member_timeline(ledger, member_id, after_version=after, limit=1000)["next_after_version"]
            timings.append(time.perf_counter() - started)
    return timings, sum(seconds for _, seconds in pauses)


def read_after_start(url: str, members: list, heavy: str) -> dict[str, Any]:
    """In a new process, as `tally serve` after it starts: every member's document read
    first from the store (its snapshot and the facts since), then again from the cache; then
    the heavy member's whole timeline, three walks, and a first page of 100."""
    runtime = start(Settings(database_url=url))
    settle_garbage_collector()  # after start-up, as `tally serve` does
    try:
        with collector_pauses() as pauses:
            cold = _document_times(runtime.ledger, members)
        cached = _document_times(runtime.ledger, members)
        pages, collecting = _timeline_pages(runtime.ledger, uuid.UUID(heavy))
        started = time.perf_counter()
        member_timeline(runtime.ledger, uuid.UUID(heavy))
        first_page = time.perf_counter() - started
        again = [sum(_timeline_pages(runtime.ledger, uuid.UUID(heavy))[0]) for _ in range(2)]
    finally:
        runtime.close()
    return {"cold": cold, "cached": cached, "pause": max((s for _, s in pauses), default=0),
            "pages": pages, "collecting": collecting, "first_page": first_page, "again": again}


def _in_new_process(function, *args) -> Any:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


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
    project(workers_for(ledger, url))  # as `tally serve` keeps them: deep pages start from them
    served = _in_new_process(read_after_start, url, members, heavy)
    # Here, beside the million facts this process posted (and its collector set as above:
    # at Python's defaults a full collection of ~0.5 s landed on a timeline page at 06:23 UTC).
    settle_garbage_collector()
    here = sum(_timeline_pages(ledger, uuid.UUID(heavy))[0])
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
    cold, cached, pages, again = served["cold"], served["cached"], served["pages"], served["again"]
    return [(f"Reads at {head:,} facts: member document", f"p99 {_ms(cached, .99)} ms",
             f"p50 {_ms(cached, .5)} ms over {len(cached)} members, read again (cached, "
             f"fast-forwarded); first read after a start (snapshot and facts since) "
             f"p50 {_ms(cold, .5)} ms, p99 {_ms(cold, .99)} ms, longest collector pause "
             f"meanwhile {served['pause'] * 1000:.1f} ms; in a new process"),
            ("Reads: a 10,000-fact timeline", f"{sum(pages) * 1000:,.0f} ms",
             f"all {len(pages)} pages of 1,000, replayed from the store, the first walk in a new "
             f"process (walked twice more: {again[0] * 1000:,.0f} and {again[1] * 1000:,.0f} ms; "
             f"in the benchmark's own process, which posted the facts: {here * 1000:,.0f} ms); slowest "
             f"page {max(pages) * 1000:.0f} ms; garbage collection meanwhile "
             f"{served['collecting'] * 1000:.0f} ms; first page of 100: "
             f"{served['first_page'] * 1000:.1f} ms"),
            ("Reads: ledger entries export", f"{export_rate:,.0f} rows/s",
             f"{rows:,} rows as CSV ({size / 2**20:,.0f} MiB), as the API streams them from a server-side cursor"),
            ("Reads: verify the whole ledger", f"{verify_seconds[1]:,.1f} s",
             f"{checked['members_checked']:,} members, {checked['events_checked']:,} member facts "
             f"({verify_seconds[1] / checked['events_checked'] * 1e6:.0f} µs a fact) in one process "
             f"(GET /v1/ledger/verify); {max(verify_seconds):,} processes (tally verify) "
             f"{verify_seconds[max(verify_seconds)]:,.1f} s; hash chains, refold, every read "
             f"model compared; ok {checked['ok']}")]
