"""The refusals the ledger can give. Each carries a stable `code` (contract §1)."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every refusal; `code` is the contract's stable error code."""

    code = "ledger_error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


class MemberNotFound(LedgerError):
    code = "member_not_found"


class TransactionNotFound(LedgerError):
    code = "transaction_not_found"


class IdentityNotFound(LedgerError):
    code = "identity_not_found"


class IdempotencyConflict(LedgerError):
    code = "idempotency_conflict"


class InsufficientPoints(LedgerError):
    code = "insufficient_points"


class IdentityTaken(LedgerError):
    code = "identity_taken"


class MemberMerged(LedgerError):
    code = "member_merged"

    def __init__(self, member_id: str, merged_into: str) -> None:
        super().__init__(f"member {member_id} was merged into {merged_into}")
        self.merged_into = merged_into


class ActivityLimitReached(LedgerError):
    code = "activity_limit_reached"


class Busy(LedgerError):
    code = "busy"


class ReturnExceedsPurchase(LedgerError):
    code = "return_exceeds_purchase"


class UnknownActivity(LedgerError):
    code = "unknown_activity"


class InvalidInput(LedgerError):
    """A request that is well-formed JSON but breaks a rule; lists the fields."""

    code = "validation_error"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.errors = [{"field": field, "message": message}]


class InvalidProgram(LedgerError):
    code = "invalid_program"

    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{p['field']}: {p['message']}" for p in problems))
        self.errors = problems
