"""Concurrent writes to one member through a real server: nothing lost, nothing counted twice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from api.app import create_app
from tests.e2e.conftest import auth, purchase
from tests.e2e.live import serving


@pytest.fixture
def server(runtime):
    with serving(create_app(runtime)) as base_url:
        yield base_url


def post_all(base_url: str, requests: list[tuple[str, dict]], role: str = "pos") -> list[httpx.Response]:
    def send(request: tuple[str, dict]) -> httpx.Response:
        path, body = request
        with httpx.Client(base_url=base_url, timeout=30) as http:
            return http.post(path, json=body, headers=auth(role))

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


def test_twenty_concurrent_10_point_redemptions_on_50_points_let_exactly_five_through(server):
    with httpx.Client(base_url=server) as http:
        member = http.post("/v1/members", json={}, headers=auth("pos")).json()["member_id"]
        http.post(f"/v1/members/{member}/adjustments",
                  json={"adjustment_id": "A-50", "points": 50, "reason": "start"}, headers=auth("support"))
    answers = post_all(server, [(f"/v1/members/{member}/redemptions",
                                 {"redemption_id": f"R-{n}", "points": 10}) for n in range(20)])
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * 5 + [409] * 15
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"insufficient_points"}
    with httpx.Client(base_url=server) as http:
        balance = http.get(f"/v1/members/{member}", headers=auth("pos")).json()["balance"]
    assert (balance["available"], balance["redeemed"]) == (0, 50)


def test_ten_concurrent_identical_posts_of_one_purchase_count_once(server):
    with httpx.Client(base_url=server) as http:
        member = http.post("/v1/members", json={}, headers=auth("pos")).json()["member_id"]
    answers = post_all(server, [("/v1/transactions", purchase(member, "T-SAME"))] * 10)
    assert sorted(a.status_code for a in answers) == [200] * 9 + [201]
    assert len({a.content for a in answers}) == 1
    with httpx.Client(base_url=server) as http:
        balance = http.get(f"/v1/members/{member}", headers=auth("pos")).json()["balance"]
    assert balance["available"] == 120


def test_forty_concurrent_purchases_on_one_member_each_count_once(server):
    with httpx.Client(base_url=server) as http:
        member = http.post("/v1/members", json={}, headers=auth("pos")).json()["member_id"]
    answers = post_all(server, [("/v1/transactions", purchase(member, f"T-{n}", "10.00"))
                                for n in range(40)])
    assert [a.status_code for a in answers] == [201] * 40
    assert sorted(a.json()["member"]["version"] for a in answers) == list(range(2, 42))
    with httpx.Client(base_url=server) as http:
        balance = http.get(f"/v1/members/{member}", headers=auth("pos")).json()["balance"]
    assert balance["available"] == 400


def test_purchases_and_redemptions_racing_on_one_member_each_count_once(server):
    with httpx.Client(base_url=server) as http:
        member = http.post("/v1/members", json={}, headers=auth("pos")).json()["member_id"]
        http.post("/v1/transactions", json=purchase(member, "T-0", "100.00"), headers=auth("pos"))
    requests = [("/v1/transactions", purchase(member, f"T-{n}", "10.00")) for n in range(1, 31)]
    requests[5::6] = [(f"/v1/members/{member}/redemptions", {"redemption_id": f"R-{n}", "points": 20})
                      for n in range(5)]
    answers = post_all(server, requests)

    assert [a.status_code for a in answers] == [201] * 30
    versions = [a.json()["member"]["version"] for a in answers]
    assert sorted(versions) == list(range(3, 33))  # thirty facts, one after another
    with httpx.Client(base_url=server) as http:
        balance = http.get(f"/v1/members/{member}", headers=auth("pos")).json()["balance"]
    assert (balance["available"], balance["redeemed"]) == (100 + 25 * 10 - 5 * 20, 100)
