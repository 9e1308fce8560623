"""Stored events as orjson bytes, keeping Decimal, datetime and value dataclasses typed.

A stored event is a JSON object whose `__types` names the fields that are not plain JSON, each
with a code, and decoding restores those fields alone:
`{"occurred_at": "2026-11-22T02:00:00+00:00", "amount": "120.50", "points": 120, ...,
"__types": {"occurred_at": "t", "amount": "d", "lot": "l"}}`.
`t`: a UTC moment, as isoformat() writes it; `d`: a decimal's digits; `l`: a lot as a row
`[lot_id, source, remaining, earned_at, available_at, expires_at, pending]`; `o`: a dict
with typed values, its own `__types` within; `x`: any other value (moments at other offsets,
value objects, lists holding them), in the tagged form below. Plain fields (strings, numbers,
booleans, null, and dicts and lists of those) are left as parsed: a purchase's fact decodes
in ~3 us, against ~6 us walking every value for tags.

The tagged form, which every event stored before 2026-11-24 uses throughout (no `__types`:
decoded by walking the whole document, as before): `{"__d": "120.50"}`,
`{"__t": "2026-11-22T02:00:00+00:00"}`, `{"__v": topic, "f": {...}}`.
UUIDs are stored as strings (events keep ids as `str`; the aggregate id has its own column).

A member's snapshot holds every lot and every spend entry: those go as rows, written and read
in one piece rather than a tagged object per value (a member of 75 purchases: 25 KB, 177 us
to encode and 210 us to decode before; see `LotTable`):
`{"__lots": [[lot_id, source, remaining, earned_at, available_at, expires_at, pending], ...]}`,
`{"__spend": [[moment, ...], ["12.80", ...]]}`. Values written either way decode alike.
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Iterable

import orjson
from eventsourcing.persistence import Transcoder
from eventsourcing.utils import get_topic, resolve_topic

from domain.lots import Lot
from domain.spend import SpendHistory

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


@functools.cache
def _shape(cls: type) -> tuple[str, tuple[str, ...]]:
    return get_topic(cls), tuple(field.name for field in dataclasses.fields(cls))


def _value(value: Any) -> dict[str, Any]:
    topic, names = _shape(type(value))
    return {"__v": topic, "f": {name: getattr(value, name) for name in names}}


_dumps, _Fragment, _UTC = orjson.dumps, orjson.Fragment, timezone.utc


class LotTable:
    """A member's lots (`{lot_id: Lot}`) to be stored as rows: a snapshot wraps them in this,
    and they decode back to the dict."""

    __slots__ = ("lots",)

    def __init__(self, lots: dict[str, Lot]) -> None:
        self.lots = lots


def _all_utc(moments: Iterable[datetime | None]) -> bool:
    """orjson writes a UTC moment exactly as isoformat() does; other offsets go tagged."""
    return all(moment is None or moment.tzinfo is _UTC for moment in moments)


def _row_of(lot: Lot) -> tuple | None:
    """A lot as a row, if its moments are in UTC (orjson writes those as isoformat() does)."""
    expires_at = lot.expires_at
    if lot.earned_at.tzinfo is not _UTC or lot.available_at.tzinfo is not _UTC or (
            expires_at is not None and expires_at.tzinfo is not _UTC):
        return None
    return (lot.lot_id, lot.source, lot.remaining, lot.earned_at, lot.available_at, expires_at,
            lot.pending)


def _lot_rows(lots: dict[str, Lot]) -> Any:
    rows = [_row_of(lot) for lot in lots.values()]
    if None in rows:  # a moment at another offset
        return dict(lots)  # each lot tagged on its own
    return _Fragment(b'{"__lots":' + _dumps(rows) + b"}")


def _spend_rows(spend: SpendHistory) -> Any:
    if not _all_utc(spend.moments):
        return _value(spend)
    amounts = [str(amount) for amount in spend.amounts]
    return _Fragment(b'{"__spend":' + _dumps([spend.moments, amounts]) + b"}")


def _tag(value: Any) -> Any:
    """The tagged form of a value orjson leaves to us; it runs several times per fact.

    A UTC moment or a decimal goes back as ready-made JSON (orjson writes a UTC moment
    exactly as isoformat() does, several times faster), not as a dict to be encoded in turn.
    Other offsets take isoformat() (orjson rounds an offset with seconds to the minute).
    """
    kind = type(value)
    if kind is datetime and value.tzinfo is _UTC:
        return _Fragment(b'{"__t":' + _dumps(value) + b"}")
    if kind is Decimal:  # str() of a decimal is digits, sign, point, exponent or NaN: no escaping
        return _Fragment(b'{"__d":"' + str(value).encode() + b'"}')
    if kind is LotTable:
        return _lot_rows(value.lots)
    if kind is SpendHistory:
        return _spend_rows(value)
    if isinstance(value, Decimal):
        return {"__d": str(value)}
    if isinstance(value, datetime):
        return {"__t": value.isoformat()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _value(value)
    raise TypeError(f"cannot store a {type(value).__name__}")


def _untag(value: Any) -> Any:
    """Restores tagged values in a freshly parsed document, in place (nothing else holds it)."""
    if type(value) is list:
        for index, item in enumerate(value):
            if type(item) is dict or type(item) is list:
                value[index] = _untag(item)
        return value
    if type(value) is not dict:
        return value
    if len(value) <= 2:
        tagged = _tagged(value)
        if tagged is not value:
            return tagged
    for key, item in value.items():
        kind = type(item)
        if kind is dict:
            # a moment or a decimal (most nested values) is restored here, without a call
            if len(item) == 1 and "__t" in item:
                value[key] = _moment_of(item["__t"])
            elif len(item) == 1 and "__d" in item:
                value[key] = Decimal(item["__d"])
            else:
                value[key] = _untag(item)
        elif kind is list:
            value[key] = _untag(item)
    return value


_moment_of = datetime.fromisoformat


def _tagged(value: dict) -> Any:
    """The value a tagged dict stands for, or the dict itself if it is not a tag."""
    if len(value) == 1:
        if "__d" in value:
            return Decimal(value["__d"])
        if "__t" in value:
            return _moment_of(value["__t"])
        if "__lots" in value:
            return _lots_of(value["__lots"])
        if "__spend" in value:
            moments, amounts = value["__spend"]
            decimals = {amount: Decimal(amount) for amount in set(amounts)}  # few, repeated
            return SpendHistory(list(map(_moment_of, moments)), list(map(decimals.get, amounts)))
    elif "__v" in value and "f" in value:
        return resolve_topic(value["__v"])(**_untag(value["f"]))
    return value


# A frozen dataclass's __init__ sets each field through object.__setattr__: 35 of the 54 us
# that decoding a member's 51 lots took. Setting the slots through their descriptors builds
# the same frozen lot (no __post_init__, no defaults to apply) in two thirds of the time; a
# member read cold (each night's import, the first request after a restart) decodes them all.
_new = object.__new__
(_set_lot_id, _set_source, _set_remaining, _set_earned_at, _set_available_at, _set_expires_at,
 _set_pending) = (getattr(Lot, name).__set__ for name in (  # a row's order (_row_of)
     "lot_id", "source", "remaining", "earned_at", "available_at", "expires_at", "pending"))


def _lots_of(rows: list[list[Any]]) -> dict[str, Lot]:
    return {row[0]: _lot_of(row) for row in rows}


def _lot_of(row: list[Any]) -> Lot:
    """A lot, from its row (a fact's lot, or one of a snapshot's)."""
    lot_id, source, remaining, earned_at, available_at, expires_at, pending = row
    lot = _new(Lot)
    _set_lot_id(lot, lot_id)
    _set_source(lot, source)
    _set_remaining(lot, remaining)
    earned = _moment_of(earned_at)
    _set_earned_at(lot, earned)  # available when earned, mostly: the same moment, parsed once
    _set_available_at(lot, earned if available_at == earned_at else _moment_of(available_at))
    _set_expires_at(lot, None if expires_at is None else _moment_of(expires_at))
    _set_pending(lot, pending)
    return lot


def stored_lot_points(stored: dict[str, Any]) -> list[tuple[bool, int]]:
    """(pending, remaining) of each lot in a snapshot's stored `lots`, as parsed JSON (rows,
    or a tagged object per lot in older snapshots), without restoring the lots."""
    if "__lots" in stored:
        return [(pending, remaining) for _, _, remaining, _, _, _, pending in stored["__lots"]]
    return [(lot["f"]["pending"], lot["f"]["remaining"]) for lot in stored.values()]


def encode_tagged(value: Any) -> bytes:
    """The tagged form of a value: how every event was stored before `__types`, and how an
    `x` field is stored still."""
    return _dumps(value, default=_tag, option=_OPTIONS)


_PLAIN = frozenset((str, int, bool, float, type(None)))


def _typed(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields as stored: typed ones in plain JSON and named in `__types`, a dict of such
    fields (a receipt, a snapshot's member) typed the same way within (`o`)."""
    document, types = dict(fields), {}
    for key, value in fields.items():
        kind = type(value)
        if kind in _PLAIN:
            continue
        if kind is datetime and value.tzinfo is _UTC:
            types[key] = "t"  # written by orjson itself, as isoformat() would
        elif kind is Decimal:
            document[key], types[key] = str(value), "d"
        elif kind is dict and _PLAIN.issuperset(map(type, value.values())):
            continue  # an actor, say
        elif kind is dict and "__types" not in value:  # one naming its own keeps the tagged form
            document[key], types[key] = _typed(value), "o"
        elif kind is list and _PLAIN.issuperset(map(type, value)):
            continue
        elif kind is Lot and (row := _row_of(value)) is not None:
            document[key], types[key] = row, "l"
        else:
            document[key], types[key] = _Fragment(encode_tagged(value)), "x"
    document["__types"] = types
    return document


def _restored(document: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
    for key, code in types.items():
        document[key] = _RESTORE.get(code, _untag)(document[key])
    return document


def _restored_within(value: dict[str, Any]) -> dict[str, Any]:
    return _restored(value, value.pop("__types"))


# What each code of `__types` stands for (`x`, anything else: the old tagged form); looked up,
# not compared code by code: 0.3 us less a fact read.
_RESTORE: dict[str, Callable[[Any], Any]] = {"t": _moment_of, "d": Decimal, "l": _lot_of,
                                             "o": _restored_within}


class OrjsonTranscoder(Transcoder):
    def encode(self, obj: Any) -> bytes:
        if type(obj) is dict:  # an event's fields, as the mapper hands them over
            return _dumps(_typed(obj))
        return encode_tagged(obj)

    def decode(self, data: bytes) -> Any:
        document = orjson.loads(data)
        if type(document) is dict:
            types = document.pop("__types", None)
            if types is not None:
                return _restored(document, types)
        return _untag(document)
