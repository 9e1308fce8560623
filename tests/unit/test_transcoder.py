"""Stored facts are a contract: the same values always encode to the same JSON, and decode back."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.earning import Item
from domain.lots import Lot
from domain.spend import SpendHistory
from tally.transcoder import OrjsonTranscoder

UTC_MOMENT = datetime(2026, 1, 1, 5, 50, 0, 123, tzinfo=timezone.utc)
LOT = Lot(lot_id="48062171e034-12", source="purchase", remaining=12,
          earned_at=datetime(2026, 1, 1, 5, 50, tzinfo=timezone.utc),
          available_at=datetime(2026, 1, 1, 5, 50, tzinfo=timezone.utc), expires_at=None,
          pending=False)


def test_moments_decimals_and_lots_encode_to_their_tagged_json():
    encoded = OrjsonTranscoder().encode({"at": UTC_MOMENT, "amount": Decimal("12.80"), "lot": LOT})
    assert encoded == (
        b'{"at":{"__t":"2026-01-01T05:50:00.000123+00:00"},"amount":{"__d":"12.80"},'
        b'"lot":{"__v":"domain.lots:Lot","f":{"lot_id":"48062171e034-12","source":"purchase",'
        b'"remaining":12,"earned_at":{"__t":"2026-01-01T05:50:00+00:00"},'
        b'"available_at":{"__t":"2026-01-01T05:50:00+00:00"},"expires_at":null,'
        b'"pending":false}}}')


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
