"""`python -m bench.nightly [--members N] [--facts F]`: a nightly import naming each member once.

The main benchmark's import names 2,000 members a hundred times each; a shop's nightly file
names most members once, so each row reads its member cold: its facts since its last snapshot
replayed. This builds members of F purchases each, snapshotted as requests leave them (every
100 facts: most have none yet), then imports a file of one purchase per member, by card, three
nights in a row, and the last night's file once more (a re-run after a crash: all replays).
Writes `bench/results/nightly.md`.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import orjson
from rich.console import Console

from bench import scenarios
from bench.__main__ import fresh_database, report
from tally.bootstrap import start
from tally.cli import IMPORT_WORKERS
from tally.importer import run_import
from tally.settings import Settings


def build(url: str, members: int, facts: int) -> None:
    runtime = start(Settings(database_url=url))
    try:
        ledger = runtime.ledger
        ledger.bulk_snapshotting_intervals = dict(ledger.snapshotting_intervals)  # as requests
        ids = scenarios._members(ledger, members)
        orders = [scenarios._order(n, ids[n % members]) for n in range(members * facts)]
        for first in range(0, len(orders), 10_000):
            ledger.post_purchases(orders[first:first + 10_000])
    finally:
        runtime.close()


def import_rate(url: str, file: Path) -> float:
    """Rows per second of `tally import` (its worker processes, start-up included), in a
    process that has read no member yet."""
    runtime = start(Settings(database_url=url))
    try:
        rows = sum(1 for _ in file.open("rb"))
        started = time.perf_counter()
        run_import(runtime.ledger, file, Console(file=io.StringIO()), 1000, IMPORT_WORKERS, url)
        return rows / (time.perf_counter() - started)
    finally:
        runtime.close()


def night_file(folder: str, night: int, members: int) -> Path:
    file = Path(folder) / f"night-{night}.ndjson"
    file.write_bytes(b"".join(orjson.dumps({
        "transaction_id": f"N{night}-{n}", "channel": "pos", "amount": "12.80", "currency": "CNY",
        "member": {"identity": {"kind": "card", "value": f"BENCH-{n}"}},
        "occurred_at": f"2026-03-0{night}T20:00:00+08:00"}) + b"\n" for n in range(members)))
    return file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--facts", type=int, default=50, help="purchases per member beforehand")
    options = parser.parse_args()
    url = fresh_database("tally_bench_nightly")
    build(url, options.members, options.facts)
    rows = []
    with TemporaryDirectory() as folder:
        for night in (1, 2, 3):
            file = night_file(folder, night, options.members)
            rows.append((f"Nightly import, night {night}", f"{import_rate(url, file):,.0f} rows/s",
                         f"one row per member, {options.members:,} members of "
                         f"{options.facts + night} facts read cold, {IMPORT_WORKERS} workers"))
        rows.append(("Nightly import, night 3 again", f"{import_rate(url, file):,.0f} rows/s",
                     "every row a replay (a re-run after a crash)"))
    report(rows, "nightly")


if __name__ == "__main__":
    main()
