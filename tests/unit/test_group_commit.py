"""The group committer: concurrent facts recorded together, answers to each request."""

from __future__ import annotations

import asyncio
import threading

from eventsourcing.application import ProcessingEvent

from tally.committer import GroupCommitter


def facts(*names: str) -> ProcessingEvent:
    gathered = ProcessingEvent()
    gathered.events += list(names)
    return gathered


def test_a_cancelled_waiter_does_not_stop_the_committer_and_its_facts_are_recorded():
    recorded, release = [], threading.Event()

    def record(group: ProcessingEvent) -> list:
        release.wait(5)
        recorded.append(list(group.events))
        return []

    committer = GroupCommitter(record)

    async def cancel_while_waiting():
        waiting = asyncio.ensure_future(committer.commit_soon(facts("first")))
        await asyncio.sleep(0.05)
        waiting.cancel()
        try:
            await waiting
        except asyncio.CancelledError:
            return "cancelled"

    try:
        assert asyncio.run(cancel_while_waiting()) == "cancelled"
        release.set()
        second = asyncio.wait_for(committer.commit_soon(facts("second")), timeout=5)
        assert asyncio.run(second) == []
        assert recorded == [["first"], ["second"]]
    finally:
        committer.close()
