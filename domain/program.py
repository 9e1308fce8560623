"""The loyalty program as an aggregate: each change is a fact, and its version names the rules."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate

from domain.guards import guard_id
from domain.rules import DEFAULT_PROGRAM, Rules

PROGRAM_ID = guard_id("program", "current")


class Program(Aggregate):
    class Defined(Aggregate.Created):
        document: dict[str, Any]
        actor: dict[str, Any]

        def apply(self, program: Program) -> None:
            program.document = self.document

    class Redefined(Aggregate.Event):
        document: dict[str, Any]
        actor: dict[str, Any]

        def apply(self, program: Program) -> None:
            program.document = self.document

    @classmethod
    def define_default(cls, actor: dict[str, Any]) -> Program:
        return cls._create(cls.Defined, id=PROGRAM_ID, document=DEFAULT_PROGRAM, actor=actor)

    def redefine(self, document: dict[str, Any], actor: dict[str, Any]) -> None:
        """Replaces the whole document; raises InvalidProgram listing every problem."""
        Rules.parse(document, self.version + 1)
        self.trigger_event(self.Redefined, document=document, actor=actor)

    @property
    def rules(self) -> Rules:
        cached = self.__dict__.get("_rules")
        if cached is None or cached.version != self.version:
            cached = Rules.parse(self.document, self.version)
            self.__dict__["_rules"] = cached
        return cached
