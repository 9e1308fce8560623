"""Settings come from the environment; a bad TALLY_API_KEYS stops the start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from tally.settings import Settings


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("DATABASE_URL", "TALLY_DATA_DIR", "TALLY_API_KEYS", "TALLY_POOL_SIZE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_without_environment_the_ledger_runs_embedded_under_dot_tally(environ):
    settings = Settings()

    assert (settings.database_url, settings.data_dir, settings.pool_size) == (
        None, Path(".tally"), 10)
    assert settings.roles_by_key() == {}


def test_each_setting_is_read_from_its_environment_variable(environ):
    environ.setenv("DATABASE_URL", "postgresql://u:p@h:5433/db")
    environ.setenv("TALLY_DATA_DIR", "/var/lib/tally")
    environ.setenv("TALLY_POOL_SIZE", "4")

    settings = Settings()

    assert (settings.database_url, settings.data_dir, settings.pool_size) == (
        "postgresql://u:p@h:5433/db", Path("/var/lib/tally"), 4)


def test_a_key_listed_under_two_roles_holds_both(environ):
    environ.setenv("TALLY_API_KEYS", "pos:k1,admin:k2,support:k2")

    assert Settings().roles_by_key() == {
        "k1": frozenset({"pos"}), "k2": frozenset({"admin", "support"})}


def test_spaces_around_pairs_roles_and_keys_are_ignored(environ):
    environ.setenv("TALLY_API_KEYS", " pos : k1 , ,finance:k3 ")

    assert Settings().roles_by_key() == {"k1": frozenset({"pos"}), "k3": frozenset({"finance"})}


def test_an_unknown_role_is_refused_at_start_up_without_echoing_the_key(environ):
    environ.setenv("TALLY_API_KEYS", "pos:k1,boss:secret-k9")

    with pytest.raises(ValueError, match="unknown role 'boss'") as refused:
        Settings()
    assert "secret-k9" not in str(refused.value)


def test_a_pair_without_a_key_is_refused(environ):
    environ.setenv("TALLY_API_KEYS", "admin")

    with pytest.raises(ValueError, match="'admin' pair has no key"):
        Settings()


def test_a_pool_of_no_connections_is_refused(environ):
    environ.setenv("TALLY_POOL_SIZE", "0")

    with pytest.raises(ValueError, match="pool_size|TALLY_POOL_SIZE"):
        Settings()
