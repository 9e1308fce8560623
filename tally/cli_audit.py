"""`tally replay MEMBER` and `tally verify`, registered on the `tally` command."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any, Iterator

import typer
from rich.table import Table

from tally.cli import app, console, open_runtime
from tally.timeline import MAX_LIMIT, member_timeline


def _moment(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _as_of(text: str | None) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise typer.BadParameter("give an offset, e.g. 2026-11-22T10:00:00+08:00", param_hint="--as-of")
    return moment


def whole_timeline(ledger: Any, member: str, as_of: datetime | None) -> Iterator[dict]:
    after: int | None = 0
    while after is not None:
        page = member_timeline(ledger, member, as_of, after, MAX_LIMIT)
        yield from page["events"]
        after = page["next_after_version"]


def timeline_table(member: str, events: Iterator[dict]) -> Table:
    table = Table(title=f"Timeline of member {member}", title_justify="left")
    for name in ("version", "recorded", "type", "points", "available", "pending", "debt"):
        table.add_column(name, justify="right" if name != "type" else "left", no_wrap=True)
    table.add_column("summary", overflow="fold")
    for event in events:
        balance = event["balance"]
        points = f"{event['points_delta']:+d}" if event["points_delta"] else ""
        table.add_row(str(event["version"]), _moment(event["recorded_at"]), event["type"],
                      points, str(balance["available"]), str(balance["pending"]),
                      str(balance["debt"]), event["summary"])
    return table


@app.command()
def replay(member: str, as_of: str = typer.Option(None, help="Only facts recorded by then (RFC 3339).")) -> None:
    """Print a member's timeline with running balances."""
    from domain.errors import LedgerError

    moment = _as_of(as_of)
    runtime = open_runtime()
    try:
        console.print(timeline_table(member, whole_timeline(runtime.ledger, member, moment)))
    except LedgerError as refusal:
        console.print(f"[red]{refusal.code}[/red]: {refusal.detail}")
        raise typer.Exit(1) from None
    finally:
        runtime.close()


@app.command()
def verify(workers: int = typer.Option(os.cpu_count() or 1, min=1, help=(
        "Processes checking members side by side (Python's work: one keeps one core busy); "
        "the report is the same with any number."))) -> None:
    """Refold the event store, recheck every hash chain and compare every read model;
    exit status 1 on any mismatch, 2 if the check stopped before the end."""
    from tally import audit
    from tally.verify import verify_ledger
    from tally.verify_workers import VerifyStopped

    # Brings the read models up to date when no other process is projecting (each read
    # model has one worker across processes; these wait if `tally serve` runs).
    runtime = open_runtime(read_side=True)
    try:
        pool = audit.read_pool(runtime)
        head = runtime.ledger.recorder.max_notification_id() or 0
        with console.status("Waiting for the read models, then refolding every member…"):
            report = verify_ledger(runtime.ledger, pool,
                                   lambda: audit.wait_for_read_models(pool, head), workers)
    except VerifyStopped as stopped:
        console.print(f"[red]stopped[/red]: {stopped}")
        raise typer.Exit(2) from None
    finally:
        runtime.close()
    for found in report["mismatches"]:
        version = f" v{found['version']}" if "version" in found else ""
        console.print(f"[red]{found['kind']}[/red] {found['member_id']}{version}: {found['detail']}")
    verdict = "[green]ok[/green]" if report["ok"] else f"[red]{len(report['mismatches'])} mismatches[/red]"
    console.print(f"{verdict}: {report['members_checked']} members, "
                  f"{report['events_checked']} facts checked")
    raise typer.Exit(0 if report["ok"] else 1)
