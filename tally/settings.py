"""One settings object, read from the environment once at start-up (never at import)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROLES = ("pos", "support", "finance", "admin")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    data_dir: Path = Field(default=Path(".tally"), alias="TALLY_DATA_DIR")
    api_keys: str = Field(default="", alias="TALLY_API_KEYS")
    pool_size: int = Field(default=10, alias="TALLY_POOL_SIZE")

    def roles_by_key(self) -> dict[str, frozenset[str]]:
        """`role:key` pairs, comma-separated; a key listed under several roles holds them all."""
        roles: dict[str, set[str]] = {}
        for pair in filter(None, (part.strip() for part in self.api_keys.split(","))):
            role, _, key = pair.partition(":")
            if role not in ROLES or not key:
                raise ValueError(f"TALLY_API_KEYS: {pair!r} is not role:key with a role in {ROLES}")
            roles.setdefault(key, set()).add(role)
        return {key: frozenset(held) for key, held in roles.items()}
