"""Summary and verify over HTTP with the read side running in the server's process."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tally.bootstrap import start
from tally.settings import Settings
from tests.e2e.conftest import KEYS, auth, purchase


@pytest.fixture
def serving(clean_db):
    settings = Settings(database_url=clean_db, pool_size=8,
                        api_keys=",".join(f"{role}:{key}" for role, key in KEYS.items()))
    runtime = start(settings, read_side=True)
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield runtime, client
    runtime.close()


def a_busy_member(client) -> str:
    """Earns 120 and 80, redeems 50, returns 60.00 of the first purchase."""
    member_id = client.post("/v1/members", json={}, headers=auth("pos")).json()["member_id"]
    for transaction_id, amount in (("T-1", "120.00"), ("T-2", "80.00")):
        client.post("/v1/transactions", json=purchase(member_id, transaction_id, amount),
                    headers=auth("pos"))
    client.post(f"/v1/members/{member_id}/redemptions",
                json={"redemption_id": "X-1", "points": 50}, headers=auth("pos"))
    client.post("/v1/transactions/pos/T-1/returns", json={"return_id": "R-1", "amount": "60.00"},
                headers=auth("pos"))
    return member_id


def test_verify_waits_for_the_read_side_and_finds_writes_just_made_in_order(serving):
    runtime, client = serving
    a_busy_member(client)
    report = client.get("/v1/ledger/verify", headers=auth("finance")).json()
    assert (report["ok"], report["members_checked"], report["events_checked"]) == (True, 1, 5)


def test_verify_reports_a_stored_fact_edited_in_the_database(serving):
    runtime, client = serving
    member_id = a_busy_member(client)
    with psycopg.connect(runtime.url, autocommit=True) as conn:
        conn.execute("UPDATE ledger_events SET state = convert_to(replace(convert_from(state, "
                     "'UTF8'), '\"points\":80', '\"points\":800'), 'UTF8') "
                     "WHERE originator_id = %s AND originator_version = 3", (member_id,))
    report = client.get("/v1/ledger/verify", headers=auth("admin")).json()
    assert report["ok"] is False
    assert {"member_id": member_id, "version": 3, "kind": "hash"} in [
        {key: found[key] for key in ("member_id", "version", "kind") if key in found}
        for found in report["mismatches"]]


def test_the_summary_is_balanced_and_counts_each_flow(serving):
    runtime, client = serving
    a_busy_member(client)
    runtime.extras["read_side"].wait_until_caught_up()
    summary = client.get("/v1/ledger/summary", headers=auth("finance")).json()
    assert {name: summary[name] for name in ("members", "available", "issued", "redeemed",
                                             "clawed_back", "balanced")} == {
        "members": 1, "available": 90, "issued": 200, "redeemed": 50, "clawed_back": 60,
        "balanced": True}


def test_the_summary_says_how_far_the_read_models_have_caught_up(serving):
    runtime, client = serving
    a_busy_member(client)
    runtime.extras["read_side"].wait_until_caught_up()
    answer = client.get("/v1/ledger/summary", headers=auth("finance"))
    assert int(answer.headers["Tally-Read-Position"]) == runtime.ledger.recorder.max_notification_id()


def test_a_summary_as_of_a_time_without_an_offset_is_a_validation_error(serving):
    _, client = serving
    answer = client.get("/v1/ledger/summary?as_of=2026-01-01T00:00:00", headers=auth("finance"))
    assert (answer.status_code, answer.json()["code"]) == (422, "validation_error")
