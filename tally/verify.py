"""Verify (contract §6): refold the event store, recheck every member's hash chain from the
stored rows, and compare what the facts say with every read model.

A mismatch names the member, the version where it can (a fact or a ledger entry), its kind
(`gap`, `hash`, `chain`, `unreadable`, `replay`, `store`, `members`, `identities`, `lots`,
`ledger_entries`) and what differs.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent, Transcoder

from domain.chain import fact_hash
from domain.member import Member
from domain.statement import Movement, movement
from projections import queries
from tally.read_compare import compare_read_models

CHUNK = 500  # members read and checked per round of queries
Row = tuple[UUID, int, str, bytes]


def mismatch(member_id: Any, kind: str, detail: str, version: int | None = None) -> dict:
    found = {"member_id": str(member_id), "kind": kind, "detail": detail}
    return found if version is None else {**found, "version": version}


def _stored_state(mapper: Any, state: bytes) -> dict[str, Any]:
    """A stored row's fields as written, before any upcasting (its `class_version` included)."""
    if mapper.cipher:
        state = mapper.cipher.decrypt(state)
    if mapper.compressor:
        state = mapper.compressor.decompress(state)
    return mapper.transcoder.decode(state)


def _hashed(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields a fact's hash covers: `class_version` is added by the mapper on storing."""
    if "class_version" not in fields:
        return fields
    return {name: value for name, value in fields.items() if name != "class_version"}


def _chain(mapper: Any, member_id: UUID, rows: list[Row]) -> tuple[list[dict], list[Any]]:
    """The chain's mismatches, and each row's decoded fields (None where unreadable): the
    refold builds the facts from these rather than decoding every row a second time."""
    found, states, expected, previous = [], [], 1, ""
    for _, version, topic, state in rows:
        if version != expected:
            found.append(mismatch(member_id, "gap", f"versions {expected} to {version - 1} are "
                                  f"missing from the store", expected))
        try:
            fields = _stored_state(mapper, state)
        except Exception as error:  # tampered bytes fail in the decoder's own ways
            found.append(mismatch(member_id, "unreadable", f"stored fields: {error}", version))
            states.append(None)
            expected, previous = version + 1, None
            continue
        states.append(fields)
        name = topic.rpartition(".")[2]
        if fact_hash(name, member_id, version, _hashed(fields)) != fields.get("fact_hash"):
            found.append(mismatch(member_id, "hash", f"the stored fields of this {name} no "
                                  f"longer match its fact_hash", version))
        if version == expected and previous is not None and fields.get("prev_hash") != previous:
            found.append(mismatch(member_id, "chain", "prev_hash is not the fact_hash of "
                                  f"version {version - 1}", version))
        expected, previous = version + 1, fields.get("fact_hash")
    return found, states


def chain_mismatches(mapper: Any, member_id: UUID, rows: list[Row]) -> list[dict]:
    """Versions contiguous from 1, each row's hash recomputed from its stored fields, each
    prev_hash equal to the hash of the fact before it."""
    return _chain(mapper, member_id, rows)[0]


class _Decoded(Transcoder):
    """A transcoder for states decoded already (by the chain check)."""

    def encode(self, obj: Any) -> bytes:
        raise TypeError("verify only reads")

    def decode(self, data: Any) -> Any:
        return data


_FROM_DECODED = Mapper(transcoder=_Decoded())


def expected_entry(fact: Any, moved: Movement, balance: list[int]) -> dict[str, Any]:
    """The ledger entry the fact makes, with the member's balance after it."""
    return {"kind": moved.kind, "points": moved.points, "available_after": balance[0],
            "pending_after": balance[1], "debt_after": balance[2],
            "forgiven": moved.forgiven, "occurred_at": fact.occurred_at,
            "recorded_at": fact.timestamp, "reference_type": moved.reference_type,
            "reference_id": moved.reference_id, "actor": fact.actor,
            "program_version": moved.program_version}


class ReplayFailed(Exception):
    def __init__(self, version: int, error: Exception) -> None:
        super().__init__(f"the facts cannot be replayed past this one: {error!r}")
        self.version = version


def refold(member_id: UUID, rows: list[Row],
           states: list[dict]) -> tuple[Member, dict[int, dict], list[tuple]]:
    """The member replayed from its stored rows' decoded fields alone (no snapshot), its
    entries by version, and a problem if the facts' movements do not add up to its lots.

    Each entry's balance is the sum of the movements so far, as the ledger entries read
    model folds them; summing the member's lots after every fact instead cost time
    quadratic in its lots (a member of 10,000 purchases: seconds). The two must agree at
    the end of the history, checked here. Raises ReplayFailed at the first fact that cannot
    be applied."""
    member, entries, balance = None, {}, [0, 0, 0]
    for (_, version, topic, _), state in zip(rows, states):
        try:
            fact = _FROM_DECODED.to_domain_event(StoredEvent(member_id, version, topic, state))
            member = fact.mutate(member)
        except Exception as error:  # edited facts break replay in any number of ways
            raise ReplayFailed(version, error) from error
        moved = movement(fact)
        if moved is not None:
            balance[0] += moved.available
            balance[1] += moved.pending
            balance[2] += moved.debt
            entries[version] = expected_entry(fact, moved, balance)
    held = [member.available, member.pending, member.debt]
    if held == balance:
        return member, entries, []
    return member, entries, [("replay", "the facts' movements add up to available, pending, "
                              f"debt {balance}, its lots and debt hold {held}")]


def check_member(mapper: Any, member_id: UUID, rows: list[Row], read: dict) -> list[dict]:
    if not rows:
        return [mismatch(member_id, "store", "the read models know a member with no stored facts")]
    found, states = _chain(mapper, member_id, rows)
    if any(problem["kind"] in ("gap", "unreadable") for problem in found):
        return found  # the facts cannot be replayed past the missing or unreadable one
    try:
        member, entries, unbalanced = refold(member_id, rows, states)
    except ReplayFailed as failure:
        return found + [mismatch(member_id, "replay", str(failure), failure.version)]
    return found + [mismatch(member_id, *problem)
                    for problem in unbalanced + compare_read_models(member, entries, read)]


def _by_member(rows: list[Row]) -> dict[UUID, list[Row]]:
    grouped: dict[UUID, list[Row]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row)
    return grouped


def _chunks(ids: list[UUID], size: int) -> list[list[UUID]]:
    return [ids[start:start + size] for start in range(0, len(ids), size)]


def check_chunk(conn: Any, mapper: Any, chunk: list[UUID]) -> tuple[list[dict], int, int]:
    """(mismatches, members checked, facts checked) of these members, read on `conn`."""
    stored = _by_member(queries.stored_facts(conn, chunk))
    read = queries.read_rows(conn, chunk)
    found, events = [], 0
    for member_id in chunk:
        rows = stored.get(member_id, [])
        found += check_member(mapper, member_id, rows,
                              {table: by_member.get(member_id, [])
                               for table, by_member in read.items()})
        events += len(rows)
    return found, len(chunk), events


def verify_ledger(ledger: Any, pool: Any, wait_for_read_side: Callable[[], Any] | None = None,
                  workers: int = 1, chunk: int = CHUNK) -> dict[str, Any]:
    """{"ok", "members_checked", "events_checked", "mismatches"} over every member that the
    event store or the members table knows, `chunk` members at a time. Waits for the read
    side first when given one. With `workers` > 1 the chunks are checked in that many
    processes (tally/verify_workers.py), the report the same as from one."""
    if wait_for_read_side is not None:
        wait_for_read_side()
    found, members, events = [], 0, 0
    with pool.connection() as conn:
        chunks = _chunks(queries.member_ids(conn), chunk)
        if workers > 1 and len(chunks) > 1:
            from tally.verify_workers import checked_in_workers

            results: Iterator = checked_in_workers(pool.conninfo, ledger.mapper, chunks, workers)
        else:
            results = (check_chunk(conn, ledger.mapper, part) for part in chunks)
        for part_found, part_members, part_events in results:
            found, members, events = found + part_found, members + part_members, events + part_events
    return {"ok": not found, "members_checked": members, "events_checked": events,
            "mismatches": found}
