"""Finance reads of the ledger (contract §6): entry pages and full exports, the summary with
its balance identity, and how far the read models have caught up.

They read the projected tables, which may trail the latest write by a moment;
`read_position` says up to which notification id they are complete. `pool` is anything
with a `connection()` context manager giving a psycopg connection (the read pool).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterator
from uuid import UUID

from domain.errors import InvalidInput
from projections import queries
from projections.runner import READ_MODELS
from tally.storage import open_pool

EXPORT_COLUMNS = queries.ENTRY_COLUMNS
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_opening = threading.Lock()


def read_pool(runtime: Any) -> Any:
    """The runtime's pool for read-model queries (`extras["read_pool"]`), opened on first
    use and closed with the runtime."""
    with _opening:
        pool = runtime.extras.get("read_pool")
        if pool is None:
            pool = runtime.extras["read_pool"] = open_pool(runtime.url)
            runtime.extras.setdefault("closers", []).append(pool.close)
        return pool


@dataclass(frozen=True)
class EntryFilter:
    """Which entries: one member's, recorded in [since, until), after a position."""

    member_id: UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    after: int | None = None

    def arguments(self) -> dict[str, Any]:
        return {"member_id": self.member_id, "since": self.since, "until": self.until,
                "after": self.after}


def entry_body(row: dict[str, Any]) -> dict[str, Any]:
    """A ledger_entries row in the contract's shape (`reference` as {"type", "id"})."""
    body = {}
    for name in queries.ENTRY_COLUMNS:
        if name == "reference_type":
            body["reference"] = {"type": row["reference_type"], "id": row["reference_id"]}
        elif name != "reference_id":
            body[name] = row[name]
    body["member_id"] = str(row["member_id"])
    return body


def entries_page(pool: Any, which: EntryFilter, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """{"entries", "next_after"}: `next_after` is the position to ask after next, None at the end.

    Raises InvalidInput for a limit outside 1..MAX_LIMIT."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", f"must be between 1 and {MAX_LIMIT}")
    with pool.connection() as conn:
        rows = queries.entries_page(conn, limit + 1, **which.arguments())
    entries = [entry_body(row) for row in rows[:limit]]
    return {"entries": entries, "next_after": entries[-1]["position"] if len(rows) > limit else None}


def entries_export(pool: Any, which: EntryFilter) -> Iterator[list[tuple]]:
    """Every matching entry in position order, in batches of tuples in EXPORT_COLUMNS order
    (values as text: times RFC 3339 UTC, actor JSON): memory stays flat. Holds one pooled
    connection until exhausted or closed."""
    with pool.connection() as conn:
        yield from queries.entries_batches(conn, **which.arguments())


def ledger_summary(pool: Any, as_of: datetime | None, now: datetime) -> dict[str, Any]:
    """Flows and balances as recorded at `as_of` (default: now), and whether they agree:
    issued + adjusted − redeemed − expired − clawed_back = available + pending − debt."""
    with pool.connection() as conn, queries.snapshot(conn):
        flows = queries.flow_sums(conn, as_of)
        balances = queries.balance_sums(conn, as_of)
        members = queries.members_counted(conn, as_of)
    moved = (flows["issued"] + flows["adjusted"] - flows["redeemed"] - flows["expired"]
             - flows["clawed_back"])
    held = balances["available"] + balances["pending"] - balances["debt"]
    return {"as_of": as_of or now, "members": members, **balances, **flows,
            "balanced": moved == held}


def read_position(pool: Any) -> int:
    """The notification id up to which every read model is complete."""
    with pool.connection() as conn:
        return queries.read_position(conn, (model.name for model in READ_MODELS))


def read_side_waiter(runtime: Any) -> Callable[[], Any] | None:
    """How to wait for the read side running in this process to catch up, if one runs."""
    read_side = runtime.extras.get("read_side")
    return None if read_side is None else read_side.wait_until_caught_up


def wait_for_read_models(pool: Any, head: int, patience: float = 2.0) -> int:
    """Waits while the read models are behind notification `head` and still moving (a read
    side in another process is catching up); returns the position they reached."""
    reached, moved_at = -1, time.monotonic()
    while (position := read_position(pool)) < head:
        if position != reached:
            reached, moved_at = position, time.monotonic()
        elif time.monotonic() - moved_at > patience:
            break
        time.sleep(0.05)
    return position
