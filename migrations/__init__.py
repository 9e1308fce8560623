"""Numbered SQL migrations (`NNNN_name.sql`, shipped as package data), applied once each.

A migration that has landed is never edited: change the schema with a new number.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from importlib.resources.abc import Traversable

import psycopg

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""
_LOCK = 7_201_100  # one advisory lock id: processes starting together take turns


@contextmanager
def schema_lock(url: str) -> Iterator[psycopg.Connection]:
    """Holds the migrations' advisory lock (on a connection of its own, yielded) while a
    process creates or checks its tables: the event store's CREATE TABLE IF NOT EXISTS and
    CREATE OR REPLACE FUNCTION, run by two processes at once, make PostgreSQL refuse one of
    them ("tuple concurrently updated", a duplicate type name). Closing releases the lock."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK,))
        yield conn


def migration_files(source: Traversable | None = None) -> list[tuple[int, str, str]]:
    """(version, name, sql) of every `NNNN_name.sql` in `source` (default: this package),
    in version order. Raises ValueError when two files share a version."""
    found = sorted(
        (int(entry.name[:4]), entry.name.removesuffix(".sql"), entry.read_text("utf-8"))
        for entry in (source or resources.files(__package__)).iterdir()
        if entry.name.endswith(".sql") and entry.name[:4].isdigit())
    versions = [version for version, _, _ in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"two migrations share a version: {[name for _, name, _ in found]}")
    return found


def apply_migrations(target: str | psycopg.Connection, source: Traversable | None = None,
                     ) -> list[str]:
    """Applies, in one transaction, the migrations this database has not recorded in
    `schema_migrations`; returns their names. `target` is a URL or an open connection (then
    in a transaction of its own, or in a savepoint when the caller's transaction is open)."""
    if isinstance(target, psycopg.Connection):
        return _apply(target, migration_files(source))
    with psycopg.connect(target, autocommit=True) as conn:
        return _apply(conn, migration_files(source))


def _apply(conn: psycopg.Connection, files: list[tuple[int, str, str]]) -> list[str]:
    applied = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        conn.execute(_BOOKKEEPING)
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for version, name, sql in files:
            if version not in done:
                conn.execute(sql)
                conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                             (version, name))
                applied.append(name)
    return applied
