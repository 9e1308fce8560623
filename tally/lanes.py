"""A busy member's purchases, decided one after another and saved together, on the event loop.

Group commit saves the purchases of different members in one transaction, but two purchases
of one member queued on its lock: the second could not be decided before the first was
saved, so a member taking many purchases at once (a corporate card at every till of a flash
sale) got one purchase per commit, ~5 ms each under load, whatever the server had left.

Now the purchase that holds a member in memory opens a lane for it; purchases of that member
arriving meanwhile wait in the lane instead of in threads. When the holder is done, the lane
decides everything waiting, in arrival order, on the member as the holder left it (exactly
as one post after another would), saves those facts in one `save` and hands each its own
answer; then the next round. A round is all or nothing: if the store refuses it (another
process changed the member, a transaction id posted twice), or a purchase in it is refused,
those purchases fall back to `post_purchase` one by one, as before lanes, so every answer is
the one a single post would have got. A lane takes no newcomer once a thread is waiting for
the member (a redemption, a return): the thread gets the member at the end of the round.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

ROUND = 64  # purchases decided and saved together at most: bounds the wait of the last one

Waiting = list[tuple[dict[str, Any], asyncio.Future]]


@dataclass
class Lane:
    """A member held on the event loop, and the purchases waiting for it."""

    member_id: str
    lock: Any  # the member's lock (tally.guarding), held while the lane is open
    waiting: Waiting = field(default_factory=list)
    serving: asyncio.Task | None = None  # held here: the event loop keeps only a weak reference


class MemberLanes:
    """The open lanes of one process, by member id; used on the event loop's thread only."""

    def __init__(self) -> None:
        self.open: dict[str, Lane] = {}

    def join(self, member_id: str, order: dict[str, Any]) -> asyncio.Future | None:
        """A future of the order's Outcome (None: post it alone) if the member's lane takes
        it; None if there is no lane, or a thread is waiting for the member."""
        lane = self.open.get(member_id)
        if lane is None or lane.lock.waiting:
            return None
        answer = asyncio.get_running_loop().create_future()
        lane.waiting.append((order, answer))
        return answer

    def opened(self, member_id: str, lock: Any) -> Lane:
        lane = self.open[member_id] = Lane(member_id, lock)
        return lane

    def hand_on(self, lane: Lane, decide: Callable[[str, Waiting], Awaitable[None]]) -> None:
        """Called by the lane's opener when its own purchase is done: serves whatever has
        gathered in rounds (`decide` answers every future of a round), then closes the
        lane and releases the member."""
        if lane.waiting:
            lane.serving = asyncio.get_running_loop().create_task(self._serve(lane, decide))
        else:
            self._close(lane)

    async def _serve(self, lane: Lane, decide: Callable[[str, Waiting], Awaitable[None]]) -> None:
        try:
            while lane.waiting:
                round_, lane.waiting = lane.waiting[:ROUND], lane.waiting[ROUND:]
                try:
                    await decide(lane.member_id, round_)
                except Exception as failure:  # the database is away: each of them hears it
                    for _, answer in round_:
                        if not answer.done():
                            answer.set_exception(failure)
                finally:  # what `decide` left (or a lane cancelled) is posted alone
                    for _, answer in round_:
                        if not answer.done():
                            answer.set_result(None)
        finally:
            self._close(lane)

    def _close(self, lane: Lane) -> None:
        """Closes the lane; anything still waiting is posted alone."""
        if self.open.get(lane.member_id) is lane:
            del self.open[lane.member_id]
        for _, answer in lane.waiting:
            if not answer.done():
                answer.set_result(None)
        lane.waiting = []
        lane.lock.release()
