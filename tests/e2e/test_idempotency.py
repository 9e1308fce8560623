"""A retried write never counts twice; the same id with another body is refused."""

from tests.e2e.conftest import auth, purchase


def test_a_purchase_sent_three_times_is_counted_once_with_the_same_answer(client, member):
    answers = [client.post("/v1/transactions", json=purchase(member["member_id"]), headers=auth("pos"))
               for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 200, 200]
    assert [a.headers.get("Idempotent-Replayed") for a in answers] == [None, "true", "true"]
    assert answers[1].json() == answers[0].json() == answers[2].json()
    assert answers[0].json()["points_earned"] == 120
    document = client.get(f"/v1/members/{member['member_id']}", headers=auth("pos")).json()
    assert document["balance"]["available"] == 120


def test_the_same_transaction_id_with_another_amount_is_a_conflict_and_records_nothing(client, member):
    client.post("/v1/transactions", json=purchase(member["member_id"]), headers=auth("pos"))
    before = client.get(f"/v1/members/{member['member_id']}", headers=auth("pos")).json()
    answer = client.post("/v1/transactions", json=purchase(member["member_id"], amount="99.00"),
                         headers=auth("pos"))
    assert (answer.status_code, answer.json()["code"]) == (409, "idempotency_conflict")
    assert answer.headers["content-type"] == "application/problem+json"
    after = client.get(f"/v1/members/{member['member_id']}", headers=auth("pos")).json()
    assert (after["version"], after["balance"]) == (before["version"], before["balance"])


def test_key_order_does_not_make_a_different_body(client, member):
    body = purchase(member["member_id"])
    client.post("/v1/transactions", json=body, headers=auth("pos"))
    reordered = dict(reversed(list(body.items())))
    assert client.post("/v1/transactions", json=reordered, headers=auth("pos")).status_code == 200


def test_a_redemption_resent_is_replayed_and_with_other_points_is_a_conflict(client, member):
    client.post("/v1/transactions", json=purchase(member["member_id"]), headers=auth("pos"))
    url = f"/v1/members/{member['member_id']}/redemptions"
    first = client.post(url, json={"redemption_id": "R-1", "points": 20}, headers=auth("pos"))
    again = client.post(url, json={"redemption_id": "R-1", "points": 20}, headers=auth("pos"))
    other = client.post(url, json={"redemption_id": "R-1", "points": 30}, headers=auth("pos"))
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert other.json()["code"] == "idempotency_conflict"
    document = client.get(f"/v1/members/{member['member_id']}", headers=auth("pos")).json()
    assert document["balance"]["available"] == 100


def test_an_adjustment_resent_is_replayed_and_with_another_reason_is_a_conflict(client, member):
    url = f"/v1/members/{member['member_id']}/adjustments"
    body = {"adjustment_id": "ADJ-1", "points": 40, "reason": "goodwill", "ticket": "SUP-7"}
    first = client.post(url, json=body, headers=auth("support"))
    again = client.post(url, json=body, headers=auth("support"))
    other = client.post(url, json={**body, "reason": "typo"}, headers=auth("support"))
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert again.json() == first.json()
    document = client.get(f"/v1/members/{member['member_id']}", headers=auth("pos")).json()
    assert document["balance"]["available"] == 40
