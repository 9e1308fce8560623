"""Peak memory of a Tally server while it streams CSV exports of 20,000 and 200,000 entries.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python bench/export_rss.py

Makes a database `tally_bench_export` on that server, fills ledger_entries with synthetic
rows, runs the API in a child process and downloads `GET /v1/ledger/entries` as text/csv.
It prints the server's peak resident set (VmHWM) after start-up and after each export: a
streamed export keeps it flat, where holding the rows would add hundreds of MiB.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.integration.test_audit_export import SYNTHETIC_ENTRIES  # noqa: E402

DATABASE = "tally_bench_export"
KEY = "bench-finance"


def fresh_database(server: str) -> str:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return urlunparse(urlparse(server)._replace(path=f"/{DATABASE}"))


def fill(url: str, rows: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE ledger_entries")
        conn.execute(SYNTHETIC_ENTRIES, (rows,))


def serve(url: str, port: int) -> None:
    """The child: the API over a started runtime (no read side: the rows are synthetic)."""
    import uvicorn

    from api.app import create_app
    from tally.bootstrap import start
    from tally.settings import Settings

    runtime = start(Settings(database_url=url, api_keys=f"finance:{KEY}"))
    uvicorn.run(create_app(runtime), host="127.0.0.1", port=port, log_level="warning")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM: this measurement needs Linux")


def export(base: str) -> tuple[int, float]:
    lines, started = 0, time.perf_counter()
    headers = {"Authorization": f"Bearer {KEY}", "Accept": "text/csv"}
    with httpx.stream("GET", f"{base}/v1/ledger/entries", headers=headers, timeout=300) as reply:
        reply.raise_for_status()
        for chunk in reply.iter_bytes():
            lines += chunk.count(b"\n")
    return lines - 1, time.perf_counter() - started


def wait_until_up(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not start")


def main() -> None:
    from migrations import apply_migrations

    url = fresh_database(os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    apply_migrations(url)
    port = free_port()
    child = subprocess.Popen([sys.executable, __file__, "--serve", url, str(port)], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base)
        print(f"server peak RSS after start-up: {peak_rss_mib(child.pid):.1f} MiB")
        for rows in (20_000, 200_000):
            fill(url, rows)
            sent, seconds = export(base)
            print(f"{sent:>7} rows as CSV in {seconds:.1f} s; "
                  f"server peak RSS now {peak_rss_mib(child.pid):.1f} MiB")
    finally:
        child.terminate()
        child.wait()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        main()
