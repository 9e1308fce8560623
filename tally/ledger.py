"""The Ledger: every use case of Tally in one application (tables `ledger_*`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Iterable
from uuid import UUID

from domain.errors import InvalidInput, UnknownActivity
from domain.member import Member
from domain.rules import Rules
from tally.guarding import Outcome
from tally.members import MemberUseCases
from tally.batch import BatchUseCases


class Ledger(MemberUseCases, BatchUseCases):
    def redeem_points(self, *, member_id: UUID, redemption_id: str, points: int,
                      reward: str | None, occurred_at: datetime, actor: dict[str, Any],
                      request_hash: str) -> Outcome:
        """Spends points from the soonest-expiring lots.

        Raises MemberNotFound, IdempotencyConflict, MemberMerged, InsufficientPoints, Busy.
        """
        if points <= 0:
            raise InvalidInput("points", "must be above zero")

        def decide(member: Member, rules: Rules) -> dict[str, Any]:
            drawn = member.redeem(redemption_id, points, reward, occurred_at, actor)
            return {"redemption_id": redemption_id, "points": points, "lots": drawn}

        return self.receipted("redemption", redemption_id, request_hash, member_id,
                              occurred_at, actor, decide)

    def adjust_points(self, *, member_id: UUID, adjustment_id: str, points: int, reason: str,
                      ticket: str | None, occurred_at: datetime, actor: dict[str, Any],
                      request_hash: str) -> Outcome:
        """A support correction: a new lot (positive) or a spend (negative).

        Raises MemberNotFound, IdempotencyConflict, MemberMerged, InsufficientPoints, Busy.
        """
        if points == 0:
            raise InvalidInput("points", "must not be zero")

        def decide(member: Member, rules: Rules) -> dict[str, Any]:
            member.adjust(rules, adjustment_id, points, reason, ticket, occurred_at, actor)
            return {"adjustment_id": adjustment_id, "points": points}

        return self.receipted("adjustment", adjustment_id, request_hash, member_id,
                              occurred_at, actor, decide)

    def record_activity(self, *, member_id: UUID, activity_id: str, kind: str,
                        occurred_at: datetime, actor: dict[str, Any],
                        request_hash: str) -> Outcome:
        """Rewards a task (check-in, share, ...) within the program's limits.

        Raises UnknownActivity, MemberNotFound, IdempotencyConflict, MemberMerged,
        ActivityLimitReached, Busy.
        """
        if kind not in self.rules().activities:
            raise UnknownActivity(f"the program defines no activity {kind!r}")

        def decide(member: Member, rules: Rules) -> dict[str, Any]:
            earned = member.record_activity(rules, activity_id, kind, occurred_at, actor)
            return {"activity_id": activity_id, "kind": kind, "points_earned": earned}

        return self.receipted("activity", activity_id, request_hash, member_id,
                              occurred_at, actor, decide)

    def configure_program(self, document: dict[str, Any], actor: dict[str, Any]) -> dict[str, Any]:
        """Replaces the program; raises InvalidProgram listing every problem."""
        self.forget_program()
        program = self.program()
        program.redefine(document, actor)
        self.save(program)
        self.forget_program()
        return self.program_document(program)

    def program_document(self, program: Any = None) -> dict[str, Any]:
        program = program or self.program()
        return {**program.document, "version": program.version}

    def tick(self, as_of: datetime, due: Callable[[datetime], Iterable[UUID]]) -> dict[str, int]:
        """Records the time-driven facts due by `as_of` for every member `due` names."""
        return self.members_due(due(as_of), as_of)
