"""Young collections every so many members read cold, and only while the collector runs."""

from __future__ import annotations

import gc

from tally.collector import YoungCollections


def _generations_collected(calls: int, young: YoungCollections) -> list[int]:
    seen: list[int] = []

    def note(phase: str, info: dict) -> None:
        if phase == "stop":
            seen.append(info["generation"])

    gc.callbacks.append(note)
    try:
        for _ in range(calls):
            young.member_read_cold()
    finally:
        gc.callbacks.remove(note)
    return seen


def test_the_50th_member_read_cold_collects_the_young_generation():
    young = YoungCollections()
    _generations_collected(49, young)

    assert 0 in _generations_collected(1, young)
    assert young.reads == 50


def test_no_collection_while_bulk_work_has_paused_the_collector():
    young = YoungCollections()
    gc.disable()
    try:
        assert _generations_collected(150, young) == []
    finally:
        gc.enable()
    assert young.reads == 150


def test_every_fifth_young_collection_takes_the_middle_generation_too():
    """As the collector does at thresholds (5,000, 3, 500): the middle generation once three
    young collections have passed since its last."""
    thresholds = gc.get_threshold()
    gc.set_threshold(5_000, 3, 500)
    try:
        gc.collect()
        seen = _generations_collected(5 * YoungCollections.EVERY, YoungCollections())
    finally:
        gc.set_threshold(*thresholds)

    assert seen == [0, 0, 0, 0, 1]
