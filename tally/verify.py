"""Verify (contract §6): refold the event store, recheck every member's hash chain from the
stored rows, and compare what the facts say with every read model.

A mismatch names the member, the version where it can (a fact or a ledger entry), its kind
(`gap`, `hash`, `chain`, `unreadable`, `replay`, `store`, `members`, `identities`, `lots`,
`ledger_entries`) and what differs.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain.chain import fact_hash
from domain.member import Member
from domain.statement import movement
from projections import queries
from tally.read_compare import compare_read_models

CHUNK = 500  # members read and checked per round of queries
Row = tuple[UUID, int, str, bytes]


def mismatch(member_id: Any, kind: str, detail: str, version: int | None = None) -> dict:
    found = {"member_id": str(member_id), "kind": kind, "detail": detail}
    return found if version is None else {**found, "version": version}


def _stored_state(mapper: Any, state: bytes) -> dict[str, Any]:
    """A stored row's fields as written, before any upcasting."""
    if mapper.cipher:
        state = mapper.cipher.decrypt(state)
    if mapper.compressor:
        state = mapper.compressor.decompress(state)
    fields = mapper.transcoder.decode(state)
    fields.pop("class_version", None)  # added by the mapper on storing, not hashed
    return fields


def chain_mismatches(mapper: Any, member_id: UUID, rows: list[Row]) -> list[dict]:
    """Versions contiguous from 1, each row's hash recomputed from its stored fields, each
    prev_hash equal to the hash of the fact before it."""
    found, expected, previous = [], 1, ""
    for _, version, topic, state in rows:
        if version != expected:
            found.append(mismatch(member_id, "gap", f"versions {expected} to {version - 1} are "
                                  f"missing from the store", expected))
        try:
            fields = _stored_state(mapper, state)
        except Exception as error:  # tampered bytes fail in the decoder's own ways
            found.append(mismatch(member_id, "unreadable", f"stored fields: {error}", version))
            expected, previous = version + 1, None
            continue
        name = topic.rpartition(".")[2]
        if fact_hash(name, member_id, version, fields) != fields.get("fact_hash"):
            found.append(mismatch(member_id, "hash", f"the stored fields of this {name} no "
                                  f"longer match its fact_hash", version))
        if version == expected and previous is not None and fields.get("prev_hash") != previous:
            found.append(mismatch(member_id, "chain", "prev_hash is not the fact_hash of "
                                  f"version {version - 1}", version))
        expected, previous = version + 1, fields.get("fact_hash")
    return found


def expected_entry(fact: Any, member: Member) -> dict[str, Any] | None:
    """The ledger entry the fact makes, with the member's balance after it."""
    moved = movement(fact)
    if moved is None:
        return None
    return {"kind": moved.kind, "points": moved.points, "available_after": member.available,
            "pending_after": member.pending, "debt_after": member.debt,
            "forgiven": moved.forgiven, "occurred_at": fact.occurred_at,
            "recorded_at": fact.timestamp, "reference_type": moved.reference_type,
            "reference_id": moved.reference_id, "actor": fact.actor,
            "program_version": moved.program_version}


class ReplayFailed(Exception):
    def __init__(self, version: int, error: Exception) -> None:
        super().__init__(f"the facts cannot be replayed past this one: {error!r}")
        self.version = version


def refold(mapper: Any, member_id: UUID, rows: list[Row]) -> tuple[Member, dict[int, dict]]:
    """The member replayed from its stored rows alone (no snapshot), and its entries by version.
    Raises ReplayFailed at the first fact that cannot be applied."""
    member, entries = None, {}
    for _, version, topic, state in rows:
        try:
            fact = mapper.to_domain_event(StoredEvent(member_id, version, topic, state))
            member = fact.mutate(member)
        except Exception as error:  # edited facts break replay in any number of ways
            raise ReplayFailed(version, error) from error
        entry = expected_entry(fact, member)
        if entry is not None:
            entries[version] = entry
    return member, entries


def check_member(mapper: Any, member_id: UUID, rows: list[Row], read: dict) -> list[dict]:
    if not rows:
        return [mismatch(member_id, "store", "the read models know a member with no stored facts")]
    found = chain_mismatches(mapper, member_id, rows)
    if any(problem["kind"] in ("gap", "unreadable") for problem in found):
        return found  # the facts cannot be replayed past the missing or unreadable one
    try:
        member, entries = refold(mapper, member_id, rows)
    except ReplayFailed as failure:
        return found + [mismatch(member_id, "replay", str(failure), failure.version)]
    return found + [mismatch(member_id, *problem)
                    for problem in compare_read_models(member, entries, read)]


def _by_member(rows: list[Row]) -> dict[UUID, list[Row]]:
    grouped: dict[UUID, list[Row]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row)
    return grouped


def _chunks(ids: list[UUID]) -> Iterator[list[UUID]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def verify_ledger(ledger: Any, pool: Any,
                  wait_for_read_side: Callable[[], Any] | None = None) -> dict[str, Any]:
    """{"ok", "members_checked", "events_checked", "mismatches"} over every member that the
    event store or the members table knows. Waits for the read side first when given one."""
    if wait_for_read_side is not None:
        wait_for_read_side()
    found, members, events = [], 0, 0
    with pool.connection() as conn:
        for chunk in _chunks(queries.member_ids(conn)):
            stored = _by_member(queries.stored_facts(conn, chunk))
            read = queries.read_rows(conn, chunk)
            for member_id in chunk:
                rows = stored.get(member_id, [])
                found += check_member(ledger.mapper, member_id, rows,
                                      {table: by_member.get(member_id, [])
                                       for table, by_member in read.items()})
                members, events = members + 1, events + len(rows)
    return {"ok": not found, "members_checked": members, "events_checked": events,
            "mismatches": found}
