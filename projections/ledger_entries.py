"""Read model `ledger_entries` (+ `ledger_totals`): one row per point movement, in global
order, with the member's balance after it."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson
from psycopg import Cursor

from projections.base import Fact, ReadModel, member_ids

COLUMNS = ("position", "entry_id", "member_id", "version", "kind", "points", "available_after",
           "pending_after", "debt_after", "forgiven", "occurred_at", "recorded_at",
           "reference_type", "reference_id", "actor", "program_version")
_LAST_BALANCES = ("SELECT k.member_id, e.available_after, e.pending_after, e.debt_after "
                  "FROM unnest(%b::uuid[]) AS k(member_id) CROSS JOIN LATERAL ("
                  "SELECT available_after, pending_after, debt_after FROM ledger_entries "
                  "WHERE member_id = k.member_id ORDER BY position DESC LIMIT 1) AS e")
_ADD_TOTALS = ("INSERT INTO ledger_totals (kind, points, forgiven, entries) VALUES (%s, %s, %s, %s) "
               "ON CONFLICT (kind) DO UPDATE SET points = ledger_totals.points + EXCLUDED.points, "
               "forgiven = ledger_totals.forgiven + EXCLUDED.forgiven, "
               "entries = ledger_totals.entries + EXCLUDED.entries")


class LedgerEntriesReadModel(ReadModel):
    name = "ledger_entries"
    tables = ("ledger_entries", "ledger_totals")

    def fold(self, cursor: Cursor, facts: list[Fact]) -> None:
        balances: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0])
        for row in cursor.execute(_LAST_BALANCES, (member_ids(facts),)):
            balances[row["member_id"]] = [row["available_after"], row["pending_after"], row["debt_after"]]
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        with cursor.copy(f"COPY ledger_entries ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for fact in facts:
                row = self._entry(fact, balances[fact.event.originator_id])
                if row is not None:
                    copy.write_row(row)
                    total = totals[row[4]]
                    total[0] += row[5]
                    total[1] += row[9]
                    total[2] += 1
        cursor.executemany(_ADD_TOTALS, [(kind, *sums) for kind, sums in totals.items()])

    @staticmethod
    def _entry(fact: Fact, balance: list[int]) -> tuple | None:
        event, moved = fact.event, fact.moved
        if moved is None:
            return None
        balance[0] += moved.available
        balance[1] += moved.pending
        balance[2] += moved.debt
        return (fact.position, f"{event.originator_id}:{event.originator_version}",
                event.originator_id, event.originator_version, moved.kind, moved.points,
                *balance, moved.forgiven, event.occurred_at, event.timestamp,
                moved.reference_type, moved.reference_id, orjson.dumps(event.actor).decode(),
                moved.program_version)
