"""Storage glue: migrations on a real PostgreSQL, the event store's env, the read pool,
and the test harness's own promise that no test is ever skipped."""

from __future__ import annotations

import threading
from datetime import timezone
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import tuple_row
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment

from migrations import apply_migrations, migration_files
from tally.settings import Settings
from tally.ledger import Ledger
from tally.storage import connect, database_url, embedded_url, eventsourcing_env, open_pool

SHIPPED = [name for _, name, _ in migration_files()]


def recorded(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT version, name FROM schema_migrations ORDER BY 1").fetchall()


def table_exists(url: str, name: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


def test_applying_every_migration_twice_applies_each_once(empty_database_url):
    assert apply_migrations(empty_database_url) == SHIPPED
    assert apply_migrations(empty_database_url) == []
    assert recorded(empty_database_url) == [(int(name[:4]), name) for name in SHIPPED]


def test_two_processes_starting_together_apply_each_migration_once(empty_database_url):
    start, results = threading.Barrier(2), []

    def migrate() -> None:
        start.wait()
        results.append(apply_migrations(empty_database_url))

    racers = [threading.Thread(target=migrate) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()

    assert sorted(results, key=len) == [[], SHIPPED]


def test_migrations_run_in_version_order(empty_database_url, tmp_path):
    source = write(tmp_path, {"0010_c.sql": "INSERT INTO t VALUES (10)",
                              "0001_a.sql": "CREATE TABLE t (n int)",
                              "0002_b.sql": "INSERT INTO t VALUES (2)", "notes.txt": "-"})

    assert apply_migrations(empty_database_url, source) == ["0001_a", "0002_b", "0010_c"]


def test_with_no_migration_files_only_the_bookkeeping_table_is_made(empty_database_url, tmp_path):
    assert apply_migrations(empty_database_url, tmp_path) == []
    assert recorded(empty_database_url) == []


def test_a_failing_migration_leaves_the_database_as_it_was(empty_database_url, tmp_path):
    source = write(tmp_path, {"0001_a.sql": "CREATE TABLE t (n int)", "0002_b.sql": "SELEC 1"})

    with pytest.raises(psycopg.errors.SyntaxError):
        apply_migrations(empty_database_url, source)
    assert not table_exists(empty_database_url, "t")
    assert not table_exists(empty_database_url, "schema_migrations")


def test_two_migrations_with_one_version_are_refused(tmp_path):
    source = write(tmp_path, {"0003_a.sql": "SELECT 1", "0003_b.sql": "SELECT 2"})

    with pytest.raises(ValueError, match="share a version"):
        migration_files(source)


def test_on_a_connection_in_a_transaction_the_callers_rollback_undoes_them(empty_database_url):
    with psycopg.connect(empty_database_url) as conn:
        conn.execute("SELECT 1")  # opens the caller's transaction
        assert apply_migrations(conn) == SHIPPED
        conn.rollback()

    assert not table_exists(empty_database_url, "schema_migrations")


def test_a_tcp_url_gives_every_event_store_setting(monkeypatch):
    monkeypatch.delenv("PGOPTIONS", raising=False)
    assert eventsourcing_env("postgresql://u:p@h:5433/db", pool_size=7) == {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": "db", "POSTGRES_HOST": "h", "POSTGRES_PORT": "5433",
        "POSTGRES_USER": "u", "POSTGRES_PASSWORD": "p",
        "POSTGRES_POOL_SIZE": "7", "POSTGRES_MAX_OVERFLOW": "7",
        "POSTGRES_CONNECT_TIMEOUT": "2", "POSTGRES_PRE_PING": "n",
        "POSTGRES_LOCK_TIMEOUT": "5", "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "10",
        "POSTGRES_SESSION_OPTIONS": "-c jit=off -c TimeZone=UTC"}


def test_a_unix_socket_url_names_the_socket_directory_as_host():
    env = eventsourcing_env("postgresql://postgres:@/postgres?host=/srv/tally/.tally/pg")

    assert {key: env[key] for key in ("POSTGRES_DBNAME", "POSTGRES_HOST", "POSTGRES_PORT",
                                      "POSTGRES_USER", "POSTGRES_PASSWORD")} == {
        "POSTGRES_DBNAME": "postgres", "POSTGRES_HOST": "/srv/tally/.tally/pg",
        "POSTGRES_PORT": "5432", "POSTGRES_USER": "postgres", "POSTGRES_PASSWORD": ""}


def test_percent_encoded_credentials_are_decoded():
    env = eventsourcing_env("postgres://app%40shop:p%2Fw@db.internal/ledger")

    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("app@shop", "p/w")


def test_the_database_functions_that_skip_the_table_lock_stay_off():
    assert "POSTGRES_ENABLE_DB_FUNCTIONS" not in eventsourcing_env("postgresql://h/db")


def test_a_url_option_the_event_store_would_drop_is_refused():
    with pytest.raises(ValueError, match="sslmode not supported.*PGSSLMODE"):
        eventsourcing_env("postgresql://h/db?sslmode=require")


def test_the_event_store_reaches_the_test_database_with_its_env(database_url):
    env = Environment("Ledger", eventsourcing_env(database_url, pool_size=1))
    datastore = PostgresFactory(env).datastore

    with datastore.get_connection() as conn:
        name = conn.execute("SELECT current_database() AS name").fetchone()["name"]
    datastore.close()

    assert name == psycopg.conninfo.conninfo_to_dict(database_url)["dbname"]


def test_the_read_pool_gives_autocommit_connections(database_url):
    with open_pool(database_url, size=2) as pool, pool.connection() as conn:
        assert conn.autocommit
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (
            len(SHIPPED),)


def _settings(conn: psycopg.Connection) -> tuple[str, str]:
    with conn.cursor(row_factory=tuple_row) as cursor:  # the event store's rows are dicts
        return cursor.execute("SELECT current_setting('jit'), current_setting('statement_timeout')"
                              ).fetchone()


def test_every_connection_tally_opens_has_jit_off_where_the_database_has_it_on(
        empty_database_url, monkeypatch):
    """A database copied from a template or restored from a dump has lost migration 0002's
    setting (an import ran 30 ms of JIT compiling per multi-id load there); the session
    option goes with every connection, after the user's own PGOPTIONS."""
    monkeypatch.setenv("PGOPTIONS", "-c statement_timeout=7000")
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{conn.info.dbname}" SET jit = on')
    with psycopg.connect(empty_database_url) as conn:
        assert _settings(conn) == ("on", "7s")
    ledger = Ledger(eventsourcing_env(empty_database_url, pool_size=1))
    try:
        with ledger.recorder.datastore.get_connection() as conn:
            assert _settings(conn) == ("off", "7s")
    finally:
        ledger.close()
    with open_pool(empty_database_url, size=1) as pool, pool.connection() as conn:
        assert _settings(conn) == ("off", "7s")
    with connect(empty_database_url) as conn:
        assert _settings(conn) == ("off", "7s")


def _zone(conn: psycopg.Connection) -> tuple[str, object]:
    with conn.cursor(row_factory=tuple_row) as cursor:
        name, moment = cursor.execute("SELECT current_setting('TimeZone'), "
                                      "'2026-03-01 02:00:00+00'::timestamptz").fetchone()
    return name, moment.tzinfo


def test_every_connection_tally_opens_reads_moments_in_utc_whatever_the_servers_zone(
        empty_database_url):
    """Moments read back carry the `timezone.utc` the facts carry (verify compares them with
    the facts' own, 20 times faster than across zones) and print alike in every answer."""
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{conn.info.dbname}" SET TimeZone = \'Asia/Shanghai\'')
    with psycopg.connect(empty_database_url) as conn:
        assert _zone(conn)[0] == "Asia/Shanghai"
    ledger = Ledger(eventsourcing_env(empty_database_url, pool_size=1))
    try:
        with ledger.recorder.datastore.get_connection() as conn:
            assert _zone(conn) == ("UTC", timezone.utc)
    finally:
        ledger.close()
    with open_pool(empty_database_url, size=1) as pool, pool.connection() as conn:
        assert _zone(conn) == ("UTC", timezone.utc)
    with connect(empty_database_url) as conn:
        assert _zone(conn) == ("UTC", timezone.utc)


def test_a_configured_database_url_is_used_as_given():
    settings = Settings(DATABASE_URL="postgresql://u@elsewhere/db", TALLY_API_KEYS="")

    assert database_url(settings) == "postgresql://u@elsewhere/db"


def test_the_embedded_server_refuses_a_data_dir_with_a_space(tmp_path):
    with pytest.raises(ValueError, match="a space in the path"):
        embedded_url(tmp_path / "my data" / "pg")


def test_a_run_with_a_skipped_test_fails(pytester):
    pytester.makeconftest((Path(__file__).parents[1] / "conftest.py").read_text())
    pytester.makepyfile("import pytest\n\ndef test_later():\n    pytest.skip('no database')\n")

    run = pytester.runpytest()

    run.assert_outcomes(skipped=1)
    assert run.ret == pytest.ExitCode.TESTS_FAILED
    run.stdout.fnmatch_lines(["*SKIPPED, which fails this run: *test_later*"])


def test_processes_opening_a_new_database_together_all_open_it(empty_database_url):
    """`tally serve`, `tally project` and `tally import` may start at the same moment on a new
    database; creating the event store's tables and functions at once made PostgreSQL refuse
    one of them ("tuple concurrently updated") and that process stopped."""
    from tally.bootstrap import start

    gate, opened, failures = threading.Barrier(4), [], []

    def open_ledger() -> None:
        gate.wait()
        try:
            opened.append(start(Settings(database_url=empty_database_url), read_side=True))
        except Exception as failure:  # noqa: BLE001 - the test names what went wrong
            failures.append(failure)

    racers = [threading.Thread(target=open_ledger) for _ in range(4)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    try:
        assert failures == []
        assert recorded(empty_database_url) == [(int(name[:4]), name) for name in SHIPPED]
        assert opened[0].ledger.program().version == 1
        assert {runtime.ledger.program().version for runtime in opened} == {1}
    finally:
        for runtime in opened:
            runtime.close()


JSONB = """SELECT '{"name": "key:till-7", "role": "pos", "request_id": null,
                   "note": "caf\\u00e9 \\u6536\\u94f6", "n": [1, 2.5, -3e2, true]}'::jsonb"""


def test_jsonb_reads_as_the_same_values_from_the_pool_and_from_a_connection(database_url):
    expected = {"name": "key:till-7", "role": "pos", "request_id": None,
                "note": "café 收银", "n": [1, 2.5, -300.0, True]}
    with open_pool(database_url, size=1) as pool, pool.connection() as conn:
        assert conn.execute(JSONB).fetchone()[0] == expected
    with connect(database_url) as conn:
        assert conn.execute(JSONB).fetchone()[0] == expected
