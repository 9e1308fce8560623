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
Waiter = Any  # a concurrent.futures.Future (a thread waits) or a LoopAnswer (a coroutine)


class GroupCommitter:
    def __init__(self, record: Callable[[ProcessingEvent], Any]) -> None:
        self.record = record
        self.waiting: queue.SimpleQueue[tuple[ProcessingEvent, Waiter] | None] = queue.SimpleQueue()
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
        answer = LoopAnswer(asyncio.get_running_loop())
        self.waiting.put((facts, answer))
        return await asyncio.shield(answer.future)

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
            LoopAnswer.hand_over([done for _, done in group if isinstance(done, LoopAnswer)])

    def _commit(self, group: list[tuple[ProcessingEvent, Waiter]]) -> None:
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

    def _alone(self, facts: ProcessingEvent, done: Waiter) -> None:
        try:
            done.set_result(self.record(facts))
        except BaseException as failure:
            done.set_exception(failure)


class LoopAnswer:
    """A coroutine's answer, set on the committer's thread like a Future's and handed to its
    event loop with the rest of its group: one wake-up of the loop per group, not one per
    request (waking a loop writes to its pipe: 16% of the committer's CPU, bench/)."""

    __slots__ = ("loop", "future", "outcome")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.future = loop, loop.create_future()
        self.outcome: tuple[bool, Any] | None = None

    def set_result(self, value: Any) -> None:
        self.outcome = (True, value)

    def set_exception(self, failure: BaseException) -> None:
        self.outcome = (False, failure)

    def done(self) -> bool:
        return self.outcome is not None

    @staticmethod
    def hand_over(answers: list[LoopAnswer]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[LoopAnswer]] = {}
        for answer in answers:
            by_loop.setdefault(answer.loop, []).append(answer)
        for loop, theirs in by_loop.items():
            try:
                loop.call_soon_threadsafe(LoopAnswer._deliver, theirs)
            except RuntimeError:  # the loop has closed: no one is waiting any more
                pass

    @staticmethod
    def _deliver(answers: list[LoopAnswer]) -> None:
        for answer in answers:
            if answer.future.cancelled():
                continue
            succeeded, value = answer.outcome  # type: ignore[misc]  # set by _run
            if succeeded:
                answer.future.set_result(value)
            else:
                answer.future.set_exception(value)
