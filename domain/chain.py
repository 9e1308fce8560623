"""The hash chain over a member's facts: each fact names its own hash and the one before it.

A fact's hash covers its type, its aggregate and version and every stored field except the
hash itself, in a canonical encoding (sorted keys, decimals as strings), so the same hash can
be recomputed from the stored row: an edited or deleted fact no longer matches.
"""

from __future__ import annotations

import functools
import hashlib
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson

_NOT_HASHED = frozenset(("fact_hash", "originator_topic", "originator_id", "originator_version"))


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot hash {type(value).__name__}")


_text = functools.lru_cache(maxsize=65_536)(str)  # a member's id is hashed into each of its facts


def fact_hash(fact_type: str, member_id: UUID, version: int, state: dict[str, Any]) -> str:
    """SHA-256 of a fact's canonical encoding; `state` is its stored fields."""
    body = state
    if not _NOT_HASHED.isdisjoint(state):  # a stored fact; a new one has none of them yet
        body = {key: value for key, value in state.items() if key not in _NOT_HASHED}
    payload = orjson.dumps(
        [fact_type, _text(member_id), version, body], default=_default, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(payload).hexdigest()
