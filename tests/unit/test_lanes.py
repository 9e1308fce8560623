"""A member's lane (tally/lanes.py): who may join it, rounds in arrival order, and that the
member is always let go, whatever happens to a round."""

from __future__ import annotations

import asyncio

from tally.lanes import ROUND, MemberLanes


class Lock:
    def __init__(self, waiting: int = 0) -> None:
        self.waiting, self.released = waiting, 0

    def release(self) -> None:
        self.released += 1


def test_no_lane_no_joining_and_a_waiting_thread_closes_the_lane_to_newcomers():
    async def scenario():
        lanes = MemberLanes()
        assert lanes.join("m-1", {"n": 1}) is None
        lock = Lock()
        lanes.opened("m-1", lock)
        joined = lanes.join("m-1", {"n": 2})
        lock.waiting = 1  # a redemption's thread now waits for the member
        refused = lanes.join("m-1", {"n": 3})
        lanes.hand_on(lanes.open["m-1"], lambda member_id, orders: asyncio.sleep(0))
        return joined, refused, await joined, lanes.open, lock.released

    joined, refused, answer, still_open, released = asyncio.run(scenario())
    assert joined is not None and refused is None
    assert (answer, still_open, released) == (None, {}, 1)


def test_rounds_take_the_waiting_in_arrival_order_at_most_a_round_at_a_time():
    rounds = []

    async def decide(member_id, orders):
        rounds.append([order["n"] for order, _ in orders])
        for order, answer in orders:
            answer.set_result(order["n"] * 10)

    async def scenario():
        lanes, lock = MemberLanes(), Lock()
        lane = lanes.opened("m-1", lock)
        answers = [lanes.join("m-1", {"n": n}) for n in range(ROUND + 3)]
        lanes.hand_on(lane, decide)
        return await asyncio.gather(*answers), lock.released

    answers, released = asyncio.run(scenario())
    assert rounds == [list(range(ROUND)), [ROUND, ROUND + 1, ROUND + 2]]
    assert answers == [n * 10 for n in range(ROUND + 3)]
    assert released == 1


def test_a_failing_round_reaches_its_purchases_and_a_cancelled_lane_lets_everyone_go():
    async def failing(member_id, orders):
        raise ConnectionError("the database went away")

    async def stuck(member_id, orders):
        await asyncio.sleep(10)

    async def scenario():
        lanes, first, second = MemberLanes(), Lock(), Lock()
        lane = lanes.opened("m-1", first)
        failed = lanes.join("m-1", {})
        lanes.hand_on(lane, failing)
        outcome = await asyncio.gather(failed, return_exceptions=True)
        lane = lanes.opened("m-2", second)
        waiting = [lanes.join("m-2", {}) for _ in range(2)]
        lanes.hand_on(lane, stuck)
        await asyncio.sleep(0.01)
        lane.serving.cancel()
        return outcome, await asyncio.gather(*waiting), first.released, second.released, lanes.open

    outcome, waiting, first, second, still_open = asyncio.run(scenario())
    assert [type(failure) for failure in outcome] == [ConnectionError]
    assert waiting == [None, None]  # posted alone
    assert (first, second, still_open) == (1, 1, {})
