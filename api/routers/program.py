"""The loyalty program: read by every role, replaced by admins (each change a new version)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from api.deps import Admin, Anyone, LedgerDep
from api.documents import ProgramPublic
from api.problems import documented
from api.responses import Json

router = APIRouter(prefix="/v1/program", tags=["program"])


def _document_schema() -> dict[str, Any]:
    """The request schema of a PUT: the program without `version` (its parts are components,
    present because GET answers ProgramPublic)."""
    schema = ProgramPublic.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    schema["properties"].pop("version")
    schema["required"].remove("version")
    return schema


@router.get("", response_model=ProgramPublic, responses=documented())
def read_program(ledger: LedgerDep, actor: Anyone) -> Json:
    """The current program document with its `version`."""
    return Json(ledger.program_document())


@router.put("", response_model=ProgramPublic, responses=documented("invalid_program"),
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/json": {"schema": _document_schema()}}}})
def replace_program(ledger: LedgerDep, actor: Admin, document: Any = Body(...)) -> Json:
    """Replaces the whole program (a `version` in the body is ignored) and answers it with its
    new version; 422 invalid_program lists every problem."""
    body = {key: value for key, value in document.items() if key != "version"} \
        if isinstance(document, dict) else document
    return Json(ledger.configure_program(body, actor))
