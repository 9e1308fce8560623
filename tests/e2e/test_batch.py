"""POST /v1/transactions/batch: each item judged on its own, in input order."""

from __future__ import annotations

from collections import Counter

from tests.e2e.conftest import auth, purchase

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def test_ten_thousand_items_with_duplicates_unknown_members_and_bad_amounts(client):
    members = [client.post("/v1/members", json={}, headers=auth("pos")).json()["member_id"] for _ in range(50)]
    items = [purchase(members[i % 50], f"B-{i}", "10.00") for i in range(9_700)]
    items += [purchase(UNKNOWN, f"U-{i}") for i in range(100)]            # 1% unknown members
    items += [purchase(members[0], f"X-{i}", amount=10.5) for i in range(100)]  # 1% invalid amounts
    items += [purchase(members[i % 50], f"B-{i}", "10.00") for i in range(100)]  # 1% duplicates
    answer = client.post("/v1/transactions/batch", json={"transactions": items}, headers=auth("pos"))
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert len(results) == 10_000
    assert Counter(r["status"] for r in results) == {201: 9_700, 404: 100, 422: 100, 200: 100}
    assert results[9_700] == {"transaction_id": "U-0", "channel": "pos", "status": 404,
                              "code": "member_not_found", "detail": f"no member {UNKNOWN}"}
    assert results[9_800]["code"] == "validation_error" and results[9_800]["transaction_id"] == "X-0"
    assert results[0]["points_earned"] == 10
    again = client.post("/v1/transactions/batch", json={"transactions": items}, headers=auth("pos"))
    assert Counter(r["status"] for r in again.json()["results"]) == {200: 9_800, 404: 100, 422: 100}
    total = sum(client.get(f"/v1/members/{m}", headers=auth("pos")).json()["balance"]["available"]
                for m in members)
    # 194 purchases of 10.00 each: the first 100 earn 10 (base); the 100th reaches silver,
    # so the other 94 earn floor(12.5) = 12. 50 × (1,000 + 1,128).
    assert total == 106_400


def test_a_body_that_is_not_a_transactions_list_or_too_long_is_refused_whole(client):
    assert client.post("/v1/transactions/batch", json=[], headers=auth("pos")).status_code == 422
    too_many = {"transactions": [{}] * 10_001}
    answer = client.post("/v1/transactions/batch", json=too_many, headers=auth("pos"))
    assert (answer.status_code, answer.json()["code"]) == (422, "validation_error")
