"""The ledger's member facts in batches, read and decoded once for all the read models of a
process.

A batch after position p covers the notification ids (p, boundary], boundary the next multiple
of the batch size (or the newest id, if lower), so read models at different positions fall into
step after one batch and then ask for the same batches. Notification ids become visible in
order (the event store inserts under a table lock): every id up to the newest one seen is
there to be read, so a batch ends at its boundary (whatever topic that id has) and only the
member facts in it are fetched. Every batch read is kept for the other read models, even one
short of its boundary (the newest id then): stored facts never change, so it stays true, and
read models polling side by side read a live ledger's facts once, not once each.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from domain.member import Member
from domain.statement import movement
from projections.base import Fact

MEMBER_TOPICS = sorted(get_topic(kind) for kind in vars(Member).values()
                       if isinstance(kind, type) and issubclass(kind, Member.Event))


@dataclass(frozen=True)
class Batch:
    """The member facts after a position, up to `last` (the notification id they reach, of
    whatever topic)."""

    facts: list[Fact]
    last: int


class Feed:
    def __init__(self, ledger: Any, size: int = 500, kept: int = 64) -> None:
        self.ledger, self.size, self.kept = ledger, size, kept
        self.batches: OrderedDict[int, Future] = OrderedDict()  # by the position they follow
        self.lock = threading.Lock()

    def after(self, position: int) -> Batch | None:
        """The next batch after `position`, or None when nothing new has been stored."""
        with self.lock:
            loading = self.batches.get(position)
            mine = loading is None
            if mine:
                loading = self.batches[position] = Future()
                while len(self.batches) > self.kept:
                    self.batches.popitem(last=False)
        if not mine:
            return loading.result()
        try:
            batch = self._read(position)
        except BaseException as failure:
            self._forget(position)
            loading.set_exception(failure)
            raise
        if batch is None:
            self._forget(position)
        loading.set_result(batch)
        return batch

    def _read(self, position: int) -> Batch | None:
        recorder = self.ledger.recorder
        newest = recorder.max_notification_id() or 0
        if newest <= position:
            return None
        last = min(self._boundary(position), newest)
        # binary, as tuples: half the cost of the library's select_notifications per row
        with recorder.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(self._select, (position, last, MEMBER_TOPICS), binary=True,
                           prepare=True)
            rows = cursor.fetchall()
        decode, facts = self.ledger.mapper.to_domain_event, []
        for notification_id, originator_id, version, topic, state in rows:
            event = decode(StoredEvent(originator_id, version, topic, state))
            facts.append(Fact(notification_id, event, movement(event)))
        return Batch(facts, last)

    @cached_property
    def _select(self) -> Composed:
        recorder = self.ledger.recorder
        return SQL("SELECT notification_id, originator_id, originator_version, topic, state "
                   "FROM {events} WHERE notification_id > %s AND notification_id <= %s "
                   "AND topic = ANY(%s) ORDER BY notification_id").format(
            events=Identifier(recorder.datastore.schema, recorder.events_table_name))

    def _boundary(self, position: int) -> int:
        return (position // self.size + 1) * self.size

    def _forget(self, position: int) -> None:
        with self.lock:
            self.batches.pop(position, None)
