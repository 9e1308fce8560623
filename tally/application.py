"""The Ledger application: Tally's use cases, each get → decide → save in one transaction.

Every write names its own idempotency key. The key's guard aggregate is saved in the same
`save()` as the member's new facts, so a retried request either replays the stored answer or
(with a different body) is refused; a concurrent change to the member makes the store refuse
the save, and the use case starts again from fresh state (bounded, then `Busy`).
"""

from __future__ import annotations

import functools
import logging
import time
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Callable, Iterable
from uuid import UUID

import anyio.to_thread
from eventsourcing import persistence
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import IntegrityError, StoredEvent, Transcoder
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from domain.document import member_document
from domain.errors import LedgerError, MemberNotFound
from domain.guards import Receipt, guard_id
from domain.member import Member
from domain.member_facts import NEXT_TIMER
from domain.program import PROGRAM_ID, Program
from domain.rules import Rules
from tally.bulk import AggregateCache, SnapshotMarks, insert_facts, load_many
from tally.collector import YoungCollections
from tally.committer import GroupCommitter
from tally.guarding import MemberLocks, Outcome, check_replay, retrying
from tally.lanes import MemberLanes
from tally.storage import once_more_on_broken
from tally.transcoder import LotTable, OrjsonTranscoder

log = logging.getLogger("tally")


def _facts_of(aggregates: Iterable[Any], saved_kwargs: dict[str, Any]) -> ProcessingEvent:
    """What the library's collect_events does, without its Protocol checks."""
    facts = ProcessingEvent()
    for aggregate in aggregates:
        facts.events += aggregate.collect_events()
        facts.aggregates[aggregate.id] = aggregate
    facts.saved_kwargs.update(saved_kwargs)
    return facts


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def system(actor: dict[str, Any]) -> dict[str, Any]:
    """The actor of time-driven facts: the system, on behalf of the request that found them due."""
    return {"name": "system", "role": "system", "request_id": actor.get("request_id")}


PROGRAM_TTL_SECONDS = 1.0
_RETRIED = ("insert_events", "select_events", "select_notifications", "max_notification_id")


def _replayed(aggregate: Any, facts: Iterable[Any]) -> Any:
    """The library's projector (`project_aggregate`) without its per-fact `isinstance` check
    against a runtime-checkable protocol: 8 us a fact, a third of reading a member of
    51 facts at an earlier version for a replayed answer (its document: 943-956 -> 641-646 us)."""
    for fact in facts:
        aggregate = fact.mutate(aggregate)
    return aggregate


def without_retries(recorder: Any) -> Any:
    """Calls the recorder's methods with one retry on a broken connection, instead of the
    library's ten retries 0.2 s apart for any failure.

    A POS call should hear 503 within the pool's timeout when the database is gone, not after
    half a minute; clients retry, and every write is idempotent. A connection that broke while
    it sat in the pool (a restart, a failover) is replaced, with the pool's other broken ones,
    and the call made once more (`once_more_on_broken`), so the pool need not ping the server
    on every checkout.
    """
    pool = getattr(getattr(recorder, "datastore", None), "pool", None)
    if pool is None:  # the in-memory store: no connections to break
        return recorder
    once_more = functools.partial(once_more_on_broken, pool)
    for name in _RETRIED:
        method = getattr(type(recorder), name, None)
        if method is not None and hasattr(method, "__wrapped__"):
            setattr(recorder, name, once_more(method.__wrapped__.__get__(recorder)))
    if hasattr(recorder, "_fetch_ids_after_insert_events"):
        recorder.insert_events = once_more(functools.partial(_insert_events, recorder))
    elif hasattr(recorder, "insert_events_statement"):  # snapshots: no lock, no ids
        recorder.insert_events = once_more(functools.partial(_insert_snapshots, recorder))
    if hasattr(recorder, "select_events_statement"):
        recorder.select_events = once_more(functools.partial(_select_events, recorder))
    return recorder


def _select_events(recorder: Any, originator_id: Any, *, gt: int | None = None,
                   lte: int | None = None, desc: bool = False,
                   limit: int | None = None) -> list[StoredEvent]:
    """The library's select_events, read in binary as tuples: it builds dict rows from text,
    a third more per fact (every member read, replay and timeline page reads through it)."""
    with recorder.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
        cursor.execute(_select_statement(recorder, desc),
                       (originator_id, -1 if gt is None else gt, 2**62 if lte is None else lte,
                        limit), binary=True, prepare=True)
        rows = cursor.fetchall()
    return [StoredEvent(originator_id, version, topic, state) for version, topic, state in rows]


