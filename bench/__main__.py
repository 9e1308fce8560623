"""`python -m bench [--scale N] [--seconds S] [--events E]`: Tally against its baselines, in one run.

Creates its own database (`tally_bench`) on the DATABASE_URL server, or on an embedded
PostgreSQL, and prints a table (also written to bench/results/latest.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg

from bench import scenarios
from bench.load import drive, plain_purchase, tally_purchase
from tally.settings import Settings
from tally.storage import database_url

ROOT = Path(__file__).resolve().parent.parent


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
    """POS purchases over HTTP from 16 clients: Tally, the naive app, the plain-SQL ledgers."""
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
    rows, rates = [], {}
    for name, command, env, port, ready, enrol, path, body in targets:
        process = serve(command, env, port, ready)
        base, headers = f"http://127.0.0.1:{port}", {"Authorization": "Bearer bench"}
        try:
            with httpx.Client(base_url=base, headers=headers) as http:
                members = [http.post(enrol, json={}).json()["member_id"] for _ in range(400)]
            spread = drive(base, path, members, body, 16, seconds, headers=headers)
            hot = drive(base, path, members, body, 16, seconds, hot_share=0.2, headers=headers)
            half = drive(base, path, members, body, 16, seconds, rate=spread.rate / 2, headers=headers)
        finally:
            process.terminate()
            process.wait(10)
        rates[name] = spread.rate
        rows.append((f"HTTP purchases, {name}", f"{spread.rate:,.0f}/s",
                     f"p50 {spread.percentile(.5):.1f} ms, p99 {spread.percentile(.99):.1f} ms; "
                     f"hot mix {hot.rate:,.0f}/s p99 {hot.percentile(.99):.1f} ms; "
                     f"at half rate p99 {half.percentile(.99):.1f} ms; errors {spread.errors + hot.errors + half.errors}"))
    rows.append(("HTTP ratio tally / naive, tally / plain SQL",
                 f"{rates['tally'] / rates['naive eventsourcing']:.2f}×, "
                 f"{rates['tally'] / rates['plain SQL']:.2f}×",
                 f"tally / plain SQL, async: {rates['tally'] / rates['plain SQL, async']:.2f}×"))
    return rows


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
    rows += scenarios.reads(url, options.events)
    report(rows)


def report(rows: list[tuple[str, ...]]) -> None:
    machine = f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [f"Tally benchmarks, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine}", "",
             "| scenario | result | details |", "|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    text = "\n".join(lines)
    print(text)
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "latest.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
