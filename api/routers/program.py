"""The loyalty program: read by every role, replaced by admins (each change a new version)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from api.deps import Admin, Anyone, LedgerDep
from api.problems import documented
from api.responses import Json

router = APIRouter(prefix="/v1/program", tags=["program"])


@router.get("", responses=documented())
def read_program(ledger: LedgerDep, actor: Anyone) -> Json:
    """The current program document with its `version`."""
    return Json(ledger.program_document())


@router.put("", responses=documented("invalid_program"))
def replace_program(ledger: LedgerDep, actor: Admin,
                    document: Any = Body(..., description="the whole program document")) -> Json:
    """Replaces the program; 422 invalid_program lists every problem."""
    body = {key: value for key, value in document.items() if key != "version"} \
        if isinstance(document, dict) else document
    return Json(ledger.configure_program(body, actor))
