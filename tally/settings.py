"""One settings object, read from the environment once at start-up (never at import)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROLES = frozenset({"pos", "support", "finance", "admin"})


def parse_api_keys(text: str) -> dict[str, frozenset[str]]:
    """Comma-separated `role:key` pairs → key → roles; a key listed under several roles holds
    them all. Raises ValueError for an unknown role or a pair without a key (never echoing
    a key: error messages end up in logs)."""
    roles: dict[str, set[str]] = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        role, _, key = (piece.strip() for piece in pair.partition(":"))
        if role not in ROLES:
            raise ValueError(f"TALLY_API_KEYS: unknown role {role!r}; roles are {sorted(ROLES)}")
        if not key:
            raise ValueError(f"TALLY_API_KEYS: a {role!r} pair has no key (expected role:key)")
        roles.setdefault(key, set()).add(role)
    return {key: frozenset(held) for key, held in roles.items()}


class Settings(BaseSettings):
    """Environment: DATABASE_URL, TALLY_DATA_DIR, TALLY_API_KEYS, TALLY_POOL_SIZE,
    TALLY_BATCH_WORKERS.
    Fields may also be given by name (`Settings(pool_size=4)`)."""

    model_config = SettingsConfigDict(
        validate_by_name=True, validate_by_alias=True, hide_input_in_errors=True)

    database_url: str | None = Field(default=None, alias="DATABASE_URL", repr=False)
    data_dir: Path = Field(default=Path(".tally"), alias="TALLY_DATA_DIR")
    api_keys: str = Field(default="", alias="TALLY_API_KEYS", repr=False)
    pool_size: int = Field(default=10, gt=0, alias="TALLY_POOL_SIZE")
    # processes posting `tally serve`'s batches (tally/batch_workers.py); 0: its own threads
    batch_workers: int = Field(default=1, ge=0, le=8, alias="TALLY_BATCH_WORKERS")

    @field_validator("api_keys")
    @classmethod
    def _known_roles_only(cls, value: str) -> str:
        parse_api_keys(value)  # refuse a bad TALLY_API_KEYS at start-up, not at the first request
        return value

    def roles_by_key(self) -> dict[str, frozenset[str]]:
        return parse_api_keys(self.api_keys)
