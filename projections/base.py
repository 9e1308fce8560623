"""What every read model shares: a tracking view and batch folding over member facts."""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable

import orjson
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg import Cursor

from domain.statement import Movement


@dataclass(frozen=True)
class Fact:
    """A member fact (an event of `domain.member.Member`) with its place in the ledger's
    global order and the points it moves (None: none), worked out once for every read model."""

    position: int
    event: Any
    moved: Movement | None


class StalePosition(Exception):
    """Another writer moved the read model's position since this one read it."""


def writing_lock(name: str) -> int:
    """The transaction-level advisory lock every write to read model `name` takes first."""
    return zlib.crc32(f"tally-projection-write:{name}".encode())


# Waits for the read model's other writers. A read model commits without waiting for its WAL
# flush: after a crash its rows and its position are lost together, and replayed.
_TAKE_TURN = "SELECT pg_advisory_xact_lock(%s), set_config('synchronous_commit', 'off', true)"


class ReadModelView(PostgresTrackingRecorder):
    """A read table's tracking position, written in the same transaction as its rows."""

    def write(self, projection: ReadModel, facts: list[Fact], tracking: Tracking,
              after: int) -> None:
        """Folds the facts that follow position `after` and moves the position to the tracking's.

        Writers of one read model take turns, and each first checks that the position is still
        `after`: a batch is applied once even if two workers (or a rebuild) overlap.
        """
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(_TAKE_TURN, (writing_lock(projection.name),))
            held = self._max_tracking_id(tracking.application_name, cursor) or 0
            if held != after:
                raise StalePosition(f"{projection.name} is at {held}, not {after}")
            if facts:
                projection.fold(cursor, facts)
            self._insert_tracking(cursor, tracking)


class ReadModel(ABC):
    """Folds batches of facts into one read table; subclasses name their tables."""

    name: ClassVar[str]  # the read model, and `<name>_tracking` its tracking table
    tables: ClassVar[tuple[str, ...]]

    def view(self, datastore: PostgresDatastore) -> ReadModelView:
        view = ReadModelView(datastore, tracking_table_name=f"{self.name}_tracking")
        view.create_table()
        return view

    @abstractmethod
    def fold(self, cursor: Cursor, facts: list[Fact]) -> None:
        """Applies the facts (in order) to the table's rows through `cursor`."""


def member_ids(facts: Iterable[Fact]) -> list[Any]:
    return list(dict.fromkeys(fact.event.originator_id for fact in facts))


def upsert_rows(table: str, columns: Iterable[str], key: tuple[str, ...]) -> str:
    """A statement writing a whole batch of rows (`as_json`) in one go; rows whose key exists
    are updated. A batch must name each key once."""
    columns = tuple(columns)
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in columns if column not in key)
    return (f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} "
            f"FROM json_populate_recordset(NULL::{table}, %s::json) "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}")


def as_json(rows: Iterable[dict[str, Any]]) -> str:
    """Rows (dicts keyed by column) as one JSON array, a batch parameter of one statement:
    one round trip, parsed by the server, with none of psycopg's per-value adapting."""
    return orjson.dumps(list(rows)).decode()
