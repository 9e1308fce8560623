"""`tally import FILE --workers N` from the command line, on the test database."""

from __future__ import annotations

import orjson
from typer.testing import CliRunner

from tally.cli import app
from tests.integration.ledgers import ACTOR, at, open_ledger


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