def _select_statement(recorder: Any, desc: bool) -> bytes:
    statements = recorder.__dict__.setdefault("_tally_select_events", {})
    if desc not in statements:
        statements[desc] = SQL(
            "SELECT originator_version, topic, state FROM {0} WHERE originator_id = %s "
            "AND originator_version > %s AND originator_version <= %s "
            "ORDER BY originator_version {1} LIMIT %s").format(
            Identifier(recorder.datastore.schema, recorder.events_table_name),
            SQL("DESC" if desc else "ASC")).as_bytes(None)
    return statements[desc]


def _insert_events(recorder: Any, stored_events: Any, **kwargs: Any) -> Any:
    """The library's insert (lock, notify, insert, ids) without psycopg's pipeline mode, and
    with the rows sent as binary arrays (`insert_facts`).

    In pipeline mode an insert of a few MB (a bulk chunk, or a large group commit) never
    completes over a unix socket, as the embedded PostgreSQL uses: client and server each
    wait for the other. Three round trips per transaction cost less than that.
    """
    with recorder.datastore.transaction(commit=True) as cursor:
        recorder._insert_events(cursor, stored_events, **kwargs)
        if not stored_events:
            return None
        cursor.execute(_lock_and_notify(recorder))  # one round trip for the three statements
        insert_facts(cursor, Identifier(recorder.datastore.schema, recorder.events_table_name),
                     stored_events)
        return recorder._fetch_ids_after_insert_events(cursor, stored_events, **kwargs)


def _insert_snapshots(recorder: Any, stored_events: Any, **_: Any) -> None:
    """The library's snapshot insert with the rows sent as binary arrays: it dumps a member
    snapshot (every lot and spend entry) as quoted hex text, most of a snapshot's cost."""
    if stored_events:
        with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:  # autocommit
            insert_facts(cursor, Identifier(recorder.datastore.schema,
                                            recorder.events_table_name), stored_events,
                         returning=False)


def _lock_and_notify(recorder: Any) -> bytes:
    """The library's lock-table statements (lock timeout, EXCLUSIVE lock) and its NOTIFY."""
    statement = getattr(recorder, "_tally_lock_and_notify", None)
    if statement is None:
        statement = recorder._tally_lock_and_notify = SQL("; ").join(
            [*recorder.lock_table_statements,
             SQL("NOTIFY {0}").format(Identifier(recorder.channel_name))]).as_bytes(None)
    return statement


