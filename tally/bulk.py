"""Loading many aggregates in two queries, for batch posting and ticks.

The library's repository reads one aggregate per query; a batch of 10,000 purchases would
spend most of its time there. This reads the latest snapshot of each id and the events after
it with `= ANY(...)`, then folds them with the library's own mapper and mutate methods.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from psycopg.sql import SQL, Identifier

_LATEST_SNAPSHOTS = SQL(
    "SELECT DISTINCT ON (originator_id) originator_id, originator_version, topic, state "
    "FROM {table} WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version DESC")
_EVENTS_AFTER = SQL(
    "SELECT e.originator_id, e.originator_version, e.topic, e.state FROM {table} e "
    "JOIN unnest(%s::uuid[], %s::bigint[]) AS s(id, after) ON e.originator_id = s.id "
    "AND e.originator_version > s.after ORDER BY e.originator_id, e.originator_version")


def _stored(row: dict[str, Any]) -> StoredEvent:
    return StoredEvent(originator_id=row["originator_id"],
                       originator_version=row["originator_version"],
                       topic=row["topic"], state=bytes(row["state"]))


def load_many(app: Application, ids: Iterable[UUID]) -> dict[UUID, Any]:
    """The current state of every aggregate among `ids` that exists (missing ids are absent)."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return {}
    recorder = app.recorder
    found: dict[UUID, Any] = {}
    with recorder.datastore.transaction(commit=False) as cursor:
        if app.snapshots is not None:
            table = Identifier(recorder.datastore.schema, app.snapshots.recorder.events_table_name)
            cursor.execute(_LATEST_SNAPSHOTS.format(table=table), (ids,))
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
    return found
