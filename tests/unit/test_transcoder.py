"""Stored facts are a contract: the same values always encode to the same JSON, and decode back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from domain.lots import Lot
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
