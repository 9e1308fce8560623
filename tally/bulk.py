"""Many aggregates loaded, and many facts inserted, in a few statements.

The library's repository reads one aggregate per query; a batch of 10,000 purchases would
spend most of its time there. `load_many` reads the latest snapshot of each id and the events
after it with `= ANY(...)`, then folds them with the library's own mapper and mutate methods.

The library inserts facts as one array of a composite type, which psycopg dumps as text in
Python (quoting every field, the state as hex): most of a bulk save's time went there.
`insert_facts` sends four arrays in binary instead (for facts and snapshots); rows, order and
ids are the same.
"""

from __future__ import annotations

import copy
import gc
import threading
from collections import OrderedDict, defaultdict
from contextlib import contextmanager
from typing import Any, Iterable, Iterator
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from psycopg import Cursor
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from tally.storage import once_more_on_broken

# LATERAL makes one primary-key probe per id; a plain join lets the planner scan the index,
# and DISTINCT ON read every snapshot a member ever had (one more every 25 facts of bulk work).
_LATEST_SNAPSHOTS = SQL(
    "SELECT s.* FROM unnest(%b::uuid[]) AS ids(id) CROSS JOIN LATERAL ("
    " SELECT originator_id, originator_version, topic, state FROM {table}"
    " WHERE originator_id = ids.id ORDER BY originator_version DESC LIMIT 1) AS s")
_EVENTS_AFTER = SQL(
    "SELECT e.* FROM unnest(%b::uuid[], %b::bigint[]) AS s(id, after) CROSS JOIN LATERAL ("
    " SELECT originator_id, originator_version, topic, state FROM {table}"
    " WHERE originator_id = s.id AND originator_version > s.after"
    " ORDER BY originator_version) AS e")
# Which of them have a fact after the version known: one key lookup each. Most ids of a bulk
# call have none (a new purchase's guard, a member or claim cached as saved), and the range
# scan above, asked for every id, cost PostgreSQL more: 2.0-2.5 against 1.3 us an id alone,
# 8.9 against 7.3 us of its CPU a row in an import by card (three ids a row).
_MOVED_ON = SQL(
    "SELECT s.id FROM unnest(%b::uuid[], %b::bigint[]) AS s(id, after) WHERE EXISTS ("
    " SELECT FROM {table} WHERE originator_id = s.id AND originator_version = s.after + 1)")

_INSERT_ROWS = ("INSERT INTO {table} (originator_id, originator_version, topic, state)"
                " SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[])")
_INSERT = {True: SQL(_INSERT_ROWS + " RETURNING notification_id"), False: SQL(_INSERT_ROWS)}


def insert_facts(cursor: Cursor, table: Identifier, stored: list[StoredEvent],
                 returning: bool = True) -> None:
    """Inserts the facts (or snapshots) in order; with `returning`, the cursor then returns
    their notification ids (a snapshots table has none)."""
    cursor.execute(_INSERT[returning].format(table=table),
                   ([e.originator_id for e in stored], [e.originator_version for e in stored],
                    [e.topic for e in stored], [e.state for e in stored]))