class LedgerCore(Application):
    """Storage, loading and the shared shape of a receipted write; use cases live in subclasses."""

    name = "Ledger"
    # A member read cold (an import naming many members, a restart) replays its facts since its
    # last snapshot at ~25 us each. Every 100 facts, an import of one row for each of 20,000
    # members of 51 facts ran at 559 rows/s; every 25, at 955 (bench/, probe), for ~10 us more
    # CPU per purchase written and 5% more storage (12.8 KB snapshots, 20 KB of facts each;
    # measured before snapshots stored lots as rows: half the size, a quarter of the encoding).
    # Requests keep 100: at 25, two HTTP runs of four lost ~20% (members crossing together).
    snapshotting_intervals = {Member: 100}
    bulk_snapshotting_intervals = {Member: 25}
    # Members stay in memory as this process last saved them. Reads fetch the facts stored
    # since (one indexed query); writes trust the copy and let the store refuse a stale one.
    env = {"AGGREGATE_CACHE_MAXSIZE": "20000", "AGGREGATE_CACHE_FASTFORWARD": "n"}

    def __init__(self, env: dict[str, str] | None = None, clock: Callable[[], datetime] = utc_now):
        super().__init__(env)
        without_retries(self.recorder)
        if self.snapshots is not None:
            without_retries(self.snapshots.recorder)
        self.clock = clock
        self.locks = MemberLocks()
        self.lanes = MemberLanes()
        self._rules_at = lru_cache(maxsize=64)(self._load_rules_at)
        self._program_cache: tuple[Program | None, float] = (None, 0.0)
        self.bulk_cache = AggregateCache()
        self.snapshot_marks = SnapshotMarks()
        self.young_collections = YoungCollections()
        self.committer = GroupCommitter(self._record)

    def construct_factory(self, env: Any) -> Any:
        """The library's factory; its connection pool, not opened yet, is given the session
        options of `POSTGRES_SESSION_OPTIONS` (tally/storage.py) for every connection."""
        factory = super().construct_factory(env)
        options = env.get("POSTGRES_SESSION_OPTIONS")
        datastore = getattr(factory, "datastore", None)  # none in the in-memory store
        if options and datastore is not None:
            datastore.pool.kwargs["options"] = options
        return factory

    def construct_transcoder(self) -> Transcoder:
        return OrjsonTranscoder()

    def save(self, *objs: Any, bulk: bool = False, **kwargs: Any) -> Any:
        """Saves through the group committer: one transaction for concurrent commands.
        `bulk` work (batches, imports, ticks) snapshots members more often."""
        facts = _facts_of(objs, kwargs)
        if not facts.events:
            return []
        try:
            recordings = self.committer.commit(facts)
        except IntegrityError:  # a copy was stale (another process wrote): read it afresh
            self.forget(facts.aggregates)
            raise
        self._take_snapshots(facts, self.bulk_snapshotting_intervals if bulk
                             else self.snapshotting_intervals)
        self._notify(recordings)
        return recordings

    async def save_soon(self, *objs: Any) -> Any:
        """`save` for a coroutine on the event loop: the wait for the group commit holds no
        thread, and a snapshot that falls due is written from a worker thread."""
        facts = _facts_of(objs, {})
        if not facts.events:
            return []
        try:
            recordings = await self.committer.commit_soon(facts)
        except IntegrityError:
            self.forget(facts.aggregates)
            raise
        snapshots = self._snapshots_due(facts, self.snapshotting_intervals)
        if snapshots:
            await anyio.to_thread.run_sync(self._put_snapshots, snapshots)
        self._notify(recordings)
        return recordings

    def _record(self, processing_event: ProcessingEvent) -> Any:
        """The library's record, keeping only members and the program in the cache.

        The library caches every aggregate saved: a guard per purchase, which is never read
        from the cache (`_get` reads guards from their facts) but took the place of members in
        it and gave the garbage collector a dozen objects per purchase to walk for ever.
        """
        recordings = self.events.put(processing_event.events, tracking=processing_event.tracking,
                                     **processing_event.saved_kwargs)
        cache = self.repository.cache
        if cache is not None and not self.repository.fastforward:
            for aggregate_id, aggregate in processing_event.aggregates.items():
                if isinstance(aggregate, (Member, Program)):
                    cache.put(aggregate_id, aggregate)
        return recordings

    def serving_no_requests(self) -> None:
        """For a process that serves no requests (an import worker): members are not kept for
        requests, so bulk work keeps the members it saved as they are instead of copying each
        (5% of a worker's time)."""
        self.repository.cache = None

    def forget(self, aggregate_ids: Iterable[UUID]) -> None:
        """Drops cached aggregates, so they are next read from the store."""
        if self.repository.cache is None:
            return
        for aggregate_id in aggregate_ids:
            try:
                self.repository.cache.get(aggregate_id, evict=True)
            except KeyError:
                pass

    def close(self) -> None:
        self.committer.close()
        super().close()


    def _take_snapshots(self, processing_event: ProcessingEvent,
                        intervals: dict[type, int]) -> None:
        """Snapshots a saved member from memory when it crosses an interval.

        The library re-reads the aggregate from the store to snapshot it (~25 ms for a
        member); the aggregate just saved is that state already.
        """
        snapshots = self._snapshots_due(processing_event, intervals)
        if snapshots:
            self._put_snapshots(snapshots)

    def _put_snapshots(self, snapshots: list[Snapshot]) -> None:
        """Stores snapshots of members whose facts are saved already. A snapshot is only a
        shortcut for reading a member: if it cannot be written (the database went away just
        after the commit, another process wrote the same one), the write is still answered
        as saved, and the member is read from its facts until a later snapshot."""
        try:
            self.snapshots.put(snapshots)
        except persistence.PersistenceError as failure:
            log.warning("%d snapshot(s) not written (%s); the facts are saved", len(snapshots),
                        failure)
            return
        self.snapshot_marks.drop(snapshot.originator_id for snapshot in snapshots)

    def _snapshots_due(self, processing_event: ProcessingEvent,
                       intervals: dict[type, int]) -> list[Snapshot]:
        """Members whose save crossed a multiple of their interval, or that were read from
        the store and are now `SnapshotMarks.LAG` facts past their latest snapshot: a member
        of 60 facts with none would otherwise be read cold, all 60 replayed, night after
        night, until it crossed 100."""
        crossed, marks = {}, self.snapshot_marks
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            interval = intervals.get(type(aggregate))
            version = event.originator_version
            if interval and (version % interval == 0 or marks.lagging(aggregate.id, version)):
                crossed[aggregate.id] = aggregate
        if not crossed or self.snapshots is None:
            return []
        snapshots = [Snapshot.take(aggregate) for aggregate in crossed.values()]
        for snapshot in snapshots:
            snapshot.state.pop(NEXT_TIMER, None)  # worked out again when needed
            snapshot.state["lots"] = LotTable(snapshot.state["lots"])  # stored as rows
        return snapshots

    # Loading --------------------------------------------------------------------------------

    def _get(self, aggregate_id: UUID, kind: type) -> Any | None:
        """The aggregate, if there is one of `kind` with that id. Members come through the
        repository (cache, snapshots); guards are a few facts, read in one query."""
        if kind is not Member and kind is not object:
            aggregate = _replayed(None, self.events.get(aggregate_id))
            return aggregate if isinstance(aggregate, kind) else None
        try:
            aggregate = self.repository.get(aggregate_id, projector_func=self._read_cold)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    def _read_cold(self, aggregate: Any, facts: Iterable[Any]) -> Any:
        """The library's projector for an aggregate the repository reads from the store (not
        from its cache): a member's latest snapshot, then its facts since; the member is
        marked with that snapshot's version."""
        snapshot_version = None
        for fact in facts:
            if snapshot_version is None:
                snapshot_version = fact.originator_version if isinstance(fact, Snapshot) else 0
            aggregate = fact.mutate(aggregate)
        if isinstance(aggregate, Member):
            self.snapshot_marks.note(aggregate.id, aggregate.version, snapshot_version or 0)
            self.young_collections.member_read_cold()
        return aggregate

    def member(self, member_id: UUID | str) -> Member:
        """The member as recorded now (facts other processes stored included);
        raises MemberNotFound."""
        member = self.member_to_change(member_id)
        return _replayed(member, self.events.get(member.id, gt=member.version))

    def member_to_change(self, member_id: UUID | str) -> Member:
        """The member as this process last saw it, without asking the store; raises
        MemberNotFound. If another process has changed it since, saving a change made to
        this copy is refused (its next version is taken) and `save` forgets the copy, so the
        use case's retry reads it afresh."""
        try:
            found = self._get(UUID(str(member_id)), Member)
        except ValueError:
            found = None
        if found is None:
            raise MemberNotFound(f"no member {member_id}")
        return found

    def survivor(self, member: Member) -> Member:
        """The member itself, or the one it was merged into (following chains of merges)."""
        while member.status == "merged":
            member = self.member(member.merged_into)
        return member

    def program(self) -> Program:
        """The current program, re-read at most once a second (at once after a local change)."""
        cached, read_at = self._program_cache
        if cached is not None and time.monotonic() - read_at < PROGRAM_TTL_SECONDS:
            return cached
        program = self._load_program()
        self._program_cache = (program, time.monotonic())
        return program

    def forget_program(self) -> None:
        self._program_cache = (None, 0.0)

    def _load_program(self) -> Program:
        program = self._get(PROGRAM_ID, Program)
        if program is None:
            program = Program.define_default({"name": "system", "role": "system", "request_id": None})
            try:
                self.save(program)
            except IntegrityError:
                program = self.repository.get(PROGRAM_ID, projector_func=_replayed)
        return program

    def rules(self) -> Rules:
        return self.program().rules

    def _load_rules_at(self, version: int) -> Rules:
        return self.aggregate_at(PROGRAM_ID, version).rules

    # Answers --------------------------------------------------------------------------------

    def document(self, member: Member, rules: Rules | None = None,
                 at: datetime | None = None) -> dict[str, Any]:
        return member_document(member, rules or self.rules(), at or self.clock())

    def aggregate_at(self, aggregate_id: UUID, version: int) -> Any:
        """The aggregate as it was at `version`: its nearest snapshot at or before it, then the
        facts after that; raises AggregateNotFoundError."""
        return self.repository.get(aggregate_id, version=version, projector_func=_replayed)

    def document_at_version(self, member_id: str, version: int, program_version: int) -> dict:
        """The member document as it was when `version` was recorded (for replayed answers)."""
        member = self.aggregate_at(UUID(member_id), version)
        return member_document(member, self._rules_at(program_version), member.modified_on)

    def answer(self, result: dict[str, Any], member_id: str, member_version: int,
               program_version: int, replayed: bool) -> Outcome:
        body = {key: value for key, value in result.items() if not key.startswith("_")}
        body["member"] = self.document_at_version(member_id, member_version, program_version)
        return Outcome(body, replayed)


    def fresh(self, result: dict[str, Any], member: Member, rules: Rules) -> Outcome:
        """The answer to a write just recorded: its result and the member document now."""
        body = {key: value for key, value in result.items() if not key.startswith("_")}
        body["member"] = self.document(member, rules)
        return Outcome(body)

    # The shape of most writes ---------------------------------------------------------------

    def save_due_facts(self, *members: Member) -> None:
        """Time-driven facts stand even when the command that found them is refused."""
        try:
            self.save(*members)
        except IntegrityError:
            pass  # another request changed the member; it records them instead

    def receipted(self, kind: str, key: str, request_hash: str, member_id: UUID | str,
                  occurred_at: datetime, actor: dict[str, Any],
                  decide: Callable[[Member, Rules], dict[str, Any]]) -> Outcome:
        """A write on one member under a receipt: replay, refuse, or decide and save once."""

        def replay() -> Outcome | None:
            receipt = self._get(guard_id(kind, key), Receipt)
            if receipt is None:
                return None
            check_replay(receipt.request_hash, request_hash, f"{kind} id {key!r}")
            return self.answer(receipt.result, receipt.member_id, receipt.member_version,
                               receipt.result["_program_version"], replayed=True)

        def attempt() -> Outcome:
            # Decide and save at once; only a refusal (by the rules, or by the store because
            # the receipt exists) reads the receipt, so a retried request still replays.
            member = self.member_to_change(member_id)
            rules = self.rules()
            try:
                member.ensure_active()
                member.catch_up(rules, occurred_at, system(actor))
                result = decide(member, rules)
            except LedgerError:
                if (earlier := replay()) is not None:
                    return earlier
                self.save_due_facts(member)
                raise
            result["_program_version"] = rules.version
            try:
                self.save(member, Receipt.issue(kind, key, request_hash, str(member.id),
                                                member.version, result))
            except IntegrityError:
                if (earlier := replay()) is not None:
                    return earlier
                raise
            return self.fresh(result, member, rules)

        with self.locks.holding(member_id):
            return retrying(attempt)

    def members_due(self, member_ids: Iterable[UUID], as_of: datetime) -> dict[str, int]:
        """Records every time-driven fact due at or before `as_of` for the members named.

        Members are loaded and saved a chunk at a time; a chunk that loses a race with another
        writer is done again one member at a time.
        """
        counts = {"activated": 0, "expired_points": 0, "tiers_changed": 0, "members_touched": 0}
        ids = list(dict.fromkeys(UUID(str(m)) for m in member_ids))
        for start in range(0, len(ids), TICK_CHUNK):
            chunk = ids[start:start + TICK_CHUNK]
            try:
                with self.bulk_cache.lock:
                    facts = self._catch_up_many(chunk, as_of)
            except IntegrityError:
                facts = []
                for member_id in chunk:
                    with self.locks.holding(member_id):
                        facts += retrying(lambda: self._catch_up_many([member_id], as_of))
            _count_due_facts(facts, counts)
        return counts

    def _catch_up_many(self, member_ids: list[UUID], as_of: datetime) -> list[Any]:
        rules, touched, facts = self.rules(), [], []
        try:
            for member in load_many(self, member_ids, self.bulk_cache,
                                    marks=self.snapshot_marks).values():
                if isinstance(member, Member) and member.status == "active":
                    member.catch_up(rules, as_of, TICK_ACTOR)
                    if member._pending_events:
                        touched.append(member)
                        facts.append(list(member._pending_events))
            self.save(*touched, bulk=True)
        except BaseException:
            self.bulk_cache.forget(member_ids)
            raise
        return facts


TICK_CHUNK = 500
TICK_ACTOR = {"name": "system", "role": "system", "request_id": None}


def _count_due_facts(facts_per_member: list[list[Any]], counts: dict[str, int]) -> None:
    for facts in facts_per_member:
        counts["members_touched"] += 1
        for fact in facts:
            if isinstance(fact, Member.PointsActivated):
                counts["activated"] += 1
            elif isinstance(fact, Member.PointsExpired):
                counts["expired_points"] += fact.points
            elif isinstance(fact, Member.TierChanged):
                counts["tiers_changed"] += 1
