"""Returns, activities, identities, merges and the program, through HTTP."""

from __future__ import annotations

import copy

from domain.rules import DEFAULT_PROGRAM
from tests.e2e.conftest import auth, purchase


def enrol(client, **body) -> str:
    return client.post("/v1/members", json=body, headers=auth("pos")).json()["member_id"]


def test_a_return_claws_back_and_reports_debt(client, member):
    mid = member["member_id"]
    client.post("/v1/transactions", json=purchase(mid, "T-1", "100.00"), headers=auth("pos"))
    client.post(f"/v1/members/{mid}/redemptions", json={"redemption_id": "R-1", "points": 80}, headers=auth("pos"))
    answer = client.post("/v1/transactions/pos/T-1/returns", json={"return_id": "RET-1", "amount": "100.00"},
                         headers=auth("pos"))
    assert answer.status_code == 201
    body = answer.json()
    assert (body["points_clawed_back"], body["points_forgiven"], body["debt_created"]) == (100, 0, 80)
    assert body["member"]["balance"]["debt"] == 80


def test_returns_beyond_the_purchase_and_of_unknown_purchases_are_refused(client, member):
    client.post("/v1/transactions", json=purchase(member["member_id"], "T-1", "100.00"), headers=auth("pos"))
    over = client.post("/v1/transactions/pos/T-1/returns", json={"return_id": "R", "amount": "100.01"},
                       headers=auth("pos"))
    unknown = client.post("/v1/transactions/pos/T-404/returns", json={"return_id": "R", "amount": "1.00"},
                          headers=auth("pos"))
    assert (over.status_code, over.json()["code"]) == (422, "return_exceeds_purchase")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "transaction_not_found")


def test_check_ins_follow_the_programs_daily_limit(client, member):
    url = f"/v1/members/{member['member_id']}/activities"
    first = client.post(url, json={"activity_id": "A-1", "kind": "check_in",
                                   "occurred_at": "2026-11-22T09:00:00+08:00"}, headers=auth("pos"))
    second = client.post(url, json={"activity_id": "A-2", "kind": "check_in",
                                    "occurred_at": "2026-11-22T23:00:00+08:00"}, headers=auth("pos"))
    unknown = client.post(url, json={"activity_id": "A-3", "kind": "dance"}, headers=auth("pos"))
    assert (first.status_code, first.json()["points_earned"]) == (201, 5)
    assert (second.status_code, second.json()["code"]) == (409, "activity_limit_reached")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_activity")


def test_identities_link_once_and_unlink_only_when_held(client, member):
    mid = member["member_id"]
    url = f"/v1/members/{mid}/identities"
    linked = client.post(url, json={"kind": "email", "value": " Ana@Example.com"}, headers=auth("support"))
    again = client.post(url, json={"kind": "email", "value": "ana@example.com"}, headers=auth("support"))
    assert (linked.status_code, again.status_code) == (201, 200)
    assert {"kind": "email", "value": "ana@example.com"} in linked.json()["identities"]
    gone = client.delete(f"{url}/email/ana@example.com", headers=auth("support"))
    missing = client.delete(f"{url}/email/ana@example.com", headers=auth("support"))
    assert gone.status_code == 200 and gone.json()["identities"] == [{"kind": "phone", "value": "+8613800000001"}]
    assert (missing.status_code, missing.json()["code"]) == (404, "identity_not_found")


def test_a_merge_moves_points_and_identities_and_the_absorbed_refuses_writes(client, member):
    survivor, absorbed = member["member_id"], enrol(client, identities=[{"kind": "card", "value": "C-7"}])
    client.post("/v1/transactions", json=purchase(survivor, "T-1", "100.00"), headers=auth("pos"))
    client.post("/v1/transactions", json=purchase(absorbed, "T-2", "40.00"), headers=auth("pos"))
    merged = client.post(f"/v1/members/{survivor}/merge", json={
        "merge_id": "M-1", "absorbed_member_id": absorbed, "reason": "same person"}, headers=auth("support"))
    assert merged.status_code == 201
    assert merged.json()["balance"]["available"] == 140
    gone = client.get(f"/v1/members/{absorbed}", headers=auth("pos")).json()
    assert (gone["status"], gone["merged_into"]) == ("merged", survivor)
    refused = client.post("/v1/transactions", json=purchase(absorbed, "T-3"), headers=auth("pos"))
    assert (refused.status_code, refused.json()["code"], refused.json()["merged_into"]) == (409, "member_merged", survivor)
    by_card = client.get("/v1/members", params={"identity_kind": "card", "identity_value": "C-7"}, headers=auth("pos"))
    assert by_card.json()["member_id"] == survivor


def test_merging_a_member_into_itself_or_absorbing_a_merged_one_is_422(client, member):
    mid, other = member["member_id"], enrol(client)
    itself = client.post(f"/v1/members/{mid}/merge", json={"merge_id": "M-1", "absorbed_member_id": mid,
                                                           "reason": "x"}, headers=auth("support"))
    client.post(f"/v1/members/{mid}/merge", json={"merge_id": "M-2", "absorbed_member_id": other, "reason": "x"},
                headers=auth("support"))
    third = enrol(client)
    twice = client.post(f"/v1/members/{third}/merge", json={"merge_id": "M-3", "absorbed_member_id": other,
                                                            "reason": "x"}, headers=auth("support"))
    from_merged = client.post(f"/v1/members/{other}/merge", json={"merge_id": "M-4", "absorbed_member_id": third,
                                                                  "reason": "x"}, headers=auth("support"))
    assert [a.status_code for a in (itself, twice, from_merged)] == [422, 422, 409]
    assert from_merged.json()["code"] == "member_merged"


def test_a_new_program_version_changes_earning_and_an_invalid_one_lists_its_problems(client, member):
    document = copy.deepcopy(DEFAULT_PROGRAM)
    document["earn"]["category_multipliers"] = {"coffee": "1.5"}
    put = client.put("/v1/program", json=document, headers=auth("admin"))
    assert (put.status_code, put.json()["version"]) == (200, 2)
    items = [{"sku": "A1", "category": "coffee", "amount": "66.66", "quantity": 2},
             {"sku": "B7", "category": "bakery", "amount": "33.33"}]
    bought = client.post("/v1/transactions", json=purchase(member["member_id"], amount="99.99", items=items),
                         headers=auth("pos"))
    assert bought.json()["points_earned"] == 133  # 66.66 × 1.5 + 33.33 = 133.32
    bad = client.put("/v1/program", json={**document, "timezone": "Nowhere/Land", "downgrade": "down"},
                     headers=auth("admin"))
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_program")
    assert {e["field"] for e in bad.json()["errors"]} == {"timezone", "downgrade"}
    assert client.get("/v1/program", headers=auth("finance")).json()["version"] == 2


def test_a_purchase_replayed_after_its_member_was_merged_gets_the_original_answer(client, member):
    absorbed = enrol(client)
    first = client.post("/v1/transactions", json=purchase(absorbed, "T-9", "30.00"), headers=auth("pos"))
    client.post(f"/v1/members/{member['member_id']}/merge", json={
        "merge_id": "M-9", "absorbed_member_id": absorbed, "reason": "same person"}, headers=auth("support"))
    again = client.post("/v1/transactions", json=purchase(absorbed, "T-9", "30.00"), headers=auth("pos"))
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
    assert again.json() == first.json()
