"""How Tally's long-running processes keep Python's garbage collector out of request latency.

Members read from the store live on in the aggregate cache (20,000 of them), each with its
lots: long-lived objects that the collector scans again as they age. Two measures, both
measured with `bench.first_reads` (members read once each, cold):
`settle_garbage_collector` sets the collector's thresholds when a serving process starts, and
`YoungCollections` collects the young generation every so many members read cold, because
Python counts young objects net of those freed and, once the cache is full, each member read
evicts one: the count barely moves while new members' lots pile up young.
"""

from __future__ import annotations

import gc


def settle_garbage_collector() -> None:
    """Keeps collector pauses out of request latency: what start-up built (modules, routes,
    schemas) is never scanned again, young objects are collected often and cheaply, and a
    full collection is considered only after 500 middle ones (Python's default, 10,
    paused requests for 60-100 ms every few thousand purchases).

    Members read cold (after a start, or past the cache) bring their lots, which live on in
    the cache: each object that survives a young collection is scanned again in the middle
    generation, so the middle generation's size sets the longest pause. `bench.first_reads`
    (20,000 members of 51 facts read cold, two runs each): at 20,000 young objects and a
    middle collection every 20, 110-112 ms at most; at 5,000 and 3, 3.3-6.6 ms (longest read
    9.1 ms, collecting 193 ms in all against 343). POS purchases over HTTP, two alternating
    pairs: 2,485-2,606 against 2,408-2,535/s, p99 13-15 ms either way. A full collection
    still scans every cached member (20,000 such members: 350-420 ms); Python runs one only
    once a quarter of the long-lived heap is new."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(5_000, 3, 500)


class YoungCollections:
    """A young collection after every `EVERY` members read cold (while the collector runs).

    20,000-member cache, 60,000 members of 51 facts read once each: young collections of
    108-113 ms every ~4,900 reads and middle ones of 353-525 ms, collecting nothing (the young
    generation held thousands of members by then), 1,887 ms in all; with these, young ones of
    0.7 ms at most, middle ones of 4.2, 1,159 ms in all (~19 us a member read cold)."""

    EVERY = 50

    def __init__(self) -> None:
        self.reads = 0  # approximate under threads: it only spaces the collections

    def member_read_cold(self) -> None:
        self.reads += 1
        if self.reads % self.EVERY == 0 and gc.isenabled():  # bulk work pauses the collector
            # As the collector would: the middle generation too once its turn has come (left
            # to itself it would never come, and the middle one would pile up instead); a
            # full collection stays the collector's own decision.
            gc.collect(1 if gc.get_count()[1] > gc.get_threshold()[1] else 0)
