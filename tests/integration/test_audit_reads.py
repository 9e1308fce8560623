"""Finance reads of the projected tables: entry pages and exports, the summary, the position.

Rows are written straight into the read tables, so these tests pin the queries alone.
"""

from __future__ import annotations

import json
from uuid import UUID

import psycopg
import pytest

from tally import audit
from tests.integration.ledgers import at

ANN = UUID("aaaaaaaa-0000-4000-8000-000000000001")
BOB = UUID("bbbbbbbb-0000-4000-8000-000000000002")
SYSTEM = {"name": "system", "role": "system", "request_id": None}


class Book:
    """Writes ledger_entries and members rows as the projections would."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)
        self.position = 0

    def entry(self, member: UUID, kind: str, points: int, after: tuple[int, int, int],
              on: str, forgiven: int = 0, reference: tuple[str, str] = ("transaction", "pos/T-1")):
        self.position += 1
        self.conn.execute(
            "INSERT INTO ledger_entries VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " %s, %s, %s, %s)",
            (self.position, f"{member}:{self.position}", member, self.position, kind, points,
             *after, forgiven, at(on), at(on), *reference, json.dumps(SYSTEM), 1))

    def member(self, member: UUID, status: str = "active", enrolled: str = "2026-01-01"):
        self.conn.execute(
            "INSERT INTO members (member_id, status, enrolled_at, referral_code, version,"
            " chain_head, updated_at) VALUES (%s, %s, %s, 'CODE', 1, '', %s)",
            (member, status, at(enrolled), at(enrolled)))


@pytest.fixture
def book(clean_db):
    written = Book(clean_db)
    yield written
    written.conn.close()


def a_year(book: Book) -> None:
    """Ann earns 120, redeems 50, returns into 30 debt (10 forgiven elsewhere); Bob earns 40,
    is adjusted +5, then merged into Ann."""
    book.member(ANN)
    book.member(BOB, status="merged")
    book.entry(ANN, "earn", 120, (120, 0, 0), "2026-01-02")
    book.entry(BOB, "earn", 40, (40, 0, 0), "2026-01-03")
    book.entry(ANN, "redeem", -50, (70, 0, 0), "2026-01-04", reference=("redemption", "X-1"))
    book.entry(BOB, "adjust", 5, (45, 0, 0), "2026-01-05", reference=("adjustment", "J-1"))
    book.entry(ANN, "clawback", -100, (0, 0, 30), "2026-02-01", forgiven=10,
               reference=("return", "pos/T-1/R-1"))
    book.entry(ANN, "merge_in", 45, (15, 0, 0), "2026-03-01", reference=("merge", "M-1"))
    book.entry(BOB, "merge_out", -45, (0, 0, 0), "2026-03-01", reference=("merge", "M-1"))


def test_a_page_of_entries_is_in_position_order_with_the_position_to_ask_after(pool, book):
    a_year(book)
    page = audit.entries_page(pool, audit.EntryFilter(), limit=3)
    assert [entry["position"] for entry in page["entries"]] == [1, 2, 3]
    assert page["next_after"] == 3


def test_the_last_page_of_entries_has_no_position_to_ask_after(pool, book):
    a_year(book)
    page = audit.entries_page(pool, audit.EntryFilter(after=5), limit=3)
    assert ([entry["position"] for entry in page["entries"]], page["next_after"]) == ([6, 7], None)


def test_an_entry_names_its_reference_as_type_and_id_and_carries_forgiven(pool, book):
    a_year(book)
    entry = audit.entries_page(pool, audit.EntryFilter(after=4), limit=1)["entries"][0]
    assert entry["reference"] == {"type": "return", "id": "pos/T-1/R-1"}
    assert (entry["member_id"], entry["kind"], entry["points"], entry["forgiven"]) == (
        str(ANN), "clawback", -100, 10)
    assert (entry["available_after"], entry["pending_after"], entry["debt_after"]) == (0, 0, 30)


def test_entries_filter_by_member(pool, book):
    a_year(book)
    page = audit.entries_page(pool, audit.EntryFilter(member_id=BOB))
    assert [entry["kind"] for entry in page["entries"]] == ["earn", "adjust", "merge_out"]


def test_entries_filter_by_recorded_time_from_inclusive_to_exclusive(pool, book):
    a_year(book)
    which = audit.EntryFilter(since=at("2026-01-03"), until=at("2026-01-05"))
    assert [e["position"] for e in audit.entries_page(pool, which)["entries"]] == [2, 3]


def test_an_export_streams_every_matching_entry_past_any_page_limit(pool, book):
    for day in range(1, 29):
        book.entry(ANN, "activity", 5, (5 * day, 0, 0), f"2026-02-{day:02d}")
    rows = [row for batch in audit.entries_export(pool, audit.EntryFilter(after=2)) for row in batch]
    assert [row[0] for row in rows] == list(range(3, 29))


def test_a_limit_above_1000_is_refused(pool, book):
    with pytest.raises(audit.InvalidInput):
        audit.entries_page(pool, audit.EntryFilter(), limit=1001)


def test_the_summary_sums_each_flow_and_balances_over_the_members_left(pool, book):
    a_year(book)
    summary = audit.ledger_summary(pool, None, at("2026-04-01"))
    assert summary == {"as_of": at("2026-04-01"), "members": 1, "available": 15, "pending": 0,
                       "debt": 0, "issued": 160, "redeemed": 50, "expired": 0,
                       "clawed_back": 100, "forgiven": 10, "adjusted": 5, "balanced": True}


def test_the_summary_as_of_a_moment_counts_only_entries_recorded_by_then(pool, book):
    a_year(book)
    summary = audit.ledger_summary(pool, at("2026-01-04"), at("2026-04-01"))
    assert (summary["available"], summary["issued"], summary["redeemed"]) == (110, 160, 50)
    assert summary["balanced"] is True


def test_the_summary_is_not_balanced_when_an_entry_disagrees_with_the_balances(pool, book):
    a_year(book)
    book.conn.execute("UPDATE ledger_entries SET points = 130 WHERE position = 1")
    assert audit.ledger_summary(pool, None, at("2026-04-01"))["balanced"] is False
