"""`tally replay MEMBER`, `tally verify` and `tally rebuild` on the test database."""

from __future__ import annotations

import psycopg
import pytest
from typer.testing import CliRunner

import tally.cli_audit  # noqa: F401  (registers replay and verify on the app)
from tally.cli import app
from tests.integration.ledgers import Shop, open_ledger


@pytest.fixture
def shop(clean_db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", clean_db)
    ledger = open_ledger(clean_db)
    yield Shop(ledger)
    ledger.close()


def a_member(shop: Shop) -> dict:
    member = shop.enroll()
    shop.buy(member, "120.00", "2026-01-02", transaction_id="T-1")
    shop.redeem(member, 50, "2026-01-03")
    return member


def run(*arguments: str):
    return CliRunner().invoke(app, list(arguments), env={"COLUMNS": "200"})


def test_replay_prints_each_fact_with_its_running_balance(shop):
    member = a_member(shop)
    result = run("replay", member["member_id"])
    lines = [line for line in result.output.splitlines() if "Points" in line]
    assert result.exit_code == 0
    assert [[cell.strip() for cell in line.split("│")[3:7]] for line in lines] == [
        ["PointsEarned", "+120", "120", "0"], ["PointsRedeemed", "-50", "70", "0"]]


def test_replay_of_an_unknown_member_exits_1(shop):
    result = run("replay", "00000000-0000-4000-8000-000000000000")
    assert (result.exit_code, "member_not_found" in result.output) == (1, True)


def test_verify_brings_the_read_models_up_and_exits_0_on_an_untouched_ledger(shop):
    a_member(shop)
    result = run("verify")
    assert (result.exit_code, "ok: 1 members, 3 facts checked" in result.output) == (0, True)


def test_verify_exits_1_naming_the_member_and_version_of_a_deleted_fact(shop, clean_db):
    member = a_member(shop)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("DELETE FROM ledger_events WHERE originator_id = %s AND originator_version = 2",
                     (member["member_id"],))
    result = run("verify")
    assert result.exit_code == 1
    assert f"gap {member['member_id']} v2" in result.output


def test_verify_takes_a_number_of_workers_of_1_or_more(shop):
    a_member(shop)
    assert run("verify", "--workers", "2").exit_code == 0
    result = run("verify", "--workers", "0")
    assert (result.exit_code, "Invalid value for '--workers'" in result.output) == (2, True)


def test_rebuild_projects_every_read_model_again_from_the_first_fact(shop, clean_db):
    import tally.cli_projections  # noqa: F401  (registers rebuild on the app)

    member = a_member(shop)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        result = run("rebuild")
        row = conn.execute("SELECT available, lifetime_earned, redeemed FROM members "
                           "WHERE member_id = %s", (member["member_id"],)).fetchone()
        entries = conn.execute("SELECT kind, points FROM ledger_entries ORDER BY position").fetchall()
    assert result.exit_code == 0, result.output
    assert "Rebuilt 4 read models" in result.output
    assert row == (70, 120, 50)
    assert entries == [("earn", 120), ("redeem", -50)]
