"""`tally import`: a file imported twice leaves each purchase once; refused rows are explained."""

from __future__ import annotations

import csv
import io

import orjson
import pytest
from rich.console import Console

from tally.importer import run_import
from tests.integration.ledgers import ACTOR, at, open_ledger

ROWS = 100_000


@pytest.fixture
def ledger(database_url, clean_db):
    ledger = open_ledger(database_url)
    yield ledger
    ledger.close()


def enrol_cards(ledger, count: int) -> None:
    for number in range(count):
        ledger.enroll(member_id=None, identities=[("card", f"C-{number}")], referrer_code=None,
                      occurred_at=at("2026-01-01"), actor=ACTOR, request_hash=str(number))


def test_importing_the_same_100000_row_file_twice_leaves_exactly_100000_purchases(ledger, tmp_path):
    enrol_cards(ledger, 200)
    file = tmp_path / "sales.ndjson"
    with file.open("wb") as out:
        for number in range(ROWS):
            out.write(orjson.dumps({
                "transaction_id": f"S-{number}", "channel": "web", "amount": "8.80", "currency": "CNY",
                "member": {"identity": {"kind": "card", "value": f"C-{number % 200}"}},
                "occurred_at": "2026-03-01T10:00:00+08:00"}) + b"\n")
    quiet = Console(file=io.StringIO())
    assert run_import(ledger, file, quiet, batch=5000)
    assert run_import(ledger, file, quiet, batch=5000)
    purchases = [n for n in ledger.recorder.select_notifications(1, 10 * ROWS)
                 if n.topic.endswith("Purchase.Recorded")]
    assert len(purchases) == ROWS


def test_refused_csv_rows_are_written_beside_the_file_with_their_reasons(ledger, tmp_path):
    enrol_cards(ledger, 1)
    file = tmp_path / "day.csv"
    with file.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["transaction_id", "channel", "identity_kind", "identity_value", "amount",
                         "currency", "occurred_at"])
        writer.writerow(["D-1", "pos", "card", "C-0", "10.00", "CNY", "2026-03-01T10:00:00+08:00"])
        writer.writerow(["D-2", "pos", "card", "C-404", "10.00", "CNY", "2026-03-01T10:00:00+08:00"])
        writer.writerow(["D-3", "pos", "card", "C-0", "10.001", "CNY", "2026-03-01T10:00:00+08:00"])
    assert not run_import(ledger, file, Console(file=io.StringIO()))
    refused = [orjson.loads(line) for line in (tmp_path / "day.csv.refused.ndjson").read_bytes().splitlines()]
    assert [(r["line"], r["code"]) for r in refused] == [(3, "identity_not_found"), (4, "validation_error")]
