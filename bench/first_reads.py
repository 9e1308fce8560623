"""`python -m bench.first_reads [--members N] [--facts F]`: every member read once, cold.

After `tally serve` starts, or once a busy day has passed more members through it than its
cache holds (20,000), members are read from the store: their latest snapshot and the facts
since. Their lots live on in the cache, where Python's garbage collector scans them again
as they age: this reads every member's document once, in a process whose collector is set as
`tally serve` sets it, and reports the reads' latency and the collector's pauses by generation.
Builds members of F purchases (snapshotted as requests leave them, every 100 facts) as
`bench.nightly` does. Writes `bench/results/first_reads.md`.
"""

from __future__ import annotations

import argparse

import psycopg

from bench import nightly
from bench.__main__ import fresh_database, report
from bench.reads import _document_times, collector_pauses
from tally.bootstrap import start
from tally.cli import settle_garbage_collector
from tally.settings import Settings


def _percentile(values: list[float], share: float) -> float:
    return sorted(values)[min(int(len(values) * share), len(values) - 1)]


def first_reads(url: str) -> tuple[list[float], dict[int, list[float]]]:
    """Seconds each member's first read took, and each collection's seconds by generation."""
    with psycopg.connect(url) as conn:
        members = [row[0] for row in conn.execute(
            "SELECT originator_id FROM ledger_events WHERE topic LIKE '%%Member.Enrolled'")]
    settle_garbage_collector()
    runtime = start(Settings(database_url=url))
    try:
        with collector_pauses() as pauses:
            timings = _document_times(runtime.ledger, members)
    finally:
        runtime.close()
    by_generation: dict[int, list[float]] = {0: [], 1: [], 2: []}
    for generation, seconds in pauses:
        by_generation[generation].append(seconds)
    return timings, by_generation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--facts", type=int, default=50, help="purchases per member beforehand")
    options = parser.parse_args()
    url = fresh_database("tally_bench_first_reads")
    nightly.build(url, options.members, options.facts)
    timings, pauses = first_reads(url)
    ms = [t * 1000 for t in timings]
    rows = [("First reads of every member", f"p99 {_percentile(ms, .99):.2f} ms",
             f"{len(ms):,} members of {options.facts + 1} facts, each read once from its snapshot "
             f"and the facts since: p50 {_percentile(ms, .5):.2f} ms, p99.9 "
             f"{_percentile(ms, .999):.2f} ms, longest {max(ms):.1f} ms")]
    for generation, taken in pauses.items():
        rows.append((f"Collector pauses meanwhile, generation {generation}", f"{len(taken):,}",
                     f"longest {max(taken, default=0) * 1000:.1f} ms, "
                     f"{sum(taken) * 1000:,.0f} ms in all"))
    report(rows, "first_reads")


if __name__ == "__main__":
    main()
