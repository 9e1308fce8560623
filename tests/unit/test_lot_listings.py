"""Lots as documents list them (tally/listings.py): the same dicts, order and JSON as working
them out afresh, each lot encoded once while the member holds it, and answers encoded alike."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from api.responses import dumps
from domain.document import shown_lot
from domain.lots import Lot, spending_order
from tally.listings import LotListings

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def lot(number: int, expires_in_days: int | None, earned_day: int = 0, pending: bool = False) -> Lot:
    earned = START + timedelta(days=earned_day)
    expires = None if expires_in_days is None else START + timedelta(days=expires_in_days)
    return Lot(f"L-{number:02d}", "purchase", 10 * number, earned, earned, expires, pending)


def afresh(lots: dict[str, Lot]) -> list[dict]:
    return [shown_lot(one) for one in sorted(lots.values(), key=spending_order)]


def by_id(*lots: Lot) -> dict[str, Lot]:
    return {one.lot_id: one for one in lots}


class Counting:
    """The API's encoder, counting the lots it is asked to encode on their own."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, shown: dict) -> bytes:
        self.calls += 1
        return dumps(shown)


LOTS = by_id(lot(1, 400), lot(2, None), lot(3, 30, earned_day=2), lot(4, 30, earned_day=1),
             lot(5, 30, earned_day=1), lot(6, 10, pending=True), lot(7, None, earned_day=-3))


def test_a_listing_is_the_lots_shown_in_spending_order_and_encodes_as_they_would():
    listing = LotListings().of(LOTS)

    assert listing == afresh(LOTS)
    assert [shown["lot_id"] for shown in listing] == ["L-06", "L-04", "L-05", "L-03", "L-01",
                                                      "L-07", "L-02"]
    assert listing.json(dumps) == dumps(afresh(LOTS))
    assert dumps({"member": {"lots": listing, "version": 9}}) == \
        dumps({"member": {"lots": afresh(LOTS), "version": 9}})


def test_each_lot_is_encoded_once_while_the_member_holds_it_and_again_once_changed():
    listings, render = LotListings(), Counting()
    listings.of(LOTS).json(render)
    listings.of(dict(LOTS)).json(render)  # a copy of the member: the same lot objects
    assert render.calls == 7

    changed = {**LOTS, "L-01": LOTS["L-01"].less(4), "L-08": lot(8, 5)}
    del changed["L-02"]
    listing = listings.of(changed)

    assert listing.json(render) == dumps(afresh(changed))
    assert render.calls == 9  # the lot spent and the new one
    assert listing[0]["lot_id"] == "L-08" and "L-02" not in {shown["lot_id"] for shown in listing}


def test_the_dicts_handed_out_are_the_callers_own():
    listings = LotListings()
    first = listings.of(LOTS)
    first[0]["remaining"] = -1

    again = listings.of(LOTS)
    assert again == afresh(LOTS)
    assert again.json(dumps) == dumps(afresh(LOTS))


def test_past_its_bound_the_process_forgets_every_lot_and_still_lists_them_right():
    listings = LotListings(kept=3)
    listing = listings.of(LOTS)

    assert listings.known == {}
    assert listing.json(dumps) == dumps(afresh(LOTS))
    assert listings.of(LOTS) == afresh(LOTS)


def test_answers_encode_other_kinds_of_dict_list_str_and_int_as_before():
    class Tags(list):
        pass

    class Labels(dict):
        pass

    class Code(str):
        pass

    class Count(int):
        pass

    body = {"tags": Tags(["a"]), "labels": Labels(x=Count(1)), "code": Code("c"), "ok": True}
    assert dumps(body) == b'{"tags":["a"],"labels":{"x":1},"code":"c","ok":true}'
