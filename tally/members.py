"""Use cases of a member's life: enrolment, identities, merges and reading the record."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4


from domain.document import member_document
from domain.errors import IdentityNotFound, IdentityTaken, InvalidInput, MemberNotFound
from domain.guards import IdentityClaim, Receipt, ReferralCode, guard_id
from domain.member import Member
from tally.application import LedgerCore, system
from tally.guarding import Outcome, check_replay, retrying

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_SHORT_HISTORY = 200  # facts folded in one read for a document as of a moment, rather than searched
_FEW_VERSIONS = 32  # the last step of that search reads this many facts at once


def referral_code_for(member_id: UUID, attempt: int) -> str:
    """An 8-character code derived from the member id; `attempt` picks another on a clash."""
    number = int.from_bytes(hashlib.sha256(f"{member_id}:{attempt}".encode()).digest()[:8], "big")
    return "".join(_CODE_ALPHABET[(number >> (5 * i)) & 31] for i in range(8))


class MemberUseCases(LedgerCore):
    def enroll(self, *, member_id: UUID | None, identities: list[tuple[str, str]],
               referrer_code: str | None, occurred_at: datetime, actor: dict[str, Any],
               request_hash: str) -> Outcome:
        """Enrols a member; idempotent on a client-chosen member_id.

        Raises InvalidInput (unknown referrer_code), IdentityTaken, IdempotencyConflict, Busy.
        """
        chosen, member_id = member_id is not None, member_id or uuid4()
        identities = list(dict.fromkeys(identities))

        def attempt() -> Outcome:
            existing = self._get(member_id, object) if chosen else None
            if isinstance(existing, Member):
                check_replay(existing.request_hash, request_hash, f"member id {member_id}")
                return Outcome(self.document_at_version(str(member_id), 1, self.program().version),
                               replayed=True)
            if existing is not None:
                raise InvalidInput("member_id", "this id is already used by something else")
            referrer_id = self._referrer(referrer_code)
            claims = [self._claim_for(kind, value, str(member_id)) for kind, value in identities]
            code = self._free_referral_code(member_id)
            member = Member.enroll(member_id, [{"kind": k, "value": v} for k, v in identities],
                                   code, referrer_id, request_hash, occurred_at, actor)
            self.save(member, ReferralCode.assign(code, str(member_id)), *claims)
            return Outcome(self.document(member))

        with self.locks.holding(member_id):
            return retrying(attempt)

    def _referrer(self, code: str | None) -> str | None:
        if code is None:
            return None
        found = self._get(ReferralCode.id_for(code.strip().upper()), ReferralCode)
        if found is None:
            raise InvalidInput("referrer_code", f"no member has the referral code {code!r}")
        return str(self.survivor(self.member(found.member_id)).id)

    def _free_referral_code(self, member_id: UUID) -> str:
        attempt = 0
        while ReferralCode.id_for(code := referral_code_for(member_id, attempt)) in self.repository:
            attempt += 1
        return code

    def _claim_for(self, kind: str, value: str, member_id: str) -> IdentityClaim:
        """A claim of the identity for `member_id`, new or taken over from a release."""
        claim = self._get(IdentityClaim.id_for(kind, value), IdentityClaim)
        if claim is None:
            return IdentityClaim.claim(kind, value, member_id)
        if claim.holder is not None and claim.holder != member_id:
            raise IdentityTaken(f"{kind} {value} belongs to another member")
        claim.transfer(member_id)
        return claim

    def link_identity(self, member_id: UUID, kind: str, value: str, actor: dict[str, Any]) -> Outcome:
        """Links an identity; replayed (200) if the member already holds it. IdentityTaken."""

        def attempt() -> Outcome:
            member = self.member(member_id)
            if member.holds(kind, value):
                return Outcome(self.document(member), replayed=True)
            member.ensure_active()
            claim = self._claim_for(kind, value, str(member.id))
            member.link_identity(kind, value, self.clock(), actor)
            self.save(member, claim)
            return Outcome(self.document(member))

        with self.locks.holding(member_id):
            return retrying(attempt)

    def unlink_identity(self, member_id: UUID, kind: str, value: str, actor: dict[str, Any]) -> Outcome:
        """Unlinks an identity the member holds; IdentityNotFound otherwise."""

        def attempt() -> Outcome:
            member = self.member(member_id)
            if not member.holds(kind, value):
                raise IdentityNotFound(f"member {member_id} does not hold {kind} {value}")
            member.ensure_active()
            claim = self._get(IdentityClaim.id_for(kind, value), IdentityClaim)
            member.unlink_identity(kind, value, self.clock(), actor)
            claim.transfer(None)
            self.save(member, claim)
            return Outcome(self.document(member))

        with self.locks.holding(member_id):
            return retrying(attempt)

    def merge(self, *, survivor_id: UUID, absorbed_id: UUID, merge_id: str, reason: str,
              occurred_at: datetime, actor: dict[str, Any], request_hash: str) -> Outcome:
        """Moves everything of `absorbed_id` to the survivor; the absorbed ends `merged`.

        Raises MemberNotFound, IdempotencyConflict, InvalidInput (itself, already merged),
        MemberMerged (survivor merged), Busy.
        """

        def attempt() -> Outcome:
            survivor, absorbed = self.member(survivor_id), self.member(absorbed_id)
            receipt = self._get(guard_id("merge", merge_id), Receipt)
            if receipt is not None:
                check_replay(receipt.request_hash, request_hash, f"merge id {merge_id!r}")
                return Outcome(self.document_at_version(
                    receipt.member_id, receipt.member_version,
                    receipt.result["_program_version"]), replayed=True)
            rules = self.rules()
            for member in (survivor, absorbed):
                if member.status == "active":
                    member.catch_up(rules, occurred_at, system(actor))
            moved = list(absorbed.identities)
            survivor.absorb(rules, absorbed, merge_id, reason, occurred_at, actor)
            claims = [self._get(IdentityClaim.id_for(i["kind"], i["value"]), IdentityClaim)
                      for i in moved]
            for claim in claims:
                claim.transfer(str(survivor.id))
            receipt = Receipt.issue("merge", merge_id, request_hash, str(survivor.id),
                                    survivor.version, {"_program_version": rules.version})
            self.save(survivor, absorbed, receipt, *claims)
            return Outcome(self.document(survivor, rules))

        with self.locks.holding(survivor_id, absorbed_id):
            return retrying(attempt)

    def member_as_of(self, member_id: UUID, as_of: datetime) -> dict[str, Any]:
        """The member document as the ledger recorded it at `as_of` (recorded time). A short
        history is folded from its start; a long one is read from the snapshot nearest its
        last fact recorded by then (a member of 10,000 facts: ~100 ms folded)."""
        latest = next(iter(self.events.get(member_id, desc=True, limit=1)), None)
        member = None
        if latest is not None and latest.originator_version <= _SHORT_HISTORY:
            for fact in self.events.get(member_id):
                if fact.timestamp > as_of:
                    break
                member = fact.mutate(member)
        elif latest is not None:
            version = self._last_version_recorded_by(member_id, as_of, latest)
            member = self.aggregate_at(member_id, version) if version else None
        if not isinstance(member, Member):
            raise MemberNotFound(f"no member {member_id} as of {as_of.isoformat()}")
        return member_document(member, self.rules(), as_of)

    def _last_version_recorded_by(self, member_id: UUID, moment: datetime, latest: Any) -> int:
        """The version of the member's last fact recorded at or before `moment` (0: none).
        Each fact is recorded after the one before it, so recorded times rise with versions:
        a binary search reads one fact a step, then the last few versions in one read."""
        if latest.timestamp <= moment:
            return latest.originator_version
        low, high = 0, latest.originator_version  # `low` recorded by then (0: none), `high` after
        while high - low > _FEW_VERSIONS:
            middle = (low + high) // 2
            fact = next(iter(self.events.get(member_id, gt=middle - 1, lte=middle)))
            low, high = (middle, high) if fact.timestamp <= moment else (low, middle)
        for fact in self.events.get(member_id, gt=low, lte=high - 1):
            if fact.timestamp > moment:
                break
            low = fact.originator_version
        return low
