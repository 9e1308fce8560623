"""Numbered SQL migrations (NNNN_name.sql), applied once each, in order."""

from __future__ import annotations

from importlib import resources

import psycopg

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""
_LOCK = 7_201_100  # one advisory lock id: concurrent starters take turns


def migration_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration shipped with Tally, in order."""
    found = []
    for entry in resources.files(__package__).iterdir():
        if entry.name.endswith(".sql") and entry.name[:4].isdigit():
            found.append((int(entry.name[:4]), entry.name[:-4], entry.read_text()))
    return sorted(found)


def apply_migrations(url: str) -> list[str]:
    """Applies the migrations this database has not seen; returns their names."""
    applied = []
    with psycopg.connect(url, autocommit=False) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        conn.execute(_BOOKKEEPING)
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for version, name, sql in migration_files():
            if version not in done:
                conn.execute(sql)
                conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                             (version, name))
                applied.append(name)
        conn.commit()
    return applied
