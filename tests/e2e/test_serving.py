"""Start-up, `tally serve`, and the OpenAPI document."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import attach, create_app
from tests.e2e.conftest import KEYS, auth
from tests.e2e.live import descendants, free_port, left_after

ROOT = Path(__file__).resolve().parents[2]


def test_the_api_answers_503_until_a_started_ledger_is_attached(runtime):
    app = create_app()
    with TestClient(app) as client:
        starting = client.get("/healthz")
        write = client.post("/v1/members", json={}, headers=auth("pos"))
        malformed = [client.post(path, content=b"{",
                                 headers={**auth("pos"), "content-type": "application/json"})
                     for path in ("/v1/members", "/v1/transactions")]
        attach(app, runtime)
        ready = client.get("/healthz")
    assert (starting.status_code, starting.headers["Retry-After"]) == (503, "1")
    assert (write.status_code, write.json()["code"]) == (503, "unavailable")
    assert [answer.status_code for answer in malformed] == [503, 503]  # not 401: no keys yet
    assert (ready.status_code, ready.json()) == (200, {"status": "ok", "database": "ok"})


@pytest.fixture
def serving(empty_database_url, tmp_path):
    """Starts `tally serve [options]` on a free port over a database with no tables at all
    (its output in tmp_path/serve.log); returns its base URL."""
    servers = []

    def start(*options: str) -> str:
        port = free_port()
        env = {**os.environ, "DATABASE_URL": empty_database_url, "PYTHONPATH": str(ROOT),
               "TALLY_API_KEYS": ",".join(f"{role}:{key}" for role, key in KEYS.items())}
        with (tmp_path / "serve.log").open("w") as log:
            servers.append(subprocess.Popen(
                [sys.executable, "-c", "from tally.cli import main; main()", "serve", "--port",
                 str(port), *options], cwd=ROOT, env=env, stdout=log, stderr=log))
        return f"http://127.0.0.1:{port}"

    start.servers = servers  # the processes, for tests that signal them
    yield start
    for server in servers:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def tally_serve(serving):
    return serving()


def health_until_ready(base_url: str) -> list[int]:
    """Every /healthz status seen until the first 200 (a minute at most)."""
    seen: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and 200 not in seen:
        try:
            seen.append(httpx.get(f"{base_url}/healthz").status_code)
        except httpx.TransportError:  # not listening yet
            time.sleep(0.05)
    return seen


def test_tally_serve_migrates_an_empty_database_then_answers(tally_serve):
    seen = health_until_ready(tally_serve)
    assert seen[-1] == 200 and set(seen[:-1]) <= {503}
    answer = httpx.post(f"{tally_serve}/v1/members", json={}, headers=auth("pos"))
    assert (answer.status_code, answer.json()["balance"]["available"]) == (201, 0)


@pytest.mark.parametrize("options, apart", [((), True), (("--projections-in-process",), False)])
def test_tally_serve_keeps_the_read_models_up_to_date(serving, options, apart):
    tally_serve = serving(*options)  # by default in a child process, else in its own threads
    health_until_ready(tally_serve)
    member = httpx.post(f"{tally_serve}/v1/members", json={}, headers=auth("pos")).json()
    bought = httpx.post(f"{tally_serve}/v1/transactions", headers=auth("pos"), json={
        "transaction_id": "S-1", "channel": "pos", "amount": "120.00", "currency": "CNY",
        "member": {"member_id": member["member_id"]}})
    batch = httpx.post(f"{tally_serve}/v1/transactions/batch", headers=auth("pos"), timeout=60,
                       json={"transactions": [{  # posted by tally serve's batch worker
                           "transaction_id": "S-2", "channel": "web", "amount": "30.00",
                           "currency": "CNY", "member": {"member_id": member["member_id"]}}]})
    deadline, metrics = time.monotonic() + 60, ""  # the child starts in a second or two
    while "\ntally_projection_lag 0\n" not in metrics and time.monotonic() < deadline:
        metrics = httpx.get(f"{tally_serve}/metrics").text
    verify = httpx.get(f"{tally_serve}/v1/ledger/verify", headers=auth("finance")).json()
    summary = httpx.get(f"{tally_serve}/v1/ledger/summary", headers=auth("finance")).json()
    assert "\ntally_projection_lag 0\n" in metrics
    assert ("\ntally_read_side_restarts 0\n" in metrics) is apart  # only a child is restarted
    assert (bought.status_code, verify["ok"], verify["members_checked"]) == (201, True, 1)
    assert batch.json()["results"] == [{"transaction_id": "S-2", "channel": "web", "status": 201,
                                        "points_earned": 30}]
    assert (summary["members"], summary["issued"], summary["balanced"]) == (1, 150, True)


def test_a_killed_tally_serve_leaves_no_process_of_its_own_behind(serving):
    base_url = serving()
    health_until_ready(base_url)
    member = httpx.post(f"{base_url}/v1/members", json={}, headers=auth("pos")).json()
    batch = httpx.post(f"{base_url}/v1/transactions/batch", headers=auth("pos"), timeout=60,
                       json={"transactions": [{
                           "transaction_id": "K-1", "channel": "web", "amount": "10.00",
                           "currency": "CNY", "member": {"member_id": member["member_id"]}}]})
    server = serving.servers[-1]
    helpers = descendants(server.pid)  # the read side, the batch worker and its fork server

    server.kill()
    server.wait()

    assert batch.status_code == 200 and len(helpers) >= 3
    assert left_after(helpers, seconds=15) == set()


def test_tally_serve_stopped_with_sigterm_closes_what_it_started(serving, tmp_path):
    base_url = serving()  # docker stop sends SIGTERM
    health_until_ready(base_url)
    server = serving.servers[-1]
    helpers = descendants(server.pid)

    server.send_signal(signal.SIGTERM)

    assert server.wait(timeout=30) == 128 + signal.SIGTERM
    assert len(helpers) >= 3 and left_after(helpers, seconds=5) == set()
    log = (tmp_path / "serve.log").read_text()
    assert "Application shutdown complete" in log and "leaked" not in log


@pytest.mark.parametrize("options, logged", [((), True), (("--no-access-log",), False)])
def test_tally_serve_logs_a_line_per_request_unless_told_not_to(serving, tmp_path, options, logged):
    base_url = serving(*options)
    health_until_ready(base_url)
    assert httpx.post(f"{base_url}/v1/members", json={}, headers=auth("pos")).status_code == 201
    assert httpx.get(f"{base_url}/healthz").status_code == 200  # logged after the POST, if at all
    log = (tmp_path / "serve.log").read_text()
    assert ('"POST /v1/members HTTP/1.1" 201' in log) is logged


def test_every_reference_in_the_openapi_document_resolves(client):
    spec = client.get("/openapi.json").json()
    referenced = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(spec)))
    assert referenced - set(spec["components"]["schemas"]) == set()


def test_every_v1_route_documents_its_refusals_as_problems(client):
    spec = client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if not path.startswith("/v1/"):
                continue
            for status in ("401", "403", "422", "503"):
                content = operation["responses"][status]["content"]
                assert "application/problem+json" in content, (method, path, status)


def test_an_idempotent_write_documents_its_replay(client):
    responses = client.get("/openapi.json").json()["paths"]["/v1/transactions"]["post"]["responses"]
    assert set(responses) >= {"200", "201", "404", "409"}
    assert "Idempotent-Replayed" in responses["200"]["headers"]
