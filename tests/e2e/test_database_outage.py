"""When PostgreSQL goes away mid-run the API answers 503 and recovers by itself."""

from __future__ import annotations

import httpx
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from api.app import create_app
from tally.bootstrap import start
from tally.settings import Settings
from tests.e2e.conftest import KEYS, auth, purchase
from tests.e2e.live import CuttableProxy, serving


@pytest.fixture
def proxy(clean_db):
    """A proxy to the test database's server; yields it and a TCP URL through it."""
    params = conninfo_to_dict(clean_db)
    proxy = CuttableProxy(str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432))
    through = make_conninfo(clean_db, host="127.0.0.1", port=str(proxy.port))
    yield proxy, through
    proxy.close()


def test_a_database_outage_answers_503_records_nothing_and_recovers(proxy):
    cuttable, url = proxy
    settings = Settings(database_url=url, pool_size=4,
                        api_keys=",".join(f"{role}:{key}" for role, key in KEYS.items()))
    runtime = start(settings)
    with serving(create_app(runtime)) as base_url, httpx.Client(base_url=base_url, timeout=30) as http:
        member = http.post("/v1/members", json={}, headers=auth("pos")).json()["member_id"]
        cuttable.cut()
        down = http.post("/v1/transactions", json=purchase(member), headers=auth("pos"))
        assert (down.status_code, down.json()["code"]) == (503, "unavailable")
        assert down.headers["Retry-After"] == "1"
        assert http.get("/healthz").status_code == 503
        cuttable.restore()
        assert http.get("/healthz").json() == {"status": "ok", "database": "ok"}
        up = http.post("/v1/transactions", json=purchase(member), headers=auth("pos"))
        assert (up.status_code, up.json()["points_earned"]) == (201, 120)
    runtime.close()


def test_after_a_restart_the_first_writes_succeed_though_every_pooled_connection_broke(proxy):
    """Every idle connection of every pool breaks with a restart (or a failover); the first
    request to meet one has the pool test the others before it tries again, so no request
    is refused for a connection that broke while idle."""
    cuttable, url = proxy
    settings = Settings(database_url=url, pool_size=4, batch_workers=1,
                        api_keys=",".join(f"{role}:{key}" for role, key in KEYS.items()))
    runtime = start(settings, serving=True)
    with serving(create_app(runtime)) as base_url, httpx.Client(base_url=base_url, timeout=30) as http:
        member = http.post("/v1/members", json={}, headers=auth("pos")).json()["member_id"]
        batch = {"transactions": [purchase(member, "B-1", "10.00")]}
        assert http.post("/v1/transactions/batch", json=batch, headers=auth("pos")).status_code == 200
        cuttable.cut()  # the server restarts while no request is under way
        cuttable.restore()

        till = http.post("/v1/transactions", json=purchase(member, "T-1"), headers=auth("pos"))
        batch = {"transactions": [purchase(member, "B-2", "10.00")]}
        office = http.post("/v1/transactions/batch", json=batch, headers=auth("pos"))

        assert (till.status_code, till.json()["points_earned"]) == (201, 120)
        assert (office.status_code, office.json()["results"][0]["status"]) == (200, 201)
    runtime.close()
