"""`tally import --workers N`: worker processes share the rows out by member, on PostgreSQL."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from rich.console import Console

from tally.importer import ImportStopped, run_import
from tests.integration.ledgers import ACTOR, at, open_ledger

QUIET = Console(file=io.StringIO())


@pytest.fixture
def ledger(database_url, clean_db):
    ledger = open_ledger(database_url)
    yield ledger
    ledger.close()


def enrol(ledger, number: int, *identities: tuple[str, str]) -> str:
    return ledger.enroll(member_id=None, identities=list(identities), referrer_code=None,
                         occurred_at=at("2026-01-01"), actor=ACTOR,
                         request_hash=f"enrol-{number}").body["member_id"]


def purchase(transaction_id: str, member: dict, amount: str = "8.80", currency: str = "CNY",
             day: int = 1) -> dict:
    return {"transaction_id": transaction_id, "channel": "web", "amount": amount,
            "currency": currency, "member": member, "occurred_at": f"2026-03-{day:02d}T10:00:00+08:00"}


def write(path, rows: list) -> None:
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))


def purchase_ids(ledger, member_id: str) -> list[str]:
    return [fact.transaction_id for fact in ledger.events.get(ledger.member(member_id).id)
            if type(fact).__name__ == "PointsEarned"]


def test_three_workers_count_every_row_once_and_a_second_run_replays_them(ledger, database_url,
                                                                       tmp_path):
    members = [enrol(ledger, n, ("card", f"C-{n}")) for n in range(30)]
    file = tmp_path / "sales.ndjson"
    write(file, [purchase(f"S-{n}", {"identity": {"kind": "card", "value": f"C-{n % 30}"}})
                 for n in range(3000)])
    assert run_import(ledger, file, QUIET, batch=200, workers=3, url=database_url)
    assert run_import(ledger, file, QUIET, batch=200, workers=3, url=database_url)
    # 100 purchases of 8.80 each: 8 points apiece, and each counted once
    assert {ledger.member(m).available for m in members} == {800}
    assert {len(purchase_ids(ledger, m)) for m in members} == {100}
    assert not (tmp_path / "sales.ndjson.refused.ndjson").exists()


def test_a_members_rows_are_judged_in_file_order_whichever_way_they_name_the_member(
        ledger, database_url, tmp_path):
    member = enrol(ledger, 0, ("card", "C-0"), ("phone", "+8613800000000"))
    others = [enrol(ledger, n, ("card", f"C-{n}")) for n in range(1, 20)]
    names = [{"identity": {"kind": "card", "value": "C-0"}},
             {"identity": {"kind": "phone", "value": "+86 138-0000-0000"}},
             {"member_id": member}]
    rows = []
    for n in range(300):
        rows.append(purchase(f"M-{n}", names[n % 3]))
        rows.append(purchase(f"O-{n}", {"member_id": others[n % 19]}))
    write(tmp_path / "mixed.ndjson", rows)
    assert run_import(ledger, tmp_path / "mixed.ndjson", QUIET, batch=50, workers=3,
                      url=database_url)
    assert purchase_ids(ledger, member) == [f"M-{n}" for n in range(300)]
    # 8 points per 8.80 until the 114th purchase lifts spend past 1,000.00 (silver), then
    # floor(8.80 × 1.25) = 11 from the next one on
    assert ledger.member(member).available == 114 * 8 + 186 * 11


def test_refused_rows_of_every_worker_are_merged_in_line_order(ledger, database_url, tmp_path):
    for n in range(10):
        enrol(ledger, n, ("card", f"C-{n}"))
    rows, expected = [], []
    for n in range(400):
        card = {"identity": {"kind": "card", "value": f"C-{n % 10}"}}
        if n % 37 == 5:
            rows.append(purchase(f"R-{n}", {"identity": {"kind": "card", "value": f"X-{n}"}}))
            expected.append((n + 1, "identity_not_found"))
        elif n % 41 == 7:
            rows.append(purchase(f"R-{n}", card, amount="1.001"))
            expected.append((n + 1, "validation_error"))
        elif n % 43 == 9:
            rows.append(purchase(f"R-{n}", card, currency="USD"))
            expected.append((n + 1, "validation_error"))  # not the program's currency
        else:
            rows.append(purchase(f"R-{n}", card))
    write(tmp_path / "day.ndjson", rows)
    assert not run_import(ledger, tmp_path / "day.ndjson", QUIET, batch=20, workers=3,
                          url=database_url)
    refused = [orjson.loads(line) for line in
               (tmp_path / "day.ndjson.refused.ndjson").read_bytes().splitlines()]
    assert [(r["line"], r["code"]) for r in refused] == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["day.ndjson", "day.ndjson.refused.ndjson"]
    assert sum(ledger.member(m).available for m in
               [ledger.holder_of("card", f"C-{n}").id for n in range(10)]) == 8 * (400 - len(expected))


def test_workers_that_cannot_reach_the_database_stop_the_import_with_a_reason(
        ledger, database_url, tmp_path):
    write(tmp_path / "sales.ndjson", [purchase("S-1", {"identity": {"kind": "card", "value": "C-0"}})])
    elsewhere = database_url.rsplit("/", 1)[0] + "/tally_no_such_database"
    with pytest.raises(ImportStopped, match="tally_no_such_database"):
        run_import(ledger, tmp_path / "sales.ndjson", QUIET, workers=2, url=elsewhere)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sales.ndjson", "sales.ndjson.refused.ndjson"]


def test_a_stopped_import_lets_its_process_exit(database_url, tmp_path):
    """Rows handed to workers that died were left in the queues' pipes; the process then
    waited for ever, at exit, to finish sending them."""
    script = tmp_path / "stopping.py"
    script.write_text(
        "import io, sys\nfrom pathlib import Path\nimport orjson\nfrom rich.console import Console\n"
        "from tally.importer import ImportStopped, run_import\n"
        "if __name__ == '__main__':\n"
        "    file = Path(sys.argv[1])\n"
        "    file.write_bytes(b''.join(orjson.dumps({'transaction_id': f'S-{n}', 'channel': 'pos',"
        " 'amount': '1.00', 'currency': 'CNY', 'member': {'member_id': '00000000-0000-4000-8000-%012d' % n}})"
        " + b'\\n' for n in range(20000)))\n"
        "    try:\n"
        "        run_import(None, file, Console(file=io.StringIO()), batch=1000, workers=2, url=sys.argv[2])\n"
        "    except ImportStopped as stopped:\n"
        "        print('stopped:', stopped)\n")
    elsewhere = database_url.rsplit("/", 1)[0] + "/tally_no_such_database"
    finished = subprocess.run([sys.executable, str(script), str(tmp_path / "rows.ndjson"), elsewhere],
                              capture_output=True, text=True, timeout=60,
                              cwd=Path(__file__).resolve().parents[2])
    assert (finished.returncode, finished.stdout.startswith("stopped:")) == (0, True)
    assert "tally_no_such_database" in finished.stdout
