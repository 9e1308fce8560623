"""`tally import`: a file imported twice leaves each purchase once; refused rows are explained."""

from __future__ import annotations

import csv
import io

import orjson
import pytest
from rich.console import Console

from tally.importer import ImportStopped, run_import
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


def _member_with_card(ledger) -> str:
    return ledger.enroll(member_id=None, identities=[("card", "C-0")], referrer_code=None,
                         occurred_at=at("2026-01-01"), actor=ACTOR, request_hash="0").body["member_id"]


HEADER = b"transaction_id,channel,identity_kind,identity_value,amount,currency,occurred_at\r\n"


def test_a_csv_saved_by_excel_with_a_byte_order_mark_imports_every_row(ledger, tmp_path):
    member = _member_with_card(ledger)
    file = tmp_path / "excel.csv"
    file.write_bytes(b"\xef\xbb\xbf" + HEADER
                     + b"E-1,pos,card,C-0,10.00,CNY,2026-03-01T10:00:00+08:00\r\n"
                     + "E-2,pos,card,C-0,5.00,CNY,2026-03-01T11:00:00+08:00\r\n".encode())
    assert run_import(ledger, file, Console(file=io.StringIO()))
    assert ledger.member(member).available == 15


def test_an_ndjson_file_with_a_byte_order_mark_is_read_as_ndjson(ledger, tmp_path):
    member = _member_with_card(ledger)
    file = tmp_path / "sales.txt"  # no .ndjson suffix: the first character tells
    file.write_bytes(b"\xef\xbb\xbf" + orjson.dumps({
        "transaction_id": "B-1", "channel": "web", "amount": "7.00", "currency": "CNY",
        "member": {"identity": {"kind": "card", "value": "C-0"}},
        "occurred_at": "2026-03-01T10:00:00+08:00"}) + b"\n")
    assert run_import(ledger, file, Console(file=io.StringIO()))
    assert ledger.member(member).available == 7


def test_a_csv_line_that_is_not_utf8_stops_the_import_there_and_a_rerun_of_the_mended_file_finishes(
        ledger, tmp_path):
    member = _member_with_card(ledger)
    file = tmp_path / "till.csv"
    good = b"G-1,pos,card,C-0,10.00,CNY,2026-03-01T10:00:00+08:00\r\n"
    later = b"G-2,pos,card,C-0,20.00,CNY,2026-03-01T11:00:00+08:00\r\n"
    latin = "G-é,pos,card,C-0,20.00,CNY,2026-03-01T11:00:00+08:00\r\n".encode("latin-1")
    file.write_bytes(HEADER + good + latin + later.replace(b"G-2", b"G-3"))
    with pytest.raises(ImportStopped) as stopped:
        run_import(ledger, file, Console(file=io.StringIO()), batch=1)
    assert str(stopped.value) == ("line 3 of till.csv is not UTF-8 text (invalid continuation byte "
                                  "at byte 3 of the line); save the file as UTF-8")
    assert ledger.member(member).available == 10  # the rows before it were posted, none after
    file.write_bytes(HEADER + good + later + later.replace(b"G-2", b"G-3"))
    quiet = io.StringIO()
    assert run_import(ledger, file, Console(file=quiet, width=200), batch=1)
    assert ledger.member(member).available == 50
    assert "replayed │ 1" in quiet.getvalue() and "created  │ 2" in quiet.getvalue()
