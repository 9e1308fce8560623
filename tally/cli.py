"""The `tally` command: serve, demo, import (and the read-side commands in cli_audit/cli_projections)."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

import typer
from rich.console import Console

from tally.collector import settle_garbage_collector
from tally.settings import Settings

app = typer.Typer(help="Tally, an event-sourced loyalty ledger.", no_args_is_help=True,
                  add_completion=False)
console = Console()
log = logging.getLogger("tally")
# On 2 cores (2026-11-24, 300,000 rows by card over 2,000 members, alternating): 3 workers
# 14,172 and 14,285 rows/s with the cores 93-94% busy, 4 workers 14,696 and 14,500 at 96-97%
# (each waits for PostgreSQL part of the time). A file of 10,000 rows, each member read cold,
# went 3-6% slower with the fourth worker's start-up (5,019/5,037 -> 4,879/4,712 rows/s).
IMPORT_WORKERS = min((os.cpu_count() or 1) + 2, 8)
# Workers repay their start-up (~1 s: their fork server importing Tally, then each reading its
# members cold) only on larger files. 2026-11-24, whole `tally import` commands on copies of
# one ledger (2,000 members of ~50 facts, rows by card), alternating: 500-8,000 rows (86 KiB to
# 1.4 MiB of NDJSON) took 0.9-3.5 s in one process against 1.7-4.5 s with four workers; 16,000
# rows about even; 32,000 rows 9.4-13.1 s against 7.2-8.0 s.
SMALL_IMPORT = 1 << 20


def import_workers(file: Path) -> int:
    """The processes an import of `file` uses unless told: one for a file under a MiB (it
    posts sooner in the command's own process), else cores + 2."""
    return 1 if file.stat().st_size < SMALL_IMPORT else IMPORT_WORKERS


def open_runtime(read_side: bool = False):
    """Settings from the environment → database (embedded by default) → migrated Ledger
    (with `read_side`, projecting in this process). A database that cannot be reached (down,
    no such database, refused) ends the command with its reason and exit status 2."""
    import psycopg
    from eventsourcing.persistence import PersistenceError

    from tally.bootstrap import start

    settings = Settings()
    try:
        with console.status("Opening the ledger (migrating if needed)…"):
            return start(settings, read_side=read_side)
    except (psycopg.Error, PersistenceError) as failure:
        console.print(f"[red]Cannot open the ledger:[/red] {failure}")
        raise typer.Exit(2) from None


def ensure_commands() -> None:
    """Registers the commands that live in their own modules."""
    import tally.cli_audit  # noqa: F401
    import tally.cli_projections  # noqa: F401


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000,
          projections: bool = typer.Option(True, help="Keep the read models up to date in a "
                                           "child process it supervises; with --no-projections "
                                           "run `tally project` beside it."),
          projections_in_process: bool = typer.Option(False, help="Project in threads of "
                                                      "this process instead (the tail of "
                                                      "request latency about doubles)."),
          access_log: bool = typer.Option(True, help="A log line per request (the /metrics "
                                          "counters keep counting without it).")) -> None:
    """The HTTP API, with projections kept up to date in a child process (or by `tally project`)."""
    import uvicorn

    from api.app import create_app

    settings = Settings()  # a bad TALLY_API_KEYS stops here, before anything listens
    api = create_app()  # /healthz answers 503 until _boot has migrated the database
    threading.Thread(target=_boot, args=(api, settings, projections, not projections_in_process),
                     name="tally-boot", daemon=True).start()
    # uvicorn shuts down gracefully on SIGTERM (`docker stop`), then raises it again: without a
    # handler of ours the process ended there, its runtime never closed (the batch worker's
    # queues were reported leaked at every stop)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.run(api, host=host, port=port, log_level="info", access_log=access_log)
    finally:
        if api.state.runtime is not None:
            api.state.runtime.close()


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _boot(api, settings: Settings, projections: bool = True, apart: bool = True) -> None:
    """Opens and migrates the ledger, then lets `api` answer; retries while the database is
    not up yet. With `apart`, the read side runs in a child process: projecting in this one
    holds the GIL its event loop waits for."""
    from api.app import attach
    from tally.bootstrap import start

    delay = 1.0
    while True:
        try:
            attach(api, start(settings, read_side=projections, apart=apart, serving=True))
            settle_garbage_collector()
            log.info("the ledger is open; answering requests")
            return
        except Exception as failure:  # the database may not be up yet: keep trying
            log.warning("start-up failed (%s); retrying in %.0fs", failure, delay)
            time.sleep(delay)
            delay = min(delay * 2, 30)


@app.command()
def demo(members: int = typer.Option(3000, min=1)) -> None:
    """Fill the ledger with a realistic synthetic year and print where to look."""
    from rich.progress import Progress

    from tally.demo import Demo

    runtime = open_runtime()
    started = time.perf_counter()
    with Progress(console=console) as progress:
        weeks = progress.add_task("A year of trade", total=52)
        report = Demo(runtime.ledger, members=members,
                      progress=lambda done, total: progress.update(weeks, completed=done)).run()
    runtime.close()
    from tally.demo_report import print_report

    print_report(console, report, time.perf_counter() - started)


@app.command(name="import")
def import_file(file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                            help="CSV with a header row, or NDJSON."),
                batch: int = typer.Option(1000, min=1, help="Rows posted per round."),
                workers: int | None = typer.Option(None, min=1, show_default=False, help=(
                    "Processes posting rows side by side, each member's rows in one of them "
                    f"in file order; 1 posts them in this process. Default: {IMPORT_WORKERS} "
                    "(cores + 2), or 1 for a file under 1 MiB."))) -> None:
    """Import purchases from CSV (with a header) or NDJSON; safe to re-run."""
    workers = workers or import_workers(file)
    if workers > 1:  # the workers' fork server imports Tally while this process opens the ledger
        from tally.processes import IMPORT_PRELOAD, start_fork_server

        start_fork_server(IMPORT_PRELOAD)
    from eventsourcing.persistence import PersistenceError

    from tally.importer import ImportStopped, run_import

    runtime = open_runtime()
    try:
        ok = run_import(runtime.ledger, file, console, batch, workers, runtime.url)
    except (ImportStopped, PersistenceError) as stopped:
        console.print(f"[red]The import stopped:[/red] {stopped}. Rows posted so far stay "
                      "posted; run the same import again to finish it (nothing counts twice).")
        raise typer.Exit(2) from None
    finally:
        runtime.close()
    raise typer.Exit(0 if ok else 1)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ensure_commands()
    app()
