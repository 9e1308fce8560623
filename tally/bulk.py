"""Many aggregates loaded, and many facts inserted, in a few statements.

The library's repository reads one aggregate per query; a batch of 10,000 purchases would
spend most of its time there. `load_many` reads the latest snapshot of each id and the events
after it with `= ANY(...)`, then folds them with the library's own mapper and mutate methods.

The library inserts facts as one array of a composite type, which psycopg dumps as text in
Python (quoting every field, the state as hex): most of a bulk save's time went there.
`insert_facts` sends four arrays in binary instead; rows, order and ids are the same.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from typing import Any, Iterable
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from psycopg import Cursor
from psycopg.sql import SQL, Identifier

_LATEST_SNAPSHOTS = SQL(
    "SELECT DISTINCT ON (originator_id) originator_id, originator_version, topic, state "
    "FROM {table} WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version DESC")
# LATERAL makes one primary-key probe per id; a plain join lets the planner scan the index.
_EVENTS_AFTER = SQL(
    "SELECT e.* FROM unnest(%s::uuid[], %s::bigint[]) AS s(id, after) CROSS JOIN LATERAL ("
    " SELECT originator_id, originator_version, topic, state FROM {table}"
    " WHERE originator_id = s.id AND originator_version > s.after"
    " ORDER BY originator_version) AS e")

_INSERT_FACTS = SQL(
    "INSERT INTO {table} (originator_id, originator_version, topic, state)"
    " SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[])"
    " RETURNING notification_id")


def insert_facts(cursor: Cursor, table: Identifier, stored: list[StoredEvent]) -> None:
    """Inserts the facts in order; the cursor then returns their notification ids."""
    cursor.execute(_INSERT_FACTS.format(table=table),
                   ([e.originator_id for e in stored], [e.originator_version for e in stored],
                    [e.topic for e in stored], [e.state for e in stored]))


def _stored(row: dict[str, Any]) -> StoredEvent:
    return StoredEvent(originator_id=row["originator_id"],
                       originator_version=row["originator_version"],
                       topic=row["topic"], state=bytes(row["state"]))


class AggregateCache:
    """Aggregates as last saved by this process's bulk work, fast-forwarded before each use.

    Only bulk work uses it, one unit of work at a time (`lock`): it hands out its own objects,
    so whoever changes one must `keep` it after a successful save or `forget` it otherwise.
    """

    def __init__(self, maxsize: int = 100_000) -> None:
        self.maxsize, self.items = maxsize, OrderedDict()
        self.lock = threading.Lock()

    def keep(self, aggregates: Iterable[Any]) -> None:
        for aggregate in aggregates:
            self.items[aggregate.id] = aggregate
            self.items.move_to_end(aggregate.id)
        while len(self.items) > self.maxsize:
            self.items.popitem(last=False)

    def forget(self, ids: Iterable[UUID]) -> None:
        for aggregate_id in ids:
            self.items.pop(aggregate_id, None)


def load_many(app: Application, ids: Iterable[UUID],
              cache: AggregateCache | None = None) -> dict[UUID, Any]:
    """The current state of every aggregate among `ids` that exists (missing ids are absent)."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return {}
    recorder = app.recorder
    found: dict[UUID, Any] = {i: cache.items[i] for i in ids if cache and i in cache.items}
    missing = [i for i in ids if i not in found]
    with recorder.datastore.transaction(commit=False) as cursor:
        if app.snapshots is not None and missing:
            table = Identifier(recorder.datastore.schema, app.snapshots.recorder.events_table_name)
            cursor.execute(_LATEST_SNAPSHOTS.format(table=table), (missing,))
            for row in cursor.fetchall():
                found[row["originator_id"]] = app.mapper.to_domain_event(_stored(row)).mutate(None)
        table = Identifier(recorder.datastore.schema, recorder.events_table_name)
        after = [found[i].version if i in found else 0 for i in ids]
        cursor.execute(_EVENTS_AFTER.format(table=table), (ids, after))
        rows = cursor.fetchall()
    events: dict[UUID, list[Any]] = defaultdict(list)
    for row in rows:
        events[row["originator_id"]].append(app.mapper.to_domain_event(_stored(row)))
    for aggregate_id, stream in events.items():
        aggregate = found.get(aggregate_id)
        for event in stream:
            aggregate = event.mutate(aggregate)
        found[aggregate_id] = aggregate
    if cache is not None:
        cache.keep(found.values())
    return found
