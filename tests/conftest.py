"""Every storage test runs on a real PostgreSQL: DATABASE_URL's server, or an embedded one
(pgserver, data under .tally/test-pg).

The session gets a database of its own on that server (`tally_test_<pid>`), migrated once and
dropped at the end; `clean_db` empties every table before a test. A run in which any test was
skipped fails: the PostgreSQL tests are never optional.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest

from migrations import apply_migrations

pytest_plugins = ["pytester"]  # tests/integration/test_storage.py runs pytest on pytest


def _with_database(url: str, name: str) -> str:
    return urlparse(url)._replace(path=f"/{name}").geturl()


def _drop(server: str, name: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _create(server: str, name: str) -> str:
    _drop(server, name)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return _with_database(server, name)


@pytest.fixture(scope="session")
def server_url() -> str:
    """The PostgreSQL server the tests use (its maintenance database): never written to."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    from tally.storage import embedded_url

    return embedded_url(Path(__file__).resolve().parent.parent / ".tally" / "test-pg")


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A database of this session's own, with every migration applied."""
    name = f"tally_test_{os.getpid()}"
    url = _create(server_url, name)
    apply_migrations(url)
    yield url
    _drop(server_url, name)


@pytest.fixture
def clean_db(database_url: str) -> str:
    """Empties every table but schema_migrations (events, snapshots, read models), and forgets
    every tracking position but the library's own `__migration__` marker."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        names = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename <> 'schema_migrations'")]
        tracking = [name for name in names if name.endswith("_tracking")]
        tables = [f'public."{name}"' for name in names if name not in tracking]
        if tables:
            conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        for name in tracking:
            conn.execute(f'DELETE FROM public."{name}" WHERE application_name <> %s',
                         ("__migration__",))
    return database_url


@pytest.fixture
def empty_database_url(server_url: str) -> Iterator[str]:
    """A brand-new database with nothing in it (not even migrations), dropped afterwards."""
    name = f"tally_test_{os.getpid()}_empty"
    yield _create(server_url, name)
    _drop(server_url, name)


class _NoSkips:
    """Fails a run in which a test or a module was skipped, and names them."""

    def __init__(self) -> None:
        self.skipped: list[str] = []

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self._note(report)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._note(report)

    def _note(self, report: pytest.CollectReport | pytest.TestReport) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            self.skipped.append(report.nodeid)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.skipped and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        for nodeid in self.skipped:
            terminalreporter.write_line(f"SKIPPED, which fails this run: {nodeid}", red=True)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_NoSkips(), "tally-no-skips")
