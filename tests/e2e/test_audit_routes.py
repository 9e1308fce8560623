"""The audit routes over HTTP: timeline, ledger entries as JSON, CSV and NDJSON, and roles."""

from __future__ import annotations

import csv
import io
import json

import psycopg
import pytest

from tests.e2e.conftest import auth, purchase
from tests.integration.test_audit_export import SYNTHETIC_ENTRIES

UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def entries(runtime):
    """Seven synthetic entries written straight into the read table."""
    with psycopg.connect(runtime.url, autocommit=True) as conn:
        conn.execute(SYNTHETIC_ENTRIES, (7,))


def bought(client, member) -> None:
    answer = client.post("/v1/transactions", json=purchase(member["member_id"]), headers=auth("pos"))
    assert answer.status_code == 201, answer.text


def test_the_timeline_lists_the_members_facts_with_times_in_utc(client, member):
    bought(client, member)
    answer = client.get(f"/v1/members/{member['member_id']}/timeline", headers=auth("support"))
    earned = answer.json()["events"][1]
    assert (earned["type"], earned["points_delta"], earned["occurred_at"]) == (
        "PointsEarned", 120, "2026-11-22T02:00:00Z")


def test_a_timeline_fact_shows_money_as_a_string_and_its_lot_as_an_object(client, member):
    bought(client, member)
    answer = client.get(f"/v1/members/{member['member_id']}/timeline", headers=auth("finance"))
    data = answer.json()["events"][1]["data"]
    assert (data["amount"], data["lot"]["remaining"], data["lot"]["pending"]) == ("120.00", 120, False)


def test_the_timeline_pages_with_after_version_and_limit(client, member):
    bought(client, member)
    answer = client.get(f"/v1/members/{member['member_id']}/timeline?after_version=1&limit=1",
                        headers=auth("support"))
    page = answer.json()
    assert ([e["version"] for e in page["events"]], page["next_after_version"]) == ([2], None)


def test_the_timeline_of_an_unknown_member_is_member_not_found(client):
    answer = client.get(f"/v1/members/{UNKNOWN}/timeline", headers=auth("support"))
    assert (answer.status_code, answer.json()["code"]) == (404, "member_not_found")


def test_a_timeline_limit_above_1000_is_a_validation_error(client, member):
    answer = client.get(f"/v1/members/{member['member_id']}/timeline?limit=1001",
                        headers=auth("support"))
    assert (answer.status_code, answer.json()["errors"][0]["field"]) == (422, "limit")


def test_a_till_may_not_read_a_timeline(client, member):
    answer = client.get(f"/v1/members/{member['member_id']}/timeline", headers=auth("pos"))
    assert (answer.status_code, answer.json()["code"]) == (403, "forbidden")


@pytest.mark.parametrize("path", ["/v1/ledger/entries", "/v1/ledger/summary", "/v1/ledger/verify"])
def test_support_may_not_read_the_ledger(client, path):
    answer = client.get(path, headers=auth("support"))
    assert (answer.status_code, answer.json()["code"]) == (403, "forbidden")


def test_a_page_of_entries_names_the_position_to_ask_after(client, entries):
    page = client.get("/v1/ledger/entries?limit=5", headers=auth("finance")).json()
    assert ([e["position"] for e in page["entries"]], page["next_after"]) == ([1, 2, 3, 4, 5], 5)


def test_an_entry_has_the_contracts_fields(client, entries):
    entry = client.get("/v1/ledger/entries?limit=1", headers=auth("finance")).json()["entries"][0]
    assert entry["reference"] == {"type": "transaction", "id": "pos/T-1"}
    assert list(entry) == ["position", "entry_id", "member_id", "kind", "points",
                           "available_after", "pending_after", "debt_after", "forgiven",
                           "occurred_at", "recorded_at", "reference", "actor", "program_version"]


def test_entries_answer_how_far_the_read_models_have_caught_up(client, entries):
    answer = client.get("/v1/ledger/entries", headers=auth("finance"))
    assert answer.headers["Tally-Read-Position"].isdigit()


def test_entries_as_csv_have_a_header_row_and_every_row_past_the_page_limit(client, entries):
    answer = client.get("/v1/ledger/entries?limit=2", headers={**auth("finance"), "Accept": "text/csv"})
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert answer.headers["content-type"].startswith("text/csv")
    assert ([row["position"] for row in rows], rows[0]["reference_type"], rows[0]["reference_id"]) == (
        ["1", "2", "3", "4", "5", "6", "7"], "transaction", "pos/T-1")


def test_entries_as_csv_give_times_in_utc_with_z(client, entries):
    answer = client.get("/v1/ledger/entries", headers={**auth("finance"), "Accept": "text/csv"})
    row = next(csv.DictReader(io.StringIO(answer.text)))
    assert row["recorded_at"].endswith("Z") and row["recorded_at"][10] == "T"


def test_entries_as_ndjson_are_one_entry_object_per_line(client, entries):
    answer = client.get("/v1/ledger/entries?after=5",
                        headers={**auth("finance"), "Accept": "application/x-ndjson"})
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert [(line["position"], line["reference"]["type"], line["actor"]["role"]) for line in lines] == [
        (6, "transaction", "pos"), (7, "transaction", "pos")]
