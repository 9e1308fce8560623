"""Where the ledger's PostgreSQL is: the DATABASE_URL server, or an embedded one.

Only this module, bulk.py and projections/ talk to psycopg directly.
"""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path
from typing import Any, Callable, TypeVar

import orjson
import psycopg
from eventsourcing import persistence
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import set_json_loads
from psycopg_pool import ConnectionPool, PoolTimeout

from tally.settings import Settings

Result = TypeVar("Result")
_BROKEN = (persistence.OperationalError, persistence.InterfaceError, psycopg.OperationalError,
           psycopg.InterfaceError)
# What the event store's connections can be told; anything else in a URL would be dropped.
_URL_PARAMETERS = {"host", "port", "dbname", "user", "password"}


def database_url(settings: Settings) -> str:
    """DATABASE_URL if set; otherwise start (or reuse) an embedded server under the data dir."""
    if settings.database_url:
        return settings.database_url
    return embedded_url(settings.data_dir / "pg")


def embedded_url(directory: Path) -> str:
    """The URI of a PostgreSQL from the pgserver wheel with its data in `directory`.

    The server outlives this process (the next start reuses it) and listens only on a unix
    socket: `postgresql://postgres:@/postgres?host=/socket/dir`.
    """
    with warnings.catch_warnings():  # platformdirs warns at import when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import pgserver  # imported here: only the embedded default needs it

    directory = directory.resolve()
    if " " in str(directory):  # pgserver passes the path to postgres unquoted
        raise ValueError(f"the embedded PostgreSQL cannot run in {directory} (a space in the "
                         "path): set TALLY_DATA_DIR elsewhere, or DATABASE_URL")
    directory.mkdir(parents=True, exist_ok=True)
    return pgserver.get_server(directory, cleanup_mode=None).get_uri()


def session_options() -> str:
    """libpq `options` for every connection Tally opens: PGOPTIONS if set, then JIT off and
    the session's time zone UTC.

    PostgreSQL's JIT compiler, triggered by the events table's row estimates, spent ~30 ms
    compiling each multi-id load of an import (half of PostgreSQL's CPU there, bench/).
    Migration 0002 turns it off for the database, but a database copied from a template,
    restored from a dump or owned by someone else does not keep or take that setting; a
    session setting needs no privilege and goes wherever the connection goes.

    In UTC, psycopg reads every moment back with the `timezone.utc` the facts carry, whatever
    the server's own zone: an entry or a lot read in the server's zone (`Etc/UTC` here, a
    ZoneInfo) compared with a fact's moment in 0.40 us rather than 0.02, four times a fact
    when verify compares the read models; and pages and exports print moments alike.
    """
    return " ".join(filter(None, (os.environ.get("PGOPTIONS", "").strip(), "-c jit=off",
                                  "-c TimeZone=UTC")))


def eventsourcing_env(url: str, pool_size: int = 10) -> dict[str, str]:
    """The eventsourcing library's settings for a postgresql:// URL (TCP or unix socket).

    Raises ValueError for URL parameters the event store cannot honour (`sslmode`, …):
    set them as libpq environment variables (PGSSLMODE, …) instead.
    """
    params = conninfo_to_dict(url)
    unsupported = sorted(set(params) - _URL_PARAMETERS)
    if unsupported:
        raise ValueError(f"DATABASE_URL: {', '.join(unsupported)} not supported; use libpq "
                         "environment variables (e.g. PGSSLMODE) instead")
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(params.get("host") or "localhost"),
        "POSTGRES_PORT": str(params.get("port") or "5432"),
        "POSTGRES_USER": str(params.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size),
        "POSTGRES_CONNECT_TIMEOUT": "2",  # seconds: also how long a request waits for a connection
        "POSTGRES_PRE_PING": "n",  # a broken connection is retried once instead (tally/application.py)
        "POSTGRES_LOCK_TIMEOUT": "5",  # seconds a save waits for the events table's lock
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "10",  # seconds
        "POSTGRES_SESSION_OPTIONS": session_options(),  # Tally's, see LedgerCore
    }


def _json_by_orjson(conn: psycopg.Connection) -> None:
    """jsonb columns (a ledger entry's actor) parsed by orjson rather than the standard
    library: reading 500,000 ledger entries, 185,000-218,000 -> 286,000-299,000 rows/s."""
    set_json_loads(orjson.loads, conn)


def connect(url: str, **options: object) -> psycopg.Connection:
    """One connection (options go to psycopg.connect, e.g. autocommit=True)."""
    conn = psycopg.connect(url, connect_timeout=5, options=session_options(), **options)
    _json_by_orjson(conn)
    return conn


def open_pool(url: str, size: int = 4, name: str = "reads") -> ConnectionPool:
    """A pool of autocommit connections for read-model queries; it reconnects by itself
    after an outage, and `pool.connection()` raises PoolTimeout after 5 s without one."""
    return ConnectionPool(url, min_size=1, max_size=size, name=name, open=True, timeout=5,
                          kwargs={"connect_timeout": 5, "autocommit": True,
                                  "options": session_options()},
                          configure=_json_by_orjson, check=ConnectionPool.check_connection)


def once_more_on_broken(pool: ConnectionPool, call: Callable[..., Result]) -> Callable[..., Result]:
    """`call`, made once more if the connection it was given had broken while it sat in the
    pool (the server restarted, a failover) and the server answers again: the pool first tests
    its idle connections and replaces the broken ones, which broke together (one by one, each
    failed a request: after a restart, five batches in a row answered 503). If the server does
    not answer, or the pool had no connection to give (PoolTimeout), the failure is raised at
    once: the database is away, and testing the pool then only delayed its recovery."""

    @functools.wraps(call)
    def calling(*args: Any, **kwargs: Any) -> Result:
        try:
            return call(*args, **kwargs)
        except _BROKEN as failure:
            if isinstance(failure, PoolTimeout) or isinstance(failure.__cause__, PoolTimeout) \
                    or not _answers(pool):
                raise
            pool.check()
            return call(*args, **kwargs)

    return calling


def _answers(pool: ConnectionPool) -> bool:
    """Whether the pool's server takes a new connection now (within 2 s)."""
    try:
        with psycopg.connect(pool.conninfo, **{**pool.kwargs, "connect_timeout": 2}):
            return True
    except psycopg.Error:
        return False
