"""Every refusal as application/problem+json (RFC 9457) with the contract's stable code."""

from __future__ import annotations

from typing import Any

import psycopg
import psycopg_pool
from eventsourcing import persistence
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from api.bodies import json_media
from api.responses import ProblemJson
from domain.errors import LedgerError

STATUS = {
    "unauthenticated": 401, "forbidden": 403, "member_not_found": 404,
    "transaction_not_found": 404, "identity_not_found": 404, "not_found": 404,
    "idempotency_conflict": 409, "insufficient_points": 409, "identity_taken": 409,
    "member_merged": 409, "activity_limit_reached": 409, "busy": 409,
    "validation_error": 422, "return_exceeds_purchase": 422, "unknown_activity": 422,
    "invalid_program": 422, "unavailable": 503,
}
TITLES = {
    401: "Unauthenticated", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
    409: "Conflict", 422: "Unprocessable content", 500: "Internal server error",
    503: "Service unavailable",
}
HTTP_CODES = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
NOT_JSON = "send the body as JSON with Content-Type: application/json"
DATABASE_DOWN = (persistence.OperationalError, persistence.InterfaceError,
                 psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout)


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An error answer; `code` is stable API, `errors` lists the fields of a validation_error."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldProblem] | None = None
    merged_into: str | None = None


def problem(code: str, detail: str, status: int | None = None, headers: dict | None = None,
            **extra: Any) -> ProblemJson:
    status = status or STATUS[code]
    body = {"type": f"https://tally.dev/problems/{code}", "title": TITLES.get(status, "Error"),
            "status": status, "detail": detail, "code": code, **extra}
    return ProblemJson(body, status_code=status, headers=headers)


def documented(*codes: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the problems a route can answer."""
    by_status: dict[int, list[str]] = {}
    for code in ("unauthenticated", "forbidden", "validation_error", *codes, "unavailable"):
        by_status.setdefault(STATUS[code], []).append(code)
    return {status: {"model": Problem, "content": {"application/problem+json": {}},
                     "description": "code: " + ", ".join(found)}
            for status, found in by_status.items()}


def _field(error: dict[str, Any]) -> str:
    if error.get("type") == "json_invalid":  # its location is a character offset
        return "body"
    parts = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def _message(error: dict[str, Any]) -> str:
    if error.get("type") == "json_invalid":
        return f"not valid JSON: {error.get('ctx', {}).get('error', 'cannot be parsed')}"
    return error.get("msg", "invalid").removeprefix("Value error, ")


def field_problems(errors: list[dict[str, Any]]) -> tuple[str, list[dict[str, str]]]:
    """(detail, [{"field", "message"}]) of pydantic's errors."""
    fields = [{"field": _field(error), "message": _message(error)} for error in errors]
    return "; ".join(f"{f['field']}: {f['message']}" for f in fields), fields


def validation_problem(errors: list[dict[str, Any]]) -> ProblemJson:
    detail, fields = field_problems(errors)
    return problem("validation_error", detail, errors=fields)


def install(app: FastAPI, authorise: Any) -> None:
    """Maps domain errors, bad input, missing routes and database outages to problems."""

    @app.exception_handler(LedgerError)
    def ledger_error(request: Request, error: LedgerError) -> ProblemJson:
        extra: dict[str, Any] = {}
        if hasattr(error, "errors"):
            extra["errors"] = error.errors
        if hasattr(error, "merged_into"):
            extra["merged_into"] = error.merged_into
        return problem(error.code, error.detail, **extra)

    @app.exception_handler(RequestValidationError)
    def bad_request(request: Request, error: RequestValidationError) -> ProblemJson:
        if request.app.state.runtime is None:  # still starting: no keys to check yet
            return unavailable(request, error)
        refusal = authorise(request)  # 401 and 403 come before 422
        if refusal is not None:
            return refusal
        errors = list(error.errors())
        sent_as_json = json_media(request.headers.get("content-type", ""))
        if not sent_as_json and any(error.get("loc") == ("body",) for error in errors):
            return problem("validation_error", NOT_JSON,
                           errors=[{"field": "body", "message": NOT_JSON}])
        return validation_problem(errors)

    @app.exception_handler(HTTPException)
    def http_error(request: Request, error: HTTPException) -> ProblemJson:
        code = HTTP_CODES.get(error.status_code, "validation_error")
        return problem(code, str(error.detail), status=error.status_code, headers=error.headers)

    @app.exception_handler(Exception)
    def crashed(request: Request, error: Exception) -> ProblemJson:
        return problem("internal_error", "the server failed; re-send the write with the same id "
                       "to learn whether it was recorded", status=500)

    for outage in DATABASE_DOWN:
        app.add_exception_handler(outage, unavailable)


def unavailable(request: Request, error: Exception) -> ProblemJson:
    return problem("unavailable", "the database cannot be reached; nothing was recorded",
                   headers={"Retry-After": "1"})
