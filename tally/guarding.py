"""Idempotency and concurrency for use cases: request digests, retries, per-member locks."""

from __future__ import annotations

import hashlib
import random
import threading
import time
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, TypeVar

import orjson
from eventsourcing.persistence import IntegrityError

from domain.errors import Busy, IdempotencyConflict

T = TypeVar("T")
ATTEMPTS = 12


@dataclass(frozen=True)
class Outcome:
    """A use case's answer: the response body, and whether it replays an earlier write."""

    body: dict[str, Any]
    replayed: bool = False


def digest(request: dict[str, Any]) -> str:
    """Hash of a request's JSON values, whatever the key order."""
    return hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS)).hexdigest()


def check_replay(stored_hash: str, request_hash: str, what: str) -> None:
    if stored_hash != request_hash:
        raise IdempotencyConflict(f"{what} was already used with a different body")


def retrying(attempt: Callable[[], T]) -> T:
    """Runs `attempt` again when a concurrent write won the race (bounded, with jitter)."""
    for number in range(ATTEMPTS):
        try:
            return attempt()
        except IntegrityError:
            time.sleep(random.uniform(0, 0.002 * (number + 1)))
    raise Busy("the member was changed concurrently; retry the request")


class _MemberLock:
    """A member's lock, and how many threads are waiting for it."""

    __slots__ = ("lock", "waiting", "__weakref__")

    def __init__(self) -> None:
        self.lock, self.waiting = threading.Lock(), 0

    def release(self) -> None:
        self.lock.release()


class MemberLocks:
    """One lock per member id in this process, so its commands never race each other here.

    Plain locks, not re-entrant ones: a coroutine on the event loop may hold one across an
    await (`try_hold`), and another coroutine on that same thread must then find it taken.
    No use case takes the lock of a member it already holds.
    """

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, _MemberLock] = weakref.WeakValueDictionary()
        self._guard = threading.Lock()

    def _lock(self, key: str) -> _MemberLock:
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = _MemberLock()
            return lock

    def try_hold(self, member_id: Any) -> _MemberLock | None:
        """The member's lock, taken, if no one holds it or waits for it; None (and nothing
        taken) otherwise. A caller that is refused waits in `holding` with the others: for a
        busy member, a coroutine taking every free moment could keep them waiting for ever."""
        member = self._lock(str(member_id))
        if member.waiting or not member.lock.acquire(blocking=False):
            return None
        return member  # the holder keeps it alive: only weakly kept here

    @contextmanager
    def holding(self, *member_ids: Any) -> Iterator[None]:
        """Holds the locks of every member named, taken in a fixed order (no deadlock)."""
        members = [self._lock(str(m)) for m in sorted({str(m) for m in member_ids})]
        for member in members:
            with self._guard:
                member.waiting += 1
            try:
                member.lock.acquire()
            finally:
                with self._guard:
                    member.waiting -= 1
        try:
            yield
        finally:
            for member in reversed(members):
                member.lock.release()
