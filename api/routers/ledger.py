"""Finance: ledger entries (a JSON page, or every row as CSV / NDJSON), summary, verify.

Entries and the summary read the projected tables; the `Tally-Read-Position` header gives the
notification id up to which those tables are complete.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Any, Iterator
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from api.deps import Finance, LedgerDep, NotReady
from api.models import Instant
from api.problems import documented
from api.responses import Json
from tally import audit
from tally.verify import verify_ledger

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])
POSITION_HEADER = "Tally-Read-Position"


def read_pool(request: Request) -> Any:
    runtime = request.app.state.runtime
    if runtime is None:
        raise NotReady()
    return audit.read_pool(runtime)


ReadPool = Annotated[Any, Depends(read_pool)]


class Reference(BaseModel):
    type: str
    id: str


class EntryPublic(BaseModel):
    position: int
    entry_id: str
    member_id: str
    kind: str
    points: int
    available_after: int
    pending_after: int
    debt_after: int
    forgiven: int
    occurred_at: datetime
    recorded_at: datetime
    reference: Reference
    actor: dict[str, Any]
    program_version: int | None


class EntriesPage(BaseModel):
    entries: list[EntryPublic]
    next_after: int | None


class SummaryPublic(BaseModel):
    as_of: datetime
    members: int
    available: int
    pending: int
    debt: int
    issued: int
    redeemed: int
    expired: int
    clawed_back: int
    forgiven: int
    adjusted: int
    balanced: bool


class Mismatch(BaseModel):
    member_id: str
    version: int | None = None
    kind: str
    detail: str


class VerifyReport(BaseModel):
    ok: bool
    members_checked: int
    events_checked: int
    mismatches: list[Mismatch]


_REFERENCE = audit.EXPORT_COLUMNS.index("reference_type")


def csv_chunks(batches: Iterator[list[tuple]]) -> Iterator[str]:
    """A header row of the field names, then one line per entry, a batch per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(audit.EXPORT_COLUMNS)
    for batch in batches:
        writer.writerows(batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def ndjson_line(row: tuple) -> bytes:
    """One entry in the JSON page's shape (`reference` as {"type", "id"})."""
    entry = dict(zip(audit.EXPORT_COLUMNS[:_REFERENCE], row))
    reference_type, reference_id, actor, program_version = row[_REFERENCE:]
    entry.update(reference={"type": reference_type, "id": reference_id},
                 actor=orjson.Fragment(actor), program_version=program_version)
    return orjson.dumps(entry) + b"\n"


def ndjson_chunks(batches: Iterator[list[tuple]]) -> Iterator[bytes]:
    """One JSON entry per line, a batch per chunk."""
    for batch in batches:
        yield b"".join(ndjson_line(row) for row in batch)


EXPORTS = {"text/csv": csv_chunks, "application/x-ndjson": ndjson_chunks}


def _export_type(request: Request) -> str | None:
    accepted = request.headers.get("accept", "")
    return next((media for media in EXPORTS if media in accepted), None)


@router.get("/entries", response_model=EntriesPage,
            responses={**documented(), 200: {"content": {"text/csv": {},
                                                         "application/x-ndjson": {}}}})
def entries(request: Request, pool: ReadPool, actor: Finance,
            member_id: UUID | None = None,
            since: Annotated[Instant | None, Query(alias="from")] = None,
            until: Annotated[Instant | None, Query(alias="to")] = None,
            after: Annotated[int | None, Query(ge=0)] = None,
            limit: Annotated[int, Query(ge=1, le=audit.MAX_LIMIT)] = audit.DEFAULT_LIMIT) -> Any:
    """Point movements in global order, `from` ≤ recorded_at < `to`. With `Accept: text/csv`
    or `application/x-ndjson`, every matching row is streamed (`limit` does not apply)."""
    which = audit.EntryFilter(member_id, since, until, after)
    headers = {POSITION_HEADER: str(audit.read_position(pool))}
    media = _export_type(request)
    if media is None:
        return Json(audit.entries_page(pool, which, limit), headers=headers)
    rows = audit.entries_export(pool, which)
    return StreamingResponse(EXPORTS[media](rows), media_type=media, headers=headers)


@router.get("/summary", response_model=SummaryPublic, responses=documented())
def summary(ledger: LedgerDep, pool: ReadPool, actor: Finance,
            as_of: Annotated[Instant | None, Query()] = None) -> Json:
    """Totals of every flow and balance as recorded at `as_of` (default now), and whether
    issued + adjusted − redeemed − expired − clawed_back = available + pending − debt."""
    headers = {POSITION_HEADER: str(audit.read_position(pool))}
    return Json(audit.ledger_summary(pool, as_of, ledger.clock()), headers=headers)


@router.get("/verify", response_model=VerifyReport, responses=documented())
def verify(request: Request, pool: ReadPool, actor: Finance) -> Json:
    """Refolds every member from the event store, rechecks its hash chain from the stored
    rows and compares it with every read model (after the read side has caught up)."""
    runtime = request.app.state.runtime
    report = verify_ledger(runtime.ledger, pool, audit.read_side_waiter(runtime))
    return Json(report, headers={POSITION_HEADER: str(audit.read_position(pool))})
