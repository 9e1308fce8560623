"""Dependencies shared by the routers: the ledger, and who is calling with which role.

Keys and roles come from TALLY_API_KEYS; admin may do everything. A caller's actor, recorded
on every fact it causes, is {"name": "key:<sha256 prefix>", "role", "request_id"}.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.exceptions import HTTPException

from api.problems import STATUS, problem
from api.responses import ProblemJson
from tally.ledger import Ledger


class NotReady(Exception):
    """The ledger is still starting (migrating); answered 503 like a database outage."""


@functools.lru_cache(maxsize=1024)
def key_name(key: str) -> str:
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:8]


def _key_of(request: Request) -> str | None:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" and key.strip() else None


def _held(request: Request) -> tuple[str | None, frozenset[str] | None]:
    """The caller's key and the roles it holds (None for no key or an unknown one)."""
    key = _key_of(request)
    return key, request.app.state.keys.get(key) if key else None


def refusal(request: Request, roles: frozenset[str]) -> tuple[str, str] | None:
    """(code, detail) of a 401 for a missing or unknown key or a 403 for a key without
    any of `roles`; None when the caller may go on."""
    return _refused(_held(request)[1], roles)


def _refused(held: frozenset[str] | None, roles: frozenset[str]) -> tuple[str, str] | None:
    if not held:
        return "unauthenticated", "send Authorization: Bearer <key> with a known key"
    if not held & roles:
        return "forbidden", f"this key's roles ({', '.join(sorted(held))}) may not do this"
    return None


def allowed(*roles: str) -> Any:
    """A dependency that admits the given roles (and admin) and yields the caller's actor;
    its role is the one that granted the call: one of `roles` the key holds, else admin."""
    admitted = frozenset(roles) | {"admin"}

    async def caller(request: Request) -> dict[str, Any]:  # async: no thread hop for a lookup
        return actor_of(request, admitted)

    caller.roles = admitted  # read by the validation handler: 401/403 come before 422
    return Depends(caller)


def actor_of(request: Request, admitted: frozenset[str]) -> dict[str, Any]:
    """The caller's actor if its key holds one of the `admitted` roles; else a 401 or 403."""
    key, held = _held(request)
    refused = _refused(held, admitted)
    if refused is not None:
        raise HTTPException(STATUS[refused[0]], refused[1])
    role = min(held & admitted, key=lambda granted: (granted == "admin", granted))
    return {"name": key_name(key), "role": role, "request_id": request.state.request_id}


def route_refusal(request: Request) -> ProblemJson | None:
    """The auth refusal of the route a request matched, if any (for errors raised before it)."""
    route = request.scope.get("route")
    for dependency in getattr(getattr(route, "dependant", None), "dependencies", []):
        roles = getattr(dependency.call, "roles", None)
        refused = refusal(request, roles) if roles is not None else None
        if refused is not None:
            return problem(*refused)
    return None


def ledger_of(request: Request) -> Ledger:
    runtime = request.app.state.runtime
    if runtime is None:
        raise NotReady()
    return runtime.ledger


async def get_ledger(request: Request) -> Ledger:
    return ledger_of(request)


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
WRITING = frozenset({"pos", "support", "admin"})
Writer = Annotated[dict, allowed(*WRITING)]                   # enrol, post, redeem, activities
Reader = Annotated[dict, allowed("pos", "support", "finance")]  # read members
Support = Annotated[dict, allowed("support")]                 # adjustments, identities, merge
Historian = Annotated[dict, allowed("support", "finance")]    # timeline
Finance = Annotated[dict, allowed("finance")]                 # ledger entries, summary, verify
Anyone = Annotated[dict, allowed("pos", "support", "finance")]
Admin = Annotated[dict, allowed()]
