"""Fixtures of the use-case tests: a ledger driven like a till, and a read-model pool."""

from __future__ import annotations

import pytest

from tally.storage import open_pool
from tests.integration.ledgers import Shop, open_ledger, threads_of


@pytest.fixture
def shop(database_url, clean_db):
    ledger = open_ledger(database_url)
    yield Shop(ledger)
    ledger.close()


@pytest.fixture
def pool(clean_db):
    reads = open_pool(clean_db, size=2)
    yield reads
    reads.close()


@pytest.fixture
def threads_used(shop):
    """The transaction ids of the purchases that went to `post_purchase` in a worker thread."""
    return threads_of(shop.ledger)
