"""What a refolded member should look like in each read table, and where the rows differ.

Each problem is a tuple (kind, detail) or (kind, detail, version), kind naming the table.
"""

from __future__ import annotations

import functools
import operator
from typing import Any, Callable

from domain.member import Member

_MEMBER_FIELDS = ("status", "merged_into", "enrolled_at", "referral_code", "available",
                  "pending", "debt", "lifetime_earned", "redeemed", "expired", "tier",
                  "tier_since", "tier_expires_at", "version", "chain_head")
_LOT_FIELDS = ("source", "remaining", "available_at", "expires_at", "pending")


def _differences(expected: dict[str, Any], actual: dict[str, Any]) -> str:
    """"" when every expected field has its value in the row (compared as two tuples first:
    verify compares a dozen fields of an entry and a lot for nearly every fact)."""
    try:
        if tuple(expected.values()) == _fields(tuple(expected))(actual):
            return ""
    except KeyError:  # a column the row lacks: named below
        pass
    return "; ".join(f"{name}: facts say {expected[name]!r}, read model has {actual.get(name)!r}"
                     for name in expected if expected[name] != actual.get(name))


@functools.cache
def _fields(names: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple]:
    """The row's values of these fields, as a tuple (itemgetter returns a lone value bare)."""
    if len(names) == 1:
        return lambda row: (row[names[0]],)
    return operator.itemgetter(*names)


def _member_problems(member: Member, rows: list[dict]) -> list[tuple]:
    if not rows:
        return [("members", "no members row")]
    row = dict(rows[0], merged_into=rows[0]["merged_into"] and str(rows[0]["merged_into"]))
    differs = _differences({name: getattr(member, name) for name in _MEMBER_FIELDS}, row)
    return [("members", differs)] if differs else []


def _identity_problems(member: Member, rows: list[dict]) -> list[tuple]:
    expected = {(identity["kind"], identity["value"]) for identity in member.identities}
    actual = {(row["kind"], row["value"]) for row in rows}
    if expected == actual:
        return []
    return [("identities", f"facts say {sorted(expected)}, read model has {sorted(actual)}")]


def _lot_problems(member: Member, rows: list[dict]) -> list[tuple]:
    expected = {lot.lot_id: {name: getattr(lot, name) for name in _LOT_FIELDS}
                for lot in member.lots.values()}
    actual = {row["lot_id"]: row for row in rows}
    problems = []
    for lot_id in sorted(expected.keys() | actual.keys()):
        if lot_id not in actual:
            problems.append(("lots", f"lot {lot_id} is missing"))
        elif lot_id not in expected:
            problems.append(("lots", f"lot {lot_id} has no points left in the facts"))
        elif differs := _differences(expected[lot_id], actual[lot_id]):
            problems.append(("lots", f"lot {lot_id}: {differs}"))
    return problems


def _entry_problems(member: Member, entries: dict[int, dict], rows: list[dict]) -> list[tuple]:
    actual = {row["version"]: row for row in rows}
    problems, member_id = [], str(member.id)
    for version in sorted(entries.keys() | actual.keys()):
        if version not in actual:
            problems.append(("ledger_entries", "entry is missing", version))
        elif version not in entries:
            problems.append(("ledger_entries", "entry has no fact that moves points", version))
        elif actual[version]["entry_id"] != f"{member_id}:{version}":
            problems.append(("ledger_entries", f"entry_id {actual[version]['entry_id']!r}",
                             version))
        elif differs := _differences(entries[version], actual[version]):
            problems.append(("ledger_entries", differs, version))
    return problems


def compare_read_models(member: Member, entries: dict[int, dict], read: dict[str, list]) -> list:
    """Problems with the member's rows in members, identities, lots and ledger_entries."""
    return (_member_problems(member, read["members"])
            + _identity_problems(member, read["identities"])
            + _lot_problems(member, read["lots"])
            + _entry_problems(member, entries, read["entries"]))
