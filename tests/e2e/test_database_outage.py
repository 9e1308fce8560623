"""When PostgreSQL goes away mid-run the API answers 503 and recovers by itself."""

from __future__ import annotations

from urllib.parse import urlparse, urlunparse

import httpx
import pytest

from api.app import create_app
from tally.bootstrap import start
from tally.settings import Settings
from tests.e2e.conftest import KEYS, auth, purchase
from tests.e2e.live import CuttableProxy, serving


@pytest.fixture
def proxy(clean_db):
    parts = urlparse(clean_db)
    if not parts.hostname or parts.hostname.startswith("/"):
        pytest.fail("the outage test needs a TCP DATABASE_URL (host:port)")
    proxy = CuttableProxy(parts.hostname, parts.port or 5432)
    yield proxy, urlunparse(parts._replace(netloc=f"{parts.username or 'postgres'}"
                                           f"{':' + parts.password if parts.password else ''}"
                                           f"@127.0.0.1:{proxy.port}"))
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
