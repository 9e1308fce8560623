"""How each fact reads on a member's statement: the points it moved and one plain sentence.

`movement(fact)` is the ledger entry a fact makes (None for facts that move no points);
`points` is the signed change of the net balance (available + pending − debt), and the
three deltas say where it landed. The ledger entries read model, the timeline and the
summary all use this one definition.
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any, NamedTuple

from domain.member import Member


class Movement(NamedTuple):
    """Immutable; a named tuple rather than a frozen dataclass because every timeline fact and
    every fact a read model follows builds one: 0.26 against 0.82 us."""

    kind: str  # earn activate redeem clawback expire adjust referral activity merge_in merge_out
    points: int
    available: int
    pending: int
    debt: int
    reference_type: str
    reference_id: str
    forgiven: int = 0
    program_version: int | None = None


def _grant(kind: str, fact: Any, reference_type: str, reference_id: str) -> Movement:
    lot = fact.lot
    pending = lot.remaining if lot is not None and lot.pending else 0
    available = lot.remaining if lot is not None and not lot.pending else 0
    return Movement(kind, fact.points, available, pending, -fact.debt_paid, reference_type,
                    reference_id, program_version=fact.program_version)


@singledispatch
def movement(fact: Any) -> Movement | None:
    return None


@movement.register
def _(fact: Member.PointsEarned) -> Movement:
    return _grant("earn", fact, "transaction", f"{fact.channel}/{fact.transaction_id}")


@movement.register
def _(fact: Member.ReferralCredited) -> Movement:
    return _grant("referral", fact, "referral", fact.counterpart_id)


@movement.register
def _(fact: Member.ActivityRewarded) -> Movement:
    return _grant("activity", fact, "activity", fact.activity_id)


@movement.register
def _(fact: Member.PointsAdjusted) -> Movement:
    if fact.points > 0:
        return _grant("adjust", fact, "adjustment", fact.adjustment_id)
    return Movement("adjust", fact.points, fact.points, 0, 0, "adjustment", fact.adjustment_id,
                    program_version=fact.program_version)


@movement.register
def _(fact: Member.PointsRedeemed) -> Movement:
    return Movement("redeem", -fact.points, -fact.points, 0, 0, "redemption", fact.redemption_id)


@movement.register
def _(fact: Member.PointsActivated) -> Movement:
    return Movement("activate", 0, fact.points, -fact.points, 0, "lot", fact.lot_id)


@movement.register
def _(fact: Member.PointsExpired) -> Movement:
    return Movement("expire", -fact.points, -fact.points, 0, 0, "lot", fact.lot_id)


@movement.register
def _(fact: Member.PurchaseReturned) -> Movement:
    pending = sum(part["points"] for part in fact.taken if part.get("pending"))
    available = sum(part["points"] for part in fact.taken) - pending
    return Movement("clawback", -(available + pending + fact.debt_created), -available, -pending,
                    fact.debt_created, "return",
                    f"{fact.channel}/{fact.transaction_id}/{fact.return_id}",
                    forgiven=fact.forgiven, program_version=fact.program_version)


@movement.register
def _(fact: Member.MemberAbsorbed) -> Movement:
    settled = sum(part["points"] for part in fact.settled)
    pending = sum(lot.remaining for lot in fact.lots if lot.pending)
    available = sum(lot.remaining for lot in fact.lots if not lot.pending)
    return Movement("merge_in", available + pending - fact.debt, available - settled, pending,
                    fact.debt - settled, "merge", fact.merge_id)


@movement.register
def _(fact: Member.MergedAway) -> Movement:
    return Movement("merge_out", fact.debt - fact.available - fact.pending, -fact.available,
                    -fact.pending, -fact.debt, "merge", fact.merge_id)


def _grant_words(fact: Any) -> str:
    paid = f", {fact.debt_paid} of them paying debt" if fact.debt_paid else ""
    state = " (pending)" if fact.lot is not None and fact.lot.pending else ""
    return f"{fact.points} points{state}{paid}"


@singledispatch
def summary(fact: Any) -> str:
    return type(fact).__name__


@summary.register
def _(fact: Member.Enrolled) -> str:
    referred = " (referred)" if fact.referrer_id else ""
    return f"Enrolled with referral code {fact.referral_code}{referred}"


@summary.register
def _(fact: Member.IdentityLinked) -> str:
    return f"Linked {fact.kind} {fact.value}"


@summary.register
def _(fact: Member.IdentityUnlinked) -> str:
    return f"Unlinked {fact.kind} {fact.value}"


@summary.register
def _(fact: Member.PointsEarned) -> str:
    return (f"Earned {_grant_words(fact)} for {fact.channel}/{fact.transaction_id} "
            f"({fact.amount} {fact.currency}, {fact.tier} ×{fact.tier_multiplier})")


@summary.register
def _(fact: Member.ReferralCredited) -> str:
    other = "referring" if fact.role == "referrer" else "being referred by"
    return f"Earned {_grant_words(fact)} for {other} member {fact.counterpart_id}"


@summary.register
def _(fact: Member.ActivityRewarded) -> str:
    return f"Earned {_grant_words(fact)} for {fact.kind} on {fact.local_day}"


@summary.register
def _(fact: Member.PointsAdjusted) -> str:
    ticket = f", ticket {fact.ticket}" if fact.ticket else ""
    return f"Adjusted {fact.points:+d} points: {fact.reason}{ticket}"


@summary.register
def _(fact: Member.PointsRedeemed) -> str:
    reward = f" for {fact.reward}" if fact.reward else ""
    lots = len(fact.drawn)
    return f"Redeemed {fact.points} points{reward} ({fact.redemption_id}, from {lots} lot{'s' * (lots != 1)})"


@summary.register
def _(fact: Member.PointsActivated) -> str:
    return f"{fact.points} pending points of lot {fact.lot_id} became available"


@summary.register
def _(fact: Member.PointsExpired) -> str:
    return f"{fact.points} points of lot {fact.lot_id} expired"


@summary.register
def _(fact: Member.PurchaseReturned) -> str:
    taken = sum(part["points"] for part in fact.taken)
    extra = f", {fact.debt_created} owed as debt" if fact.debt_created else ""
    extra += f", {fact.forgiven} forgiven" if fact.forgiven else ""
    return (f"Return {fact.return_id} of {fact.amount} on {fact.channel}/{fact.transaction_id}: "
            f"{taken} points clawed back{extra}")


@summary.register
def _(fact: Member.TierChanged) -> str:
    until = f" until {fact.expires_at:%Y-%m-%d}" if fact.expires_at else ""
    verb = {"upgrade": "Upgraded", "renewed": "Renewed", "downgrade": "Downgraded"}[fact.reason]
    return f"{verb} from {fact.from_tier} to {fact.to_tier}{until} (qualifying spend {fact.qualifying_spend:.2f})"


@summary.register
def _(fact: Member.MemberAbsorbed) -> str:
    return f"Absorbed member {fact.absorbed_id} ({fact.merge_id}: {fact.reason})"


@summary.register
def _(fact: Member.MergedAway) -> str:
    return f"Merged into member {fact.survivor_id} ({fact.merge_id}: {fact.reason})"
