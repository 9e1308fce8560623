"""Request conventions: ids, who did it, times in query strings, malformed bodies."""

from __future__ import annotations

import hashlib
from uuid import UUID

from tests.e2e.conftest import KEYS, auth

CLIENT_ID = "ABCDEF00-0000-4000-8000-00000000000A"


def test_a_client_chosen_member_id_is_answered_in_canonical_lower_case(client):
    answer = client.post("/v1/members", json={"member_id": CLIENT_ID}, headers=auth("pos"))
    assert answer.json()["member_id"] == "abcdef00-0000-4000-8000-00000000000a"
    read = client.get(f"/v1/members/{CLIENT_ID}", headers=auth("pos"))
    assert read.json()["member_id"] == "abcdef00-0000-4000-8000-00000000000a"


def test_an_enrolment_resent_is_replayed_and_with_other_identities_is_a_conflict(client):
    body = {"member_id": CLIENT_ID, "identities": [{"kind": "card", "value": "C-1"}]}
    first = client.post("/v1/members", json=body, headers=auth("pos"))
    again = client.post("/v1/members", json=body, headers=auth("pos"))
    other = client.post("/v1/members", json={**body, "identities": []}, headers=auth("pos"))
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert other.json()["code"] == "idempotency_conflict"


def test_a_member_id_that_is_not_a_uuid_is_422_naming_the_field(client):
    answer = client.get("/v1/members/M-1", headers=auth("pos"))
    assert (answer.status_code, answer.json()["errors"][0]["field"]) == (422, "member_id")


def test_the_actor_of_a_fact_is_the_key_hash_the_granting_role_and_the_request_id(client):
    answer = client.post("/v1/members", json={}, headers={**auth("pos"), "X-Request-Id": "req-7"})
    assert answer.headers["X-Request-Id"] == "req-7"
    timeline = client.get(f"/v1/members/{answer.json()['member_id']}/timeline",
                          headers=auth("support")).json()
    key_hash = hashlib.sha256(KEYS["pos"].encode()).hexdigest()[:8]
    assert timeline["events"][0]["actor"] == {"name": f"key:{key_hash}", "role": "pos",
                                              "request_id": "req-7"}


def test_a_request_without_an_id_is_given_a_new_uuid(client):
    answer = client.get("/v1/program", headers=auth("pos"))
    assert UUID(answer.headers["X-Request-Id"]).version == 4


def test_an_as_of_whose_plus_arrived_as_a_space_is_read_as_an_offset(client, member):
    url = f"/v1/members/{member['member_id']}?as_of=2099-01-01T08:00:00+08:00"  # + not encoded
    answer = client.get(url, headers=auth("pos"))
    assert (answer.status_code, answer.json()["member_id"]) == (200, member["member_id"])


def test_a_body_that_is_not_json_is_422_on_the_body(client):
    answer = client.post("/v1/members", content=b'{"identities": [}',
                         headers={**auth("pos"), "content-type": "application/json"})
    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"field": "body", "message": "not valid JSON: Expecting value"}]


def test_a_json_body_without_a_json_content_type_is_422_saying_so(client):
    answer = client.post("/v1/members", content=b"{}", headers=auth("pos"))
    assert answer.json()["errors"] == [{"field": "body", "message": "send the body as JSON with "
                                                                    "Content-Type: application/json"}]


def test_a_method_a_route_does_not_have_is_405_with_allow(client):
    answer = client.delete("/healthz")
    assert (answer.status_code, answer.json()["code"]) == (405, "method_not_allowed")
    assert answer.headers["Allow"] == "GET"
