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


class MemberLocks:
    """One lock per member id in this process, so its commands never race each other here.

    Plain locks, not re-entrant ones: a coroutine on the event loop may hold one across an
    await (`try_hold`), and another coroutine on that same thread must then find it taken.
    No use case takes the lock of a member it already holds.
    """

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
        self._guard = threading.Lock()

    def _lock(self, key: str) -> Any:
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = threading.Lock()
            return lock

    def try_hold(self, member_id: Any) -> Any | None:
        """The member's lock, taken, if no one holds it; None (and nothing taken) otherwise."""
        lock = self._lock(str(member_id))
        return lock if lock.acquire(blocking=False) else None

    @contextmanager
    def holding(self, *member_ids: Any) -> Iterator[None]:
        """Holds the locks of every member named, taken in a fixed order (no deadlock)."""
        locks = [self._lock(str(member_id)) for member_id in sorted({str(m) for m in member_ids})]
        for lock in locks:
            lock.acquire()
        try:
            yield
        finally:
            for lock in reversed(locks):
                lock.release()
