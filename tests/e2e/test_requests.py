"""Request conventions: ids, who did it, times in query strings, malformed bodies."""

from __future__ import annotations

import hashlib
from uuid import RFC_4122, UUID

import pytest

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
    ids = [client.get("/v1/program", headers=auth("pos")).headers["X-Request-Id"] for _ in range(50)]
    assert [(UUID(i).version, UUID(i).variant, str(UUID(i))) for i in ids] == \
        [(4, RFC_4122, i) for i in ids]
    assert len(set(ids)) == 50


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


MALFORMED = [
    (b'{"amount": }', {"content-type": "application/json"}),
    (b"{}", {}),                                                  # JSON, but not said to be
    (b"", {"content-type": "application/json"}),
    (b"[1, 2]", {"content-type": "application/json"}),
    (b'"text"', {"content-type": "application/problem+json"}),
    (b"NaN", {"content-type": "application/json; charset=utf-8"}),  # json accepts, orjson not
]


@pytest.mark.parametrize(("content", "headers"), MALFORMED)
def test_the_purchase_route_reading_its_own_body_refuses_it_as_a_body_parameter_would(
        client, content, headers):
    """POST /v1/transactions reads its body itself (api/bodies.py); POST
    /v1/members/{id}/redemptions has a FastAPI body parameter: the same bytes, the same 422."""
    member = client.post("/v1/members", json={}, headers=auth("pos")).json()["member_id"]
    answers = [client.post(path, content=content, headers={**auth("pos"), **headers})
               for path in ("/v1/transactions", f"/v1/members/{member}/redemptions")]
    assert [answer.status_code for answer in answers] == [422, 422]
    own, parameter = (answer.json()["errors"] for answer in answers)
    assert own == parameter and own[0]["field"] == "body"


def test_the_purchase_body_is_documented_where_its_reference_points(client):
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/v1/transactions"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PurchaseCreate"}
    purchase = spec["components"]["schemas"]["PurchaseCreate"]
    assert {"transaction_id", "channel", "amount", "member"} <= set(purchase["required"])
    assert purchase["properties"]["member"] == {"$ref": "#/components/schemas/MemberRef"}
