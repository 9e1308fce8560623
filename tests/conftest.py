"""Every storage test runs on a real PostgreSQL: DATABASE_URL's server, or an embedded one.

The session gets a database of its own on that server (`tally_test_<pid>`), migrated once;
`clean_db` empties every table before a test. A run in which any test was skipped fails:
the PostgreSQL tests are never optional.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest

from migrations import apply_migrations


def _server_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    from tally.storage import embedded_url

    return embedded_url(Path(__file__).resolve().parent.parent / ".tally" / "test-pg")


def _with_database(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def database_url() -> str:
    server = _server_url()
    name = f"tally_test_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(server, name)
    apply_migrations(url)
    yield url
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def clean_db(database_url: str) -> str:
    """Empties every table (the events, snapshots, tracking and read models) before a test."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT quote_ident(tablename) FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename <> 'schema_migrations'")]
        if tables:
            conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    return database_url


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter:
            reporter.write_line(f"FAILED: {skipped} test(s) skipped; no test may be skipped.", red=True)
