"""`tally import FILE --workers N` from the command line, on the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from psycopg.conninfo import make_conninfo
from typer.testing import CliRunner

from tally.cli import IMPORT_WORKERS, SMALL_IMPORT, app, ensure_commands, import_workers
from tests.e2e.live import descendants, left_after
from tests.integration.ledgers import ACTOR, Shop, at, open_ledger

ROOT = Path(__file__).resolve().parents[2]


def test_import_with_two_workers_reports_created_then_replayed(clean_db, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", clean_db)
    ledger = open_ledger(clean_db)
    member = ledger.enroll(member_id=None, identities=[("card", "C-1")], referrer_code=None,
                           occurred_at=at("2026-01-01"), actor=ACTOR, request_hash="e").body
    ledger.close()
    file = tmp_path / "sales.ndjson"
    file.write_bytes(b"".join(orjson.dumps({
        "transaction_id": f"S-{n}", "channel": "pos", "amount": "20.00", "currency": "CNY",
        "member": {"identity": {"kind": "card", "value": "C-1"}} if n % 2 else
        {"member_id": member["member_id"]}, "occurred_at": "2026-02-01T10:00:00+08:00"}) + b"\n"
        for n in range(40)))

    def run() -> tuple[int, list[list[str]]]:
        result = CliRunner().invoke(app, ["import", str(file), "--workers", "2", "--batch", "7"],
                                    env={"COLUMNS": "200"})
        rows = [[cell.strip() for cell in line.split("│")[1:3]] for line in result.output.splitlines()
                if line.count("│") == 3]
        return result.exit_code, rows

    assert run() == (0, [["created", "40"], ["replayed", "0"], ["refused", "0"]])
    assert run() == (0, [["created", "0"], ["replayed", "40"], ["refused", "0"]])
    ledger = open_ledger(clean_db)
    assert ledger.member(member["member_id"]).available == 800
    ledger.close()


def test_a_killed_import_leaves_no_worker_behind(clean_db, tmp_path):
    """Its workers wait on their inboxes; killed (SIGKILL, out of memory), the import cannot
    stop them, and they and their fork server stayed for ever: now they leave with it."""
    ledger = open_ledger(clean_db)
    members = [Shop(ledger).enroll()["member_id"] for _ in range(20)]
    ledger.close()
    file = tmp_path / "sales.ndjson"
    file.write_bytes(b"".join(orjson.dumps({
        "transaction_id": f"K-{n}", "channel": "pos", "amount": "20.00", "currency": "CNY",
        "member": {"member_id": members[n % 20]}}) + b"\n" for n in range(200_000)))
    command = subprocess.Popen(
        [sys.executable, "-c", "from tally.cli import main; main()", "import", str(file),
         "--workers", "2"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "DATABASE_URL": clean_db, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 60
    while len(helpers := descendants(command.pid)) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)  # the fork server, its tracker and two workers

    os.kill(command.pid, signal.SIGKILL)
    command.wait()

    assert len(helpers) >= 4
    assert left_after(helpers, seconds=15) == set()


def invoke(*args: str) -> tuple[int, str]:
    ensure_commands()  # `verify` among them
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "300"})
    return result.exit_code, " ".join(result.output.split())  # rich wraps long lines


def test_a_file_that_is_not_there_is_refused_before_any_ledger_is_opened(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")  # never asked
    code, output = invoke("import", str(tmp_path / "missing.csv"))
    assert (code, "does not exist" in output, "Cannot open" in output) == (2, True, False)


@pytest.mark.parametrize("command", [["import", "sales.ndjson"], ["verify"]])
def test_a_database_that_cannot_be_opened_ends_the_command_with_its_reason(
        clean_db, monkeypatch, tmp_path, command):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sales.ndjson").write_bytes(b"")
    monkeypatch.setenv("DATABASE_URL", make_conninfo(clean_db, dbname="tally_no_such_database"))
    code, output = invoke(*command)
    assert code == 2
    assert output.startswith("Cannot open the ledger:")
    assert 'database "tally_no_such_database" does not exist' in output
    assert "Traceback" not in output


def test_a_csv_that_is_not_utf8_stops_the_import_with_exit_status_2(clean_db, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", clean_db)
    file = tmp_path / "till.csv"
    file.write_bytes("transaction_id,channel,member_id,amount,currency\nCAFÉ-1,pos,x,1.00,CNY\n"
                     .encode("cp1252"))
    code, output = invoke("import", str(file))
    assert code == 2
    assert ("The import stopped: line 2 of till.csv is not UTF-8 text (invalid continuation byte "
            "at byte 4 of the line); save the file as UTF-8. Rows posted so far stay posted"
            in output)


def test_a_small_file_is_posted_in_the_commands_own_process_a_large_one_by_workers(tmp_path):
    small, large = tmp_path / "small.ndjson", tmp_path / "large.ndjson"
    small.write_bytes(b" " * (SMALL_IMPORT - 1))
    large.write_bytes(b" " * SMALL_IMPORT)
    assert (import_workers(small), import_workers(large)) == (1, IMPORT_WORKERS)
