"""Where the ledger's PostgreSQL is: the DATABASE_URL server, or an embedded one.

Only this module, bulk.py and projections/ talk to psycopg directly.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import psycopg
from psycopg_pool import ConnectionPool

from tally.settings import Settings

_embedded: dict[str, object] = {}


def database_url(settings: Settings) -> str:
    """DATABASE_URL if set; otherwise start (or reuse) an embedded server under the data dir."""
    if settings.database_url:
        return settings.database_url
    return embedded_url(settings.data_dir / "pg")


def embedded_url(directory: Path) -> str:
    """A PostgreSQL from the pgserver wheel with its data in `directory`; kept running."""
    import pgserver  # imported here: only the embedded default needs it

    key = str(directory.resolve())
    if key not in _embedded:
        directory.mkdir(parents=True, exist_ok=True)
        _embedded[key] = pgserver.get_server(key, cleanup_mode=None)
    return _embedded[key].get_uri()


def eventsourcing_env(url: str, pool_size: int = 10) -> dict[str, str]:
    """The eventsourcing library's settings for a postgresql:// URL (TCP or unix socket)."""
    parts = urlparse(url)
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or "localhost"])[0]
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")) or "postgres",
        "POSTGRES_HOST": host,
        "POSTGRES_PORT": str(parts.port or query.get("port", ["5432"])[0]),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size),
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_PRE_PING": "y",
        "POSTGRES_LOCK_TIMEOUT": "5",
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "10",
    }


def connect(url: str, **options: object) -> psycopg.Connection:
    return psycopg.connect(url, connect_timeout=5, **options)


def open_pool(url: str, size: int = 4, name: str = "reads") -> ConnectionPool:
    """A pool for read-model queries; it reconnects by itself after an outage."""
    return ConnectionPool(url, min_size=1, max_size=size, name=name, open=True, timeout=5,
                          kwargs={"connect_timeout": 5, "autocommit": True},
                          check=ConnectionPool.check_connection)
