"""`tally serve`'s read side runs in a child process: it projects what the ledger records,
its server waits on the tracking tables, and a child that dies is started again."""

from __future__ import annotations

import os
import signal
import time
from types import SimpleNamespace

import psycopg
import pytest

from tally.bootstrap import start
from tally.read_side import ReadSideProcess
from tally.settings import Settings
from tests.integration.ledgers import Shop


@pytest.fixture
def apart(clean_db):
    runtime = start(Settings(database_url=clean_db), read_side=True, apart=True)
    yield Shop(runtime.ledger), runtime.extras["read_side"]
    runtime.close()  # stops the read side


def available_in_read_model(url: str, member: dict) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT available FROM members WHERE member_id = %s",
                            (member["member_id"],)).fetchone()[0]


def test_the_read_side_apart_projects_what_the_ledger_records(apart, clean_db):
    shop, side = apart
    ann = shop.enroll()
    shop.buy(ann, "100.00", "2026-01-03")
    assert side.wait_until_caught_up(timeout=60)
    assert (side.lag(), available_in_read_model(clean_db, ann)) == (0, 100)
    assert side.process.is_alive() and side.process.pid != os.getpid()


def test_a_killed_read_side_is_started_again_and_catches_up(apart, clean_db):
    shop, side = apart
    ann = shop.enroll()
    shop.buy(ann, "100.00", "2026-01-03")
    assert side.wait_until_caught_up(timeout=60)
    first = side.process
    os.kill(first.pid, signal.SIGKILL)
    shop.buy(ann, "50.00", "2026-01-04")
    assert side.wait_until_caught_up(timeout=60)
    assert (side.restarts, available_in_read_model(clean_db, ann)) == (1, 150)
    assert side.process is not first and first.exitcode == -signal.SIGKILL


def test_stopping_the_server_ends_its_read_side(apart):
    shop, side = apart
    shop.enroll()
    assert side.wait_until_caught_up(timeout=60)
    child = side.process
    side.stop()
    assert (child.is_alive(), child.exitcode, side.restarts) == (False, 0, 0)


def test_a_read_side_that_cannot_reach_its_database_is_started_again_later(caplog):
    away = SimpleNamespace(url="postgresql://postgres@127.0.0.1:9/tally", ledger=None,
                           extras={})
    side = ReadSideProcess(away).start()
    deadline = time.monotonic() + 60
    while side.restarts < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    side.stop()
    ended = [record.getMessage() for record in caplog.records if "process ended" in record.getMessage()]
    assert ended[:2] == ["the read side's process ended (exit code 1); starting it again in 1 s",
                         "the read side's process ended (exit code 1); starting it again in 2 s"]
