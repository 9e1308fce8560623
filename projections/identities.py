"""Read model `identities`: who holds each identity (kind, normalised value)."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from psycopg import Cursor

from domain.member import Member
from projections.base import Fact, ReadModel, member_facts

_HOLD = ("INSERT INTO identities (kind, value, member_id) VALUES (%s, %s, %s) "
         "ON CONFLICT (kind, value) DO UPDATE SET member_id = EXCLUDED.member_id")
_RELEASE = "DELETE FROM identities WHERE kind = %s AND value = %s AND member_id = %s"


class IdentitiesReadModel(ReadModel):
    name = "identities"
    tables = ("identities",)

    def fold(self, cursor: Cursor, facts: list[Fact]) -> None:
        for fact in member_facts(facts):
            for statement, params in self.changes(fact.event):
                cursor.execute(statement, params)

    @singledispatchmethod
    def changes(self, event: Any) -> list[tuple[str, tuple]]:
        return []

    @changes.register
    def _enrolled(self, event: Member.Enrolled) -> list[tuple[str, tuple]]:
        return [(_HOLD, (i["kind"], i["value"], event.originator_id)) for i in event.identities]

    @changes.register
    def _linked(self, event: Member.IdentityLinked) -> list[tuple[str, tuple]]:
        return [(_HOLD, (event.kind, event.value, event.originator_id))]

    @changes.register
    def _unlinked(self, event: Member.IdentityUnlinked) -> list[tuple[str, tuple]]:
        return [(_RELEASE, (event.kind, event.value, event.originator_id))]

    @changes.register
    def _absorbed(self, event: Member.MemberAbsorbed) -> list[tuple[str, tuple]]:
        return [(_HOLD, (i["kind"], i["value"], event.originator_id)) for i in event.identities]
