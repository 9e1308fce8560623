"""A CSV export of 200,000 ledger entries streams through a server-side cursor: the rows are
never all in memory at once."""

from __future__ import annotations

import tracemalloc

import psycopg
import pytest

from api.routers.ledger import csv_chunks
from tally import audit
from tally.storage import open_pool

ROWS = 200_000
SYNTHETIC_ENTRIES = """
INSERT INTO ledger_entries
SELECT g, 'synthetic:' || g,
       ('00000000-0000-4000-8000-' || lpad((g %% 5000)::text, 12, '0'))::uuid,
       g / 5000 + 1, 'earn', 10, 10 * (g / 5000 + 1), 0, 0, 0, now(), now(),
       'transaction', 'pos/T-' || g, '{"name": "key:bench", "role": "pos", "request_id": null}', 1
FROM generate_series(1, %s) AS g"""


@pytest.fixture
def pool(clean_db):
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(SYNTHETIC_ENTRIES, (ROWS,))
    reads = open_pool(clean_db, size=2)
    yield reads
    reads.close()


def test_a_csv_export_of_200000_entries_peaks_below_8_mib_of_python_memory(pool):
    tracemalloc.start()
    try:
        lines = 0
        for chunk in csv_chunks(audit.entries_export(pool, audit.EntryFilter())):
            lines += chunk.count("\n")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert lines == ROWS + 1  # the header, then every entry
    assert peak < 8 * 1024 * 1024
