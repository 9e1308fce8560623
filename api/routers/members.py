"""Members: enrol, read (now or as of a moment), look up by identity, identities, merge."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import LedgerDep, Reader, Support, Writer
from api.documents import MemberPublic, replay_of
from api.models import Identity, IdentityKind, Instant, MemberCreate, MergeCreate
from api.problems import documented
from api.responses import Json, created_or_replayed
from domain.errors import IdentityNotFound, MemberNotFound
from domain.identities import normalise
from tally.guarding import digest

router = APIRouter(prefix="/v1/members", tags=["members"])


@router.post("", status_code=201, response_model=MemberPublic,
             responses={**documented("identity_taken", "idempotency_conflict", "busy"),
                        **replay_of(MemberPublic)})
def enroll(body: MemberCreate, ledger: LedgerDep, actor: Writer) -> Json:
    """Enrols a member (idempotent on a client-chosen `member_id`)."""
    outcome = ledger.enroll(member_id=body.member_id,
                            identities=[identity.pair() for identity in body.identities],
                            referrer_code=body.referrer_code,
                            occurred_at=body.occurred_at or ledger.clock(), actor=actor,
                            request_hash=digest(body.request()))
    return created_or_replayed(outcome.body, outcome.replayed)


@router.get("", response_model=MemberPublic, responses=documented("member_not_found"))
def look_up(identity_kind: Annotated[IdentityKind, Query()], identity_value: str,
            ledger: LedgerDep, actor: Reader) -> Json:
    """The member holding an identity (after a merge, the survivor)."""
    try:
        member = ledger.holder_of(identity_kind, normalise(identity_kind, identity_value))
    except IdentityNotFound as refusal:
        raise MemberNotFound(refusal.detail) from None
    return Json(ledger.document(member))


@router.get("/{member_id}", response_model=MemberPublic, responses=documented("member_not_found"))
def read(member_id: UUID, ledger: LedgerDep, actor: Reader,
         as_of: Annotated[Instant | None, Query()] = None) -> Json:
    """The member document now, or as the ledger recorded it at `as_of`."""
    if as_of is not None:
        return Json(ledger.member_as_of(member_id, as_of))
    return Json(ledger.document(ledger.member(member_id)))


@router.post("/{member_id}/identities", status_code=201, response_model=MemberPublic,
             responses={**documented("member_not_found", "identity_taken", "member_merged",
                                     "busy"),
                        200: {"model": MemberPublic, "description": "Already held by this member"}})
def link_identity(member_id: UUID, body: Identity, ledger: LedgerDep, actor: Support) -> Json:
    """Links an identity: 201, or 200 if this member already holds it."""
    outcome = ledger.link_identity(member_id, *body.pair(), actor)
    return Json(outcome.body, status_code=200 if outcome.replayed else 201)


@router.delete("/{member_id}/identities/{kind}/{value}", response_model=MemberPublic,
               responses=documented("member_not_found", "identity_not_found", "member_merged",
                                    "busy"))
def unlink_identity(member_id: UUID, kind: IdentityKind, value: str, ledger: LedgerDep,
                    actor: Support) -> Json:
    """Unlinks an identity this member holds."""
    return Json(ledger.unlink_identity(member_id, kind, normalise(kind, value), actor).body)


@router.post("/{member_id}/merge", status_code=201, response_model=MemberPublic,
             responses={**documented("member_not_found", "idempotency_conflict", "member_merged",
                                     "busy"),
                        **replay_of(MemberPublic)})
def merge(member_id: UUID, body: MergeCreate, ledger: LedgerDep, actor: Support) -> Json:
    """The survivor (`member_id`) absorbs `absorbed_member_id`; answers the survivor."""
    outcome = ledger.merge(survivor_id=member_id, absorbed_id=body.absorbed_member_id,
                           merge_id=body.merge_id, reason=body.reason,
                           occurred_at=body.occurred_at or ledger.clock(), actor=actor,
                           request_hash=digest(body.request()))
    return created_or_replayed(outcome.body, outcome.replayed)
