"""In-process scenarios: bulk import and projection catch-up (reads: bench/reads.py)."""

from __future__ import annotations

import io
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory

import orjson
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from rich.console import Console

from projections.runner import UPSTREAM, catch_up as project, workers_for
from tally.batch import CHUNK_BESIDE_TILLS
from tally.bootstrap import start
from tally.bulk import collector_paused
from tally.cli_projections import REBUILD_BATCH
from tally.cli import IMPORT_WORKERS
from tally.importer import run_import
from tally.settings import Settings

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


def _forget(url: str, workers: list) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE members, identities, lots, ledger_entries, ledger_totals")
        for worker in workers:
            conn.execute(f"DELETE FROM {worker.read_model.name}_tracking "
                         "WHERE application_name = %s", (UPSTREAM,))
            worker.position = 0
