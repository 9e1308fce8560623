"""Read model `identities`: who holds each identity (kind, normalised value)."""

from __future__ import annotations

from functools import singledispatchmethod
from itertools import groupby
from typing import Any

from psycopg import Cursor

from domain.member import Member
from projections.base import Fact, ReadModel, as_json, upsert_rows

_HOLD = upsert_rows("identities", ("kind", "value", "member_id"), key=("kind", "value"))
_RELEASE = ("DELETE FROM identities i USING json_populate_recordset(NULL::identities, %s::json) "
            "AS r WHERE i.kind = r.kind AND i.value = r.value AND i.member_id = r.member_id")


class IdentitiesReadModel(ReadModel):
    name = "identities"
    tables = ("identities",)

    def fold(self, cursor: Cursor, facts: list[Fact]) -> None:
        """Writes each run of holds (the last hold of an identity wins) or of releases in one
        statement, runs in the order of the facts."""
        changes_of = self.changes  # bound once: a singledispatchmethod binds anew at each access
        changes = [change for fact in facts for change in changes_of(fact.event)]
        for statement, run in groupby(changes, key=lambda change: change[0]):
            rows = [row for _, row in run]
            if statement is _HOLD:
                rows = list({(row["kind"], row["value"]): row for row in rows}.values())
            cursor.execute(statement, (as_json(rows),))

    @singledispatchmethod
    def changes(self, event: Any) -> list[tuple[str, dict]]:
        return []

    @changes.register
    def _enrolled(self, event: Member.Enrolled) -> list[tuple[str, dict]]:
        return [(_HOLD, _row(i["kind"], i["value"], event)) for i in event.identities]

    @changes.register
    def _linked(self, event: Member.IdentityLinked) -> list[tuple[str, dict]]:
        return [(_HOLD, _row(event.kind, event.value, event))]

    @changes.register
    def _unlinked(self, event: Member.IdentityUnlinked) -> list[tuple[str, dict]]:
        return [(_RELEASE, _row(event.kind, event.value, event))]

    @changes.register
    def _absorbed(self, event: Member.MemberAbsorbed) -> list[tuple[str, dict]]:
        return [(_HOLD, _row(i["kind"], i["value"], event)) for i in event.identities]


def _row(kind: str, value: str, event: Any) -> dict[str, Any]:
    return {"kind": kind, "value": value, "member_id": event.originator_id}
