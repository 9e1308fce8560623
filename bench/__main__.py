"""`python -m bench [--scale N] [--seconds S] [--events E]`: Tally against its baselines, in one run.

Creates its own database (`tally_bench`) on the DATABASE_URL server, or on an embedded
PostgreSQL, and prints a table (also written to bench/results/latest.md).
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import httpx
import psycopg

from bench import reads, scenarios
from bench.load import Load, drive, plain_purchase, tally_purchase
from tally.settings import Settings
from tally.storage import database_url

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 3  # each HTTP load is taken in rounds, the targets in turn (this machine drifts)


def fresh_database(name: str = "tally_bench") -> str:
    server = database_url(Settings())
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return psycopg.conninfo.make_conninfo(server, dbname=name)


def serve(command: list[str], env: dict[str, str], port: int, ready: str) -> subprocess.Popen:
    """Starts a server and waits until `ready` (a path) answers 200."""
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{ready}").status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{command} did not start")


def http_scenario(url: str, seconds: float) -> list[tuple[str, ...]]:
    """POS purchases over HTTP from 16 clients: Tally, the naive app, the plain-SQL ledgers.

    All four servers run at once (idle but for the one under load), and each load is taken
    in `ROUNDS` rounds of `seconds / ROUNDS`, the targets in turn, the order rotating: this
    machine's speed drifts by 15% or more within minutes, which one long load per target,
    one after another, turned into the ratios."""
    python = sys.executable
    targets = [
        ("tally", [python, "-c", "from tally.cli import main; main()", "serve", "--port", "8811",
                   "--no-access-log"],
         {"DATABASE_URL": url, "TALLY_API_KEYS": "pos:bench"}, 8811, "/healthz", "/v1/members",
         "/v1/transactions", tally_purchase),
        ("naive eventsourcing", [python, "-m", "uvicorn", "bench.baselines:naive_app", "--factory",
                                 "--port", "8812", "--log-level", "warning"],
         {"BENCH_DATABASE_URL": url}, 8812, "/docs", "/accounts", "/purchases", plain_purchase),
        ("plain SQL", [python, "-m", "uvicorn", "bench.baselines:plain_sql_app", "--factory",
                       "--port", "8813", "--log-level", "warning"],
         {"BENCH_DATABASE_URL": url}, 8813, "/docs", "/accounts", "/purchases", plain_purchase),
        ("plain SQL, async", [python, "-m", "uvicorn", "bench.baselines:plain_sql_async_app",
                              "--factory", "--port", "8814", "--log-level", "warning"],
         {"BENCH_DATABASE_URL": url}, 8814, "/docs", "/accounts", "/purchases", plain_purchase),
    ]
    headers = {"Authorization": "Bearer bench"}
    processes, loads = [], {}
    try:
        for name, command, env, port, ready, enrol, path, body in targets:
            processes.append(serve(command, env, port, ready))
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, headers=headers) as http:
                members = [http.post(enrol, json={}).json()["member_id"] for _ in range(400)]
            loads[name] = functools.partial(drive, base, path, members, body, 16, headers=headers)
            loads[name](2.0)  # warm: connections, prepared statements, caches
        spread = _in_rounds(loads, seconds)
        hot = _in_rounds(loads, seconds, hot_share=0.2)
        half = _in_rounds(loads, seconds, rate={name: spread[name].rate / 2 for name in loads})
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
    rows, rates = [], {name: spread[name].rate for name in loads}
    for name in loads:
        rows.append((f"HTTP purchases, {name}", f"{spread[name].rate:,.0f}/s",
                     f"p50 {spread[name].percentile(.5):.1f} ms, p99 {spread[name].percentile(.99):.1f} ms; "
                     f"hot mix {hot[name].rate:,.0f}/s p99 {hot[name].percentile(.99):.1f} ms; "
                     f"at half rate p99 {half[name].percentile(.99):.1f} ms; "
                     f"errors {spread[name].errors + hot[name].errors + half[name].errors}"))
    rows.append(("HTTP ratio tally / naive, tally / plain SQL",
                 f"{rates['tally'] / rates['naive eventsourcing']:.2f}×, "
                 f"{rates['tally'] / rates['plain SQL']:.2f}×",
                 f"tally / plain SQL, async: {rates['tally'] / rates['plain SQL, async']:.2f}×; "
                 f"{ROUNDS} rounds of {seconds / ROUNDS:.1f} s per load, the targets in turn"))
    return rows


def _in_rounds(loads: dict[str, Callable[..., Load]], seconds: float, rate: dict | None = None,
               **options: float) -> dict[str, Load]:
    """Each target's load over `seconds`, taken in rounds with the others', combined."""
    names, taken = list(loads), {name: [] for name in loads}
    for round_number in range(ROUNDS):
        for name in names[round_number % len(names):] + names[:round_number % len(names)]:
            taken[name].append(loads[name](seconds / ROUNDS, rate=rate and rate[name], **options))
    return {name: Load.combined(taken[name]) for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=50_000, help="purchases for bulk and reads")
    parser.add_argument("--seconds", type=float, default=10.0, help="per HTTP load")
    parser.add_argument("--events", type=int, default=1_000_000,
                        help="facts in the ledger for the reads scenario")
    parser.add_argument("--skip-http", action="store_true")
    options = parser.parse_args()
    url = fresh_database()
    rows = [] if options.skip_http else http_scenario(url, options.seconds)
    rows += scenarios.bulk(url, options.scale)
    rows += scenarios.catch_up(url)
    rows += reads.reads(url, options.events)
    report(rows)


def report(rows: list[tuple[str, ...]], name: str = "latest") -> None:
    machine = f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [f"Tally benchmarks, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine}", "",
             "| scenario | result | details |", "|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    text = "\n".join(lines)
    print(text)
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / f"{name}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
