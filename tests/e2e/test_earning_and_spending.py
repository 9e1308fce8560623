"""Points earned by purchases and spent by redemptions, as the API answers them."""

from __future__ import annotations

from tests.e2e.conftest import auth, purchase


def buy(client, member_id: str, transaction_id: str, amount: str, occurred_at: str) -> dict:
    answer = client.post("/v1/transactions", headers=auth("pos"),
                         json=purchase(member_id, transaction_id, amount, occurred_at=occurred_at))
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_purchase_of_120_00_earns_120_points_available_at_once_for_twelve_months(client, member):
    bought = buy(client, member["member_id"], "T-1", "120.00", "2026-11-22T10:00:00+08:00")
    assert {key: bought[key] for key in ("transaction_id", "channel", "member_id", "points_earned",
                                         "status", "available_at", "expires_at")} == {
        "transaction_id": "T-1", "channel": "pos", "member_id": member["member_id"],
        "points_earned": 120, "status": "available",
        "available_at": "2026-11-22T02:00:00Z", "expires_at": "2027-11-22T02:00:00Z"}
    assert bought["member"]["balance"]["available"] == 120
    assert bought["member"]["tier"]["qualifying_spend"] == "120.00"


def test_money_is_normalised_so_120_5_and_120_50_are_the_same_body(client, member):
    first = client.post("/v1/transactions", json=purchase(member["member_id"], amount="120.5"),
                        headers=auth("pos"))
    again = client.post("/v1/transactions", json=purchase(member["member_id"], amount="120.50"),
                        headers=auth("pos"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["points_earned"] == 120


def test_the_purchase_that_reaches_silver_earns_at_base_and_the_next_at_1_25(client, member):
    mid = member["member_id"]
    upgrading = buy(client, mid, "T-1", "1000.00", "2026-11-22T10:00:00+08:00")
    after = buy(client, mid, "T-2", "100.00", "2026-11-22T11:00:00+08:00")
    assert (upgrading["points_earned"], after["points_earned"]) == (1000, 125)
    assert upgrading["member"]["tier"]["name"] == "silver"
    assert after["member"]["tier"]["next"] == {"name": "gold", "min_spend": "5000.00",
                                               "spend_needed": "3900.00"}


def test_a_redemption_draws_on_the_soonest_expiring_lot_first_and_names_the_lots(client, member):
    mid = member["member_id"]
    buy(client, mid, "T-NEW", "100.00", "2026-06-01T10:00:00+08:00")
    buy(client, mid, "T-OLD", "50.00", "2026-01-10T10:00:00+08:00")
    lots = client.get(f"/v1/members/{mid}", headers=auth("pos")).json()["lots"]
    old, new = sorted(lots, key=lambda lot: lot["expires_at"])
    assert (old["remaining"], old["expires_at"]) == (50, "2027-01-10T02:00:00Z")
    answer = client.post(f"/v1/members/{mid}/redemptions", headers=auth("pos"), json={
        "redemption_id": "R-1", "points": 80, "reward": "mug",
        "occurred_at": "2026-11-22T12:00:00+08:00"})
    assert answer.status_code == 201
    assert answer.json()["lots"] == [{"lot_id": old["lot_id"], "points": 50},
                                     {"lot_id": new["lot_id"], "points": 30}]
    left = answer.json()["member"]["lots"]
    assert [(lot["lot_id"], lot["remaining"]) for lot in left] == [(new["lot_id"], 70)]
    assert answer.json()["member"]["balance"]["redeemed"] == 80


def test_a_negative_adjustment_spends_like_a_redemption_and_refuses_when_short(client, member):
    url = f"/v1/members/{member['member_id']}/adjustments"
    buy(client, member["member_id"], "T-1", "30.00", "2026-11-22T10:00:00+08:00")
    short = client.post(url, json={"adjustment_id": "J-1", "points": -31, "reason": "fix"},
                        headers=auth("support"))
    taken = client.post(url, json={"adjustment_id": "J-2", "points": -30, "reason": "fix"},
                        headers=auth("support"))
    assert (short.status_code, short.json()["code"]) == (409, "insufficient_points")
    assert (taken.status_code, taken.json()["points"]) == (201, -30)
    assert taken.json()["member"]["balance"]["available"] == 0
