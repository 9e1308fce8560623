"""Every refusal answers its contract code as problem+json and records nothing."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import auth, purchase

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def version_of(client, member) -> int:
    return client.get(f"/v1/members/{member['member_id']}", headers=auth("pos")).json()["version"]


def refusal(answer) -> tuple[int, str]:
    assert answer.headers["content-type"] == "application/problem+json"
    return answer.status_code, answer.json()["code"]


@pytest.mark.parametrize("amount", [120.5, 120, "120.505", "-1.00", "0.00", "12O.00"])
def test_money_that_is_not_a_positive_two_decimal_string_is_refused(client, member, amount):
    answer = client.post("/v1/transactions", json=purchase(member["member_id"], amount=amount),
                         headers=auth("pos"))
    assert refusal(answer) == (422, "validation_error")
    assert answer.json()["errors"][0]["field"] == "amount"
    assert version_of(client, member) == 1


def test_a_time_without_an_offset_is_refused(client, member):
    body = purchase(member["member_id"], occurred_at="2026-11-22T10:00:00")
    answer = client.post("/v1/transactions", json=body, headers=auth("pos"))
    assert refusal(answer) == (422, "validation_error")
    assert answer.json()["errors"] == [{"field": "occurred_at",
                                        "message": "a time needs an offset, e.g. 2026-11-22T10:00:00+08:00"}]


def test_a_currency_other_than_the_programs_is_refused(client, member):
    answer = client.post("/v1/transactions", json=purchase(member["member_id"], currency="USD"),
                         headers=auth("pos"))
    assert refusal(answer) == (422, "validation_error")
    assert version_of(client, member) == 1


def test_items_that_do_not_add_up_to_the_amount_are_refused(client, member):
    items = [{"sku": "A1", "category": "coffee", "amount": "100.00", "quantity": 2}]
    answer = client.post("/v1/transactions", json=purchase(member["member_id"], items=items),
                         headers=auth("pos"))
    assert refusal(answer) == (422, "validation_error")


def test_an_unknown_field_is_refused(client, member):
    answer = client.post("/v1/transactions", json=purchase(member["member_id"], amout="1.00"),
                         headers=auth("pos"))
    assert refusal(answer) == (422, "validation_error")


def test_a_purchase_for_an_unknown_member_is_404_member_not_found(client):
    answer = client.post("/v1/transactions", json=purchase(UNKNOWN), headers=auth("pos"))
    assert refusal(answer) == (404, "member_not_found")


def test_a_purchase_for_an_identity_nobody_holds_is_404_identity_not_found(client):
    body = purchase(UNKNOWN)
    body["member"] = {"identity": {"kind": "card", "value": "C-404"}}
    answer = client.post("/v1/transactions", json=body, headers=auth("pos"))
    assert refusal(answer) == (404, "identity_not_found")


def test_looking_up_an_identity_nobody_holds_is_404_member_not_found(client):
    answer = client.get("/v1/members", params={"identity_kind": "phone", "identity_value": "+1 555"},
                        headers=auth("pos"))
    assert refusal(answer) == (404, "member_not_found")


def test_a_lookup_normalises_the_phone_number_like_enrolment(client, member):
    answer = client.get("/v1/members", params={"identity_kind": "phone",
                                               "identity_value": "+86-138-0000-0001"}, headers=auth("pos"))
    assert answer.json()["member_id"] == member["member_id"]


def test_enrolling_with_an_identity_another_member_holds_is_409_and_enrols_nobody(client, member):
    answer = client.post("/v1/members", json={"member_id": UNKNOWN,
                                              "identities": [{"kind": "phone", "value": "+8613800000001"}]},
                         headers=auth("pos"))
    assert refusal(answer) == (409, "identity_taken")
    assert refusal(client.get(f"/v1/members/{UNKNOWN}", headers=auth("pos"))) == (404, "member_not_found")


def test_an_unknown_referrer_code_is_422(client):
    answer = client.post("/v1/members", json={"referrer_code": "NOPE1234"}, headers=auth("pos"))
    assert refusal(answer) == (422, "validation_error")


def test_no_key_or_an_unknown_key_is_401(client, member):
    assert refusal(client.get(f"/v1/members/{member['member_id']}")) == (401, "unauthenticated")
    answer = client.get(f"/v1/members/{member['member_id']}", headers={"Authorization": "Bearer nope"})
    assert refusal(answer) == (401, "unauthenticated")


def test_a_role_that_may_not_do_it_is_403(client, member):
    answer = client.post(f"/v1/members/{member['member_id']}/adjustments",
                         json={"adjustment_id": "A1", "points": 5, "reason": "x"}, headers=auth("pos"))
    assert refusal(answer) == (403, "forbidden")
    assert refusal(client.post("/v1/transactions", json=purchase(member["member_id"]),
                               headers=auth("finance"))) == (403, "forbidden")
    assert version_of(client, member) == 1


def test_a_bad_body_from_an_unknown_key_is_401_and_from_the_wrong_role_403(client, member):
    bad = purchase(member["member_id"], amount=1.5)
    assert refusal(client.post("/v1/transactions", json=bad)) == (401, "unauthenticated")
    assert refusal(client.post("/v1/transactions", json=bad, headers=auth("finance"))) == (403, "forbidden")
    assert refusal(client.post("/v1/transactions", content=b"{not json",
                               headers={**auth("finance"), "content-type": "application/json"})) == (403, "forbidden")


def test_finance_reads_members_but_admin_alone_changes_the_program(client, member):
    assert client.get(f"/v1/members/{member['member_id']}", headers=auth("finance")).status_code == 200
    assert client.get("/v1/program", headers=auth("pos")).json()["version"] == 1
    assert refusal(client.put("/v1/program", json={}, headers=auth("support"))) == (403, "forbidden")


def test_redeeming_more_than_available_records_nothing(client, member):
    client.post("/v1/transactions", json=purchase(member["member_id"]), headers=auth("pos"))
    answer = client.post(f"/v1/members/{member['member_id']}/redemptions",
                         json={"redemption_id": "R-1", "points": 121}, headers=auth("pos"))
    assert refusal(answer) == (409, "insufficient_points")
    assert version_of(client, member) == 2


def test_a_members_as_of_before_enrolment_is_404(client, member):
    answer = client.get(f"/v1/members/{member['member_id']}", params={"as_of": "2000-01-01T00:00:00Z"},
                        headers=auth("pos"))
    assert refusal(answer) == (404, "member_not_found")