def _stored(rows: list[tuple]) -> list[StoredEvent]:
    return [StoredEvent(originator_id, version, topic, state)
            for originator_id, version, topic, state in rows]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while one bulk call runs.

    Bulk work allocates hundreds of thousands of objects that either live on (lots, cached
    members) or are freed by reference counting once saved; meanwhile the collector would
    traverse every cached member again and again, for nothing: 30-40% of a bulk post's time,
    measured. It runs as usual after the call.
    """
    if not gc.isenabled():  # paused already (another chunk), or by whoever runs the process
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class AggregateCache:
    """Private copies of the aggregates this process's bulk work last saved.

    `take` hands copies out (they leave the cache: the taker may change them); `keep`
    stores copies of aggregates just saved, and `give_back` those taken but left unchanged.
    The objects a save records go to the application's own cache, from which requests copy
    members while they are current; so bulk work must never go on changing one of them, and
    works on copies instead. Taken copies that are not given back (a save failed) are
    simply dropped.

    It keeps up to `maxsize` of each kind (members, identity claims), the least recently
    used going first: an import by card names a claim with every member, and with one limit
    for both, 67,000 members of a worker and their cards took turns pushing each other out
    and none was ever found again.
    """

    def __init__(self, maxsize: int = 100_000) -> None:
        self.maxsize = maxsize
        self.shelves: dict[type, OrderedDict[UUID, Any]] = defaultdict(OrderedDict)
        self.lock = threading.Lock()

    def take(self, ids: Iterable[UUID]) -> dict[UUID, Any]:
        ids, found = list(ids), {}
        for shelf in self.shelves.values():
            found.update({i: aggregate for i in ids
                          if (aggregate := shelf.pop(i, None)) is not None})
        return found

    def keep(self, saved: Iterable[Any], copying: bool = True) -> None:
        """Keeps aggregates just saved: copies of them, unless nothing else holds them."""
        self.give_back((copy.deepcopy(aggregate) for aggregate in saved) if copying else saved)

    def give_back(self, unchanged: Iterable[Any]) -> None:
        for aggregate in unchanged:
            shelf = self.shelves[type(aggregate)]
            shelf[aggregate.id] = aggregate
            shelf.move_to_end(aggregate.id)
            if len(shelf) > self.maxsize:
                shelf.popitem(last=False)

    def forget(self, ids: Iterable[UUID]) -> None:
        ids = list(ids)
        for shelf in self.shelves.values():
            for aggregate_id in ids:
                shelf.pop(aggregate_id, None)


class SnapshotMarks:
    """Members read from the store with facts since their latest snapshot: the version of
    that snapshot (0: none). Requests snapshot a member every 100 facts, so most members sit
    with dozens of facts since their last one, replayed on every cold read (each night's
    import, each read after a restart or an eviction); a save of a marked member snapshots
    it once it is `LAG` facts past its snapshot, and the mark goes. Bounded: past `limit`
    marks, all are dropped (they only save work)."""

    LAG = 25

    def __init__(self, limit: int = 400_000) -> None:
        self.versions: dict[UUID, int] = {}
        self.limit = limit

    def note(self, member_id: UUID, version: int, snapshot_version: int) -> None:
        if version > snapshot_version:
            if len(self.versions) >= self.limit:
                self.versions.clear()
            self.versions[member_id] = snapshot_version

    def lagging(self, member_id: UUID, version: int) -> bool:
        return version - self.versions.get(member_id, version) >= self.LAG

    def drop(self, member_ids: Iterable[UUID]) -> None:
        for member_id in member_ids:
            self.versions.pop(member_id, None)


def _read(app: Application, ids: list[UUID], unsnapshotted: list[UUID],
          known: dict[UUID, int]) -> tuple[list[StoredEvent], list[StoredEvent]]:
    """The latest snapshots of `unsnapshotted`, and the facts of `ids` after the version known
    (`known`, a snapshot's, or none), in binary tuples: as text, every state came over in hex,
    twice its size, into a dict."""
    recorder = app.recorder
    with recorder.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
        snapshots: list[StoredEvent] = []
        if unsnapshotted:
            table = Identifier(recorder.datastore.schema, app.snapshots.recorder.events_table_name)
            cursor.execute(_LATEST_SNAPSHOTS.format(table=table), (unsnapshotted,), binary=True)
            snapshots = _stored(cursor.fetchall())
        known = {**known, **{s.originator_id: s.originator_version for s in snapshots}}
        table = Identifier(recorder.datastore.schema, recorder.events_table_name)
        after = [known.get(i, 0) for i in ids]
        cursor.execute(_MOVED_ON.format(table=table), (ids, after), binary=True)
        moved = {row[0] for row in cursor.fetchall()}
        if not moved:
            return snapshots, []
        since = [(i, version) for i, version in zip(ids, after) if i in moved]
        cursor.execute(_EVENTS_AFTER.format(table=table),
                       ([i for i, _ in since], [version for _, version in since]), binary=True)
        return snapshots, _stored(cursor.fetchall())


def load_many(app: Application, ids: Iterable[UUID], cache: AggregateCache | None = None,
              snapshotted: bool = True, marks: SnapshotMarks | None = None) -> dict[UUID, Any]:
    """The current state of every aggregate among `ids` that exists (missing ids are absent);
    those in `cache` are taken from it and brought up to date. Guards and claims are never
    snapshotted: without `snapshotted`, the snapshots table is not asked for them (a chunk's
    thousand new purchase ids were looked up there too, the table scanned where unanalysed).
    `marks` learns how far each aggregate read from the store is past its snapshot."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return {}
    found: dict[UUID, Any] = cache.take(ids) if cache is not None else {}
    missing = [i for i in ids if i not in found]
    known = {i: found[i].version for i in found}
    snapshots, rows = once_more_on_broken(app.recorder.datastore.pool, _read)(
        app, ids, missing if snapshotted and app.snapshots is not None else [], known)
    snapshot_at: dict[UUID, int] = {}
    for snapshot in snapshots:
        found[snapshot.originator_id] = app.mapper.to_domain_event(snapshot).mutate(None)
        snapshot_at[snapshot.originator_id] = snapshot.originator_version
    events: dict[UUID, list[Any]] = defaultdict(list)
    for row in rows:
        events[row.originator_id].append(app.mapper.to_domain_event(row))
    for aggregate_id, stream in events.items():
        aggregate = found.get(aggregate_id)
        for event in stream:
            aggregate = event.mutate(aggregate)
        found[aggregate_id] = aggregate
    if marks is not None:
        for aggregate_id in (i for i in missing if i in found):
            marks.note(aggregate_id, found[aggregate_id].version, snapshot_at.get(aggregate_id, 0))
    return found
