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


class Recording:
    def __init__(self, event: str) -> None:
        self.domain_event = event


def test_coroutines_of_one_group_hear_their_own_facts_and_wake_their_loop_once():
    recorded, release = [], threading.Event()

    def record(group: ProcessingEvent) -> list:
        release.wait(5)
        recorded.append(sorted(group.events))
        if "refused" in group.events:
            raise ValueError("refused")
        return [Recording(event) for event in group.events]

    committer = GroupCommitter(record)

    async def ten_while_one_commits():
        loop, wakes = asyncio.get_running_loop(), []
        wake = loop.call_soon_threadsafe
        loop.call_soon_threadsafe = lambda *call: (wakes.append(call), wake(*call))[1]
        first = asyncio.ensure_future(committer.commit_soon(facts("first")))
        await asyncio.sleep(0.05)  # the committer holds "first" and waits for the release
        rest = [asyncio.ensure_future(committer.commit_soon(facts(f"p{n}", f"q{n}")))
                for n in range(10)]
        await asyncio.sleep(0.05)
        release.set()
        answers = await asyncio.gather(first, *rest)
        return [[r.domain_event for r in answer] for answer in answers], len(wakes)

    try:
        answers, wakes = asyncio.run(ten_while_one_commits())
        assert answers == [["first"]] + [[f"p{n}", f"q{n}"] for n in range(10)]
        assert wakes == 2 and len(recorded) == 2 and len(recorded[1]) == 20

        async def refused():
            return await asyncio.gather(committer.commit_soon(facts("refused")),
                                        return_exceptions=True)
        assert [str(failure) for failure in asyncio.run(refused())] == ["refused"]
    finally:
        committer.close()
