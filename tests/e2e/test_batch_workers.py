"""POST /v1/transactions/batch as `tally serve` runs it: posted by a worker process, with the
same answers as in the server's own threads (tests/e2e/test_batch.py)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tally.bootstrap import start
from tally.settings import Settings
from tests.e2e.conftest import KEYS, auth, purchase


@pytest.fixture
def served(clean_db):
    """A runtime as `tally serve` starts it (one batch worker), whose own ledger must not post
    batches: the worker does."""
    settings = Settings(database_url=clean_db, pool_size=4, batch_workers=1,
                        api_keys=",".join(f"{role}:{key}" for role, key in KEYS.items()))
    runtime = start(settings, serving=True)

    def not_here(orders, **_):
        raise AssertionError("the server posted a batch itself")

    runtime.ledger.post_purchases = not_here
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield runtime, client
    runtime.close()


def _batch(client, items):
    return client.post("/v1/transactions/batch", json={"transactions": items}, headers=auth("pos"))


def test_a_batch_is_posted_by_the_worker_and_answered_item_by_item(served):
    runtime, client = served
    members = [client.post("/v1/members", json={}, headers=auth("pos")).json()["member_id"]
               for _ in range(3)]
    items = [purchase(members[i % 3], f"B-{i}", "10.00") for i in range(30)]
    items.append(purchase(members[0], "X-1", amount=10.5))  # invalid: judged in the worker too

    answer = _batch(client, items)

    assert answer.status_code == 200
    results = answer.json()["results"]
    assert Counter(r["status"] for r in results) == {201: 30, 422: 1}
    assert results[0] == {"transaction_id": "B-0", "channel": "pos", "status": 201,
                          "points_earned": 10}
    assert results[30]["code"] == "validation_error"
    # the server's copy of each member is stale now: its next read or write must see the batch
    balances = [client.get(f"/v1/members/{m}", headers=auth("pos")).json()["balance"]["available"]
                for m in members]
    assert balances == [100, 100, 100]
    till = client.post("/v1/transactions", json=purchase(members[0], "T-1", "10.00"),
                       headers=auth("pos"))
    assert till.status_code == 201 and till.json()["member"]["balance"]["available"] == 110
    again = _batch(client, items)
    assert Counter(r["status"] for r in again.json()["results"]) == {200: 30, 422: 1}


def test_a_body_that_is_not_a_transactions_list_is_refused_before_any_worker_sees_it(served):
    _, client = served
    answer = client.post("/v1/transactions/batch", json={"purchases": []}, headers=auth("pos"))
    assert (answer.status_code, answer.json()["code"]) == (422, "validation_error")


def test_a_worker_that_died_is_answered_503_and_replaced(served):
    runtime, client = served
    member = client.post("/v1/members", json={}, headers=auth("pos")).json()["member_id"]
    assert _batch(client, [purchase(member, "B-1", "10.00")]).status_code == 200
    workers = runtime.extras["batch_workers"]
    for pid in list(workers.executor._processes):
        os.kill(pid, signal.SIGKILL)

    lost = _batch(client, [purchase(member, "B-2", "10.00")])
    retried = _batch(client, [purchase(member, "B-2", "10.00")])

    assert (lost.status_code, lost.json()["code"]) == (503, "unavailable")
    assert retried.status_code == 200
    assert retried.json()["results"][0]["status"] == 201  # the lost batch never reached a worker
    document = client.get(f"/v1/members/{member}", headers=auth("pos")).json()
    assert document["balance"]["available"] == 20


def test_a_worker_killed_mid_batch_loses_nothing_and_counts_nothing_twice(served):
    runtime, client = served
    members = [client.post("/v1/members", json={}, headers=auth("pos")).json()["member_id"]
               for _ in range(3)]
    items = [purchase(members[i % 3], f"M-{i}", "10.00") for i in range(6_000)]
    workers = runtime.extras["batch_workers"]
    assert _batch(client, [purchase(members[0], "WARM-1", "10.00")]).status_code == 200
    answers = []
    sending = threading.Thread(target=lambda: answers.append(_batch(client, items)))
    sending.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and client.get(  # until the first chunks are saved
            f"/v1/members/{members[1]}", headers=auth("pos")).json()["balance"]["lifetime_earned"] == 0:
        time.sleep(0.01)
    for pid in list(workers.executor._processes):
        os.kill(pid, signal.SIGKILL)
    sending.join()

    retried = _batch(client, items)

    assert (answers[0].status_code, answers[0].json()["code"]) == (503, "unavailable")
    statuses = Counter(r["status"] for r in retried.json()["results"])
    assert set(statuses) <= {200, 201} and sum(statuses.values()) == 6_000
    assert 0 < statuses[200] < 6_000  # the killed worker had saved some chunks, not all
    earned = [client.get(f"/v1/members/{m}", headers=auth("pos")).json()["balance"]
              ["lifetime_earned"] for m in members]
    # every purchase counted once: what the members earned is what the answers say they did
    assert sum(earned) == 10 + sum(r["points_earned"] for r in retried.json()["results"])
