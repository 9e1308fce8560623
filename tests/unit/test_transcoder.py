"""Stored facts are a contract: the same values always encode to the same JSON, and decode back."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import orjson
import pytest

from domain.earning import Item
from domain.lots import Lot
from domain.spend import SpendHistory
from tally.history import RunningBalance
from tally.transcoder import LotTable, OrjsonTranscoder, encode_tagged

UTC_MOMENT = datetime(2026, 1, 1, 5, 50, 0, 123, tzinfo=timezone.utc)
LOT = Lot(lot_id="48062171e034-12", source="purchase", remaining=12,
          earned_at=datetime(2026, 1, 1, 5, 50, tzinfo=timezone.utc),
          available_at=datetime(2026, 1, 1, 5, 50, tzinfo=timezone.utc), expires_at=None,
          pending=False)


def test_a_facts_fields_are_stored_as_plain_json_with_the_typed_ones_named():
    encoded = OrjsonTranscoder().encode({
        "at": UTC_MOMENT, "amount": Decimal("12.80"), "lot": LOT, "points": 12, "store_id": None,
        "actor": {"name": "till-7", "role": "pos", "request_id": None}, "items": []})
    assert encoded == (
        b'{"at":"2026-01-01T05:50:00.000123+00:00","amount":"12.80",'
        b'"lot":["48062171e034-12","purchase",12,"2026-01-01T05:50:00+00:00",'
        b'"2026-01-01T05:50:00+00:00",null,false],"points":12,"store_id":null,'
        b'"actor":{"name":"till-7","role":"pos","request_id":null},"items":[],'
        b'"__types":{"at":"t","amount":"d","lot":"l"}}')


def test_other_values_are_stored_in_the_tagged_form_and_dicts_typed_within():
    eight = timezone(timedelta(hours=8))
    state = {"at": datetime(2026, 1, 1, 13, 50, tzinfo=eight),
             "items": [Item("A1", None, Decimal("2.50"))], "taken": {"points": Decimal("1.5")}}
    assert OrjsonTranscoder().encode(state) == (
        b'{"at":{"__t":"2026-01-01T13:50:00+08:00"},'
        b'"items":[{"__v":"domain.earning:Item","f":{"sku":"A1","category":null,'
        b'"amount":{"__d":"2.50"},"quantity":1}}],"taken":{"points":"1.5","__types":{"points":"d"}},'
        b'"__types":{"at":"x","items":"x","taken":"o"}}')


def test_the_tagged_form_of_moments_decimals_and_lots():
    encoded = encode_tagged({"at": UTC_MOMENT, "amount": Decimal("12.80"), "lot": LOT})
    assert encoded == (
        b'{"at":{"__t":"2026-01-01T05:50:00.000123+00:00"},"amount":{"__d":"12.80"},'
        b'"lot":{"__v":"domain.lots:Lot","f":{"lot_id":"48062171e034-12","source":"purchase",'
        b'"remaining":12,"earned_at":{"__t":"2026-01-01T05:50:00+00:00"},'
        b'"available_at":{"__t":"2026-01-01T05:50:00+00:00"},"expires_at":null,'
        b'"pending":false}}}')


def test_events_stored_in_the_tagged_form_throughout_decode_to_the_same_values():
    eight = timezone(timedelta(hours=8))
    state = {"at": UTC_MOMENT, "amount": Decimal("12.80"), "lot": LOT, "points": 12,
             "local": datetime(2026, 1, 1, 13, 50, tzinfo=eight), "actor": {"name": "a"},
             "items": [Item("A1", None, Decimal("2.50"))], "store_id": None}
    transcoder = OrjsonTranscoder()
    older, newer = transcoder.decode(encode_tagged(state)), transcoder.decode(transcoder.encode(state))
    assert older == newer == state
    assert [type(value) for value in newer.values()] == [type(value) for value in state.values()]
    assert newer["local"].utcoffset() == timedelta(hours=8)


def test_a_dict_that_looks_like_a_tag_or_names_types_of_its_own_stays_as_it_was():
    transcoder = OrjsonTranscoder()
    state = {"note": {"__d": "12.80"}, "moment": {"__t": "not a moment"},
             "typed": {"__types": {"at": "d"}, "at": UTC_MOMENT}}
    decoded = transcoder.decode(transcoder.encode(state))
    assert decoded == state and decoded["typed"]["at"] == UTC_MOMENT


def test_a_moment_at_any_offset_is_stored_as_its_isoformat():
    for offset in (timedelta(hours=8), timedelta(hours=-3, minutes=-30), timedelta(seconds=30)):
        moment = datetime(2026, 1, 1, tzinfo=timezone(offset))
        assert OrjsonTranscoder().encode([moment]) == b'[{"__t":"%s"}]' % moment.isoformat().encode()


def test_what_is_encoded_decodes_to_equal_values_of_the_same_types():
    transcoder = OrjsonTranscoder()
    state = {"at": UTC_MOMENT, "amount": Decimal("12.80"), "lots": [LOT], "nested": {"n": 1}}
    assert transcoder.decode(transcoder.encode(state)) == state


def test_a_stored_value_missing_a_field_gets_its_default_and_checks_still_run():
    transcoder = OrjsonTranscoder()
    older = b'{"spend":{"__v":"domain.spend:SpendHistory","f":{"moments":[]}}}'
    assert transcoder.decode(older) == {"spend": SpendHistory([], [])}
    assert transcoder.decode(older)["spend"].amounts == []
    item = b'{"__v":"domain.earning:Item","f":{"sku":"A1","category":null,"amount":{"__d":"2.50"}}}'
    assert transcoder.decode(item) == Item("A1", None, Decimal("2.50"), 1)
    unknown = b'{"__v":"domain.earning:Item","f":{"sku":"A1","category":null,"amount":{"__d":"1"},"colour":"red"}}'
    with pytest.raises(TypeError):
        transcoder.decode(unknown)


def test_a_decoded_lot_is_frozen_and_equal_to_the_one_stored():
    lot = OrjsonTranscoder().decode(OrjsonTranscoder().encode(LOT))
    assert (lot, type(lot), hash(lot) == hash(LOT)) == (LOT, Lot, True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        lot.remaining = 0


def test_a_stored_lot_with_a_field_lots_do_not_have_is_refused():
    stored = OrjsonTranscoder().encode(LOT).replace(b'"pending":false', b'"pending":false,"colour":"red"')
    with pytest.raises(TypeError):
        OrjsonTranscoder().decode(stored)


LATER = Lot(lot_id="48062171e034-13", source="referral", remaining=50,
            earned_at=datetime(2026, 1, 2, tzinfo=timezone.utc),
            available_at=datetime(2026, 1, 16, tzinfo=timezone.utc),
            expires_at=datetime(2027, 1, 16, tzinfo=timezone.utc), pending=True)
SPEND = SpendHistory([UTC_MOMENT, datetime(2026, 1, 2, tzinfo=timezone.utc)],
                     [Decimal("12.80"), Decimal("-3.00")])


def test_a_snapshots_lots_and_spend_are_stored_as_rows():
    lots = {LOT.lot_id: LOT, LATER.lot_id: LATER}
    encoded = encode_tagged({"lots": LotTable(lots), "spend": SPEND})  # a snapshot's `state`
    assert encoded == (
        b'{"lots":{"__lots":['
        b'["48062171e034-12","purchase",12,"2026-01-01T05:50:00+00:00",'
        b'"2026-01-01T05:50:00+00:00",null,false],'
        b'["48062171e034-13","referral",50,"2026-01-02T00:00:00+00:00",'
        b'"2026-01-16T00:00:00+00:00","2027-01-16T00:00:00+00:00",true]]},'
        b'"spend":{"__spend":[["2026-01-01T05:50:00.000123+00:00","2026-01-02T00:00:00+00:00"],'
        b'["12.80","-3.00"]]}}')
    decoded = OrjsonTranscoder().decode(encoded)
    assert decoded == {"lots": lots, "spend": SPEND}
    assert [type(lot) for lot in decoded["lots"].values()] == [Lot, Lot]
    assert [hash(lot) for lot in decoded["lots"].values()] == [hash(LOT), hash(LATER)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        decoded["lots"][LOT.lot_id].remaining = 0
    assert decoded["spend"].within(datetime(2025, 12, 31, tzinfo=timezone.utc), LATER.earned_at) \
        == Decimal("9.80")


def test_snapshots_stored_with_a_tagged_object_per_value_still_decode_alike():
    transcoder = OrjsonTranscoder()
    older = encode_tagged({"lots": {LOT.lot_id: LOT, LATER.lot_id: LATER},
                           "spend": {"__v": "domain.spend:SpendHistory",
                                     "f": {"moments": SPEND.moments, "amounts": SPEND.amounts}}})
    assert b'"__v":"domain.lots:Lot"' in older and b"__lots" not in older
    assert transcoder.decode(older) == transcoder.decode(
        transcoder.encode({"lots": LotTable({LOT.lot_id: LOT, LATER.lot_id: LATER}),
                           "spend": SPEND}))


def test_lots_and_spend_at_other_offsets_keep_the_tagged_form_and_their_offsets():
    eight = timezone(timedelta(hours=8))
    lot = dataclasses.replace(LOT, earned_at=datetime(2026, 1, 1, 13, 50, tzinfo=eight))
    spend = SpendHistory([datetime(2026, 1, 1, 13, 50, tzinfo=eight)], [Decimal("1.00")])
    transcoder = OrjsonTranscoder()
    encoded = transcoder.encode({"lots": LotTable({lot.lot_id: lot}), "spend": spend})
    assert b"__lots" not in encoded and b"__spend" not in encoded
    decoded = transcoder.decode(encoded)
    assert decoded == {"lots": {lot.lot_id: lot}, "spend": spend}
    assert decoded["lots"][lot.lot_id].earned_at.utcoffset() == timedelta(hours=8)


def test_a_timelines_opening_balance_reads_either_snapshot_layout():
    lots = {LOT.lot_id: LOT, LATER.lot_id: LATER}
    for encode, state in ((OrjsonTranscoder().encode, {"lots": LotTable(lots), "debt": 4}),
                          (encode_tagged, {"lots": LotTable(lots), "debt": 4}),
                          (encode_tagged, {"lots": lots, "debt": 4})):  # as stored before 11-23
        stored = orjson.loads(encode({"state": state, "timestamp": UTC_MOMENT}))["state"]
        assert RunningBalance.of_snapshot(stored).as_dict() == {
            "available": 12, "pending": 50, "debt": 4}
