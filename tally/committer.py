"""Group commit: the facts of concurrent commands saved in one transaction.

PostgreSQL's event store takes a table lock for every save, and a save's thread then waits
for Python's GIL while the lock is held, so concurrent requests queue behind each other.
Here the request threads hand their new facts to one committer thread, which records
whatever has gathered in a single transaction (one lock). If that transaction is refused
(two commands raced on one aggregate), each request's facts are recorded alone, so every
request still gets exactly the answer a save of its own would have given it.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from concurrent.futures import Future
from typing import Any, Callable

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError

MAX_GROUP = 200


class GroupCommitter:
    def __init__(self, record: Callable[[ProcessingEvent], Any]) -> None:
        self.record = record
        self.waiting: queue.SimpleQueue[tuple[ProcessingEvent, Future] | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self.thread.start()

    def commit(self, facts: ProcessingEvent) -> Any:
        """Records `facts` with whatever else is waiting; raises what recording them raised."""
        if threading.current_thread() is self.thread:
            return self.record(facts)
        done: Future = Future()
        self.waiting.put((facts, done))
        return done.result()

    async def commit_soon(self, facts: ProcessingEvent) -> Any:
        """`commit` for a coroutine: waits for the group on the event loop, holding no thread.

        A coroutine cancelled meanwhile (a server shutting down) stops waiting, but its facts
        are recorded with their group all the same: the committer never sees a cancelled
        request, and a client's retry replays the answer."""
        done: Future = Future()
        self.waiting.put((facts, done))
        return await asyncio.shield(asyncio.wrap_future(done))

    def close(self) -> None:
        self.waiting.put(None)
        self.thread.join(timeout=5)

    def _run(self) -> None:
        while (first := self.waiting.get()) is not None:
            group = [first]
            while len(group) < MAX_GROUP:
                try:
                    item = self.waiting.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self.waiting.put(None)
                    break
                group.append(item)
            try:
                self._commit(group)
            except BaseException as failure:  # a bug here must not leave requests waiting for ever
                for _, done in group:
                    if not done.done():
                        done.set_exception(failure)

    def _commit(self, group: list[tuple[ProcessingEvent, Future]]) -> None:
        if len(group) == 1:
            return self._alone(*group[0])
        together = ProcessingEvent()
        for facts, _ in group:
            together.events += facts.events
            together.aggregates.update(facts.aggregates)
        try:
            recordings = self.record(together)
        except IntegrityError:
            for facts, done in group:
                self._alone(facts, done)
            return None
        except BaseException as failure:  # the database is away: every request hears it
            for _, done in group:
                done.set_exception(failure)
            return None
        by_id = {id(r.domain_event): r for r in recordings}
        for facts, done in group:
            done.set_result([by_id[id(event)] for event in facts.events if id(event) in by_id])
        return None

    def _alone(self, facts: ProcessingEvent, done: Future) -> None:
        try:
            done.set_result(self.record(facts))
        except BaseException as failure:
            done.set_exception(failure)
