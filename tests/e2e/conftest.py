"""An API over a migrated test database, with one key per role."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tally.bootstrap import start
from tally.settings import Settings

KEYS = {"pos": "pos-key", "support": "support-key", "finance": "finance-key", "admin": "admin-key"}


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[role]}"}


@pytest.fixture
def runtime(clean_db):
    settings = Settings(database_url=clean_db, api_keys=",".join(f"{r}:{k}" for r, k in KEYS.items()),
                        pool_size=8)
    runtime = start(settings)
    yield runtime
    runtime.close()


@pytest.fixture
def client(runtime):
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def member(client) -> dict:
    answer = client.post("/v1/members", json={"identities": [{"kind": "phone", "value": "+86 138 0000 0001"}]},
                         headers=auth("pos"))
    assert answer.status_code == 201, answer.text
    return answer.json()


def purchase(member_id: str, transaction_id: str = "T-1", amount: str = "120.00", **extra) -> dict:
    return {"transaction_id": transaction_id, "channel": "pos", "store_id": "S-9",
            "member": {"member_id": member_id}, "amount": amount, "currency": "CNY",
            "occurred_at": "2026-11-22T10:00:00+08:00", **extra}
