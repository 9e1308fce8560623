"""Tick over HTTP with the read side running in-process; metrics; summary after a workload."""

from __future__ import annotations

import copy

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.rules import DEFAULT_PROGRAM
from tally.bootstrap import start
from tally.settings import Settings
from tests.e2e.conftest import KEYS, auth, purchase


@pytest.fixture
def served(clean_db):
    settings = Settings(database_url=clean_db, pool_size=4,
                        api_keys=",".join(f"{role}:{key}" for role, key in KEYS.items()))
    runtime = start(settings, read_side=True)
    with TestClient(create_app(runtime)) as client:
        yield client, runtime
    runtime.close()


def test_tick_activates_pending_points_once_and_a_second_tick_changes_nothing(served):
    client, runtime = served
    program = {**copy.deepcopy(DEFAULT_PROGRAM), "pending_days": 14}
    client.put("/v1/program", json=program, headers=auth("admin"))
    member = client.post("/v1/members", json={}, headers=auth("pos")).json()["member_id"]
    client.post("/v1/transactions", json=purchase(member, occurred_at="2026-03-01T10:00:00+08:00"),
                headers=auth("pos"))
    early = client.post("/v1/maintenance/tick", json={"as_of": "2026-03-14T00:00:00Z"}, headers=auth("admin"))
    due = client.post("/v1/maintenance/tick", json={"as_of": "2026-03-16T00:00:00Z"}, headers=auth("admin"))
    again = client.post("/v1/maintenance/tick", json={"as_of": "2026-03-16T00:00:00Z"}, headers=auth("admin"))
    nothing = {"activated": 0, "expired_points": 0, "tiers_changed": 0, "members_touched": 0}
    assert early.json() == nothing and again.json() == nothing
    assert due.json() == {"activated": 1, "expired_points": 0, "tiers_changed": 0, "members_touched": 1}
    balance = client.get(f"/v1/members/{member}", headers=auth("pos")).json()["balance"]
    assert (balance["available"], balance["pending"]) == (120, 0)
    assert client.post("/v1/maintenance/tick", json={"as_of": "2026-03-16T00:00:00Z"},
                       headers=auth("support")).status_code == 403


def test_the_summary_balances_after_every_kind_of_fact(served):
    client, runtime = served
    a = client.post("/v1/members", json={}, headers=auth("pos")).json()
    b = client.post("/v1/members", json={"referrer_code": a["referral_code"]}, headers=auth("pos")).json()
    client.post("/v1/transactions", json=purchase(b["member_id"], "T-1", "300.00"), headers=auth("pos"))
    client.post("/v1/transactions", json=purchase(a["member_id"], "T-2", "80.00"), headers=auth("pos"))
    client.post(f"/v1/members/{b['member_id']}/redemptions", json={"redemption_id": "R", "points": 340},
                headers=auth("pos"))
    client.post("/v1/transactions/pos/T-1/returns", json={"return_id": "X", "amount": "150.00"}, headers=auth("pos"))
    client.post(f"/v1/members/{a['member_id']}/adjustments", json={"adjustment_id": "J", "points": -30,
                                                                    "reason": "fix"}, headers=auth("support"))
    client.post(f"/v1/members/{a['member_id']}/activities", json={"activity_id": "C", "kind": "check_in"},
                headers=auth("pos"))
    client.post(f"/v1/members/{a['member_id']}/merge", json={"merge_id": "M", "reason": "same",
                                                            "absorbed_member_id": b["member_id"]},
                headers=auth("support"))
    runtime.extras["read_side"].wait_until_caught_up()
    summary = client.get("/v1/ledger/summary", headers=auth("finance")).json()
    assert summary["balanced"] is True
    assert (summary["members"], summary["issued"], summary["redeemed"]) == (1, 300 + 50 + 100 + 80 + 5, 340)
    assert summary["available"] - summary["debt"] == 300 + 50 + 100 + 80 + 5 - 340 - 150 - 30
    verify = client.get("/v1/ledger/verify", headers=auth("finance")).json()
    assert (verify["ok"], verify["members_checked"], verify["mismatches"]) == (True, 2, [])


def test_metrics_count_requests_and_report_facts_and_projection_lag(served):
    client, runtime = served
    client.post("/v1/members", json={}, headers=auth("pos"))
    runtime.extras["read_side"].wait_until_caught_up()
    text = client.get("/metrics").text
    assert 'tally_requests_total{method="POST",route="/v1/members",status="201"} 1' in text
    # the program, the enrolment and the member's referral code
    assert "\ntally_events_appended 3\n" in text
    assert "\ntally_projection_lag 0\n" in text
