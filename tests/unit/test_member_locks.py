"""Per-member locks shared by request threads and coroutines on the event loop."""

from __future__ import annotations

import threading
import time

from tally.guarding import MemberLocks


def test_a_member_taken_by_a_coroutine_is_refused_to_another_and_waited_for_by_a_thread():
    locks = MemberLocks()
    held = locks.try_hold("m-1")
    assert held is not None
    assert locks.try_hold("m-1") is None  # same thread, as another coroutine would be
    assert locks.try_hold("m-2") is not None

    order = []

    def thread_request():
        with locks.holding("m-1"):
            order.append("thread")

    waiter = threading.Thread(target=thread_request)
    waiter.start()
    time.sleep(0.05)
    order.append("coroutine done")
    held.release()
    waiter.join(timeout=5)

    assert order == ["coroutine done", "thread"]
    assert locks.try_hold("m-1") is not None


def test_a_coroutine_does_not_jump_ahead_of_a_thread_waiting_for_the_member():
    locks = MemberLocks()
    first = locks.try_hold("m-1")
    done = threading.Event()

    def thread_request():
        with locks.holding("m-1"):
            done.wait(5)

    waiter = threading.Thread(target=thread_request)
    waiter.start()
    deadline = time.monotonic() + 5
    while locks._lock("m-1").waiting == 0 and time.monotonic() < deadline:
        time.sleep(0.001)

    assert locks.try_hold("m-1") is None  # held, and a thread is waiting
    first.release()
    deadline = time.monotonic() + 5
    while locks._lock("m-1").waiting and time.monotonic() < deadline:
        time.sleep(0.001)
    assert locks.try_hold("m-1") is None  # now the thread holds it
    done.set()
    waiter.join(timeout=5)
    assert locks.try_hold("m-1") is not None
