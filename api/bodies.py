"""JSON bodies read by the endpoint itself, for the routes tills call most.

A FastAPI body parameter (the content type read with the email package, the json module, a
TypeAdapter around the model) and the key and ledger dependencies cost ~45 us of the server's
one GIL per purchase (in-process ASGI calls, bench/); `json_body` gives the same value and the
same 422s. The route documents its body with `documented_body`, since FastAPI no longer sees it.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)
DOCUMENTED: dict[str, type[BaseModel]] = {}  # bodies to add to the OpenAPI components


def documented_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for a route whose endpoint reads `model` with `json_body`."""
    DOCUMENTED[model.__name__] = model
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}}


async def json_body(request: Request, model: type[Model]) -> Model:
    """The body as `model`, refused as FastAPI refuses a body parameter: not JSON (by content
    type or by syntax), missing, or invalid, each a RequestValidationError located in "body"."""
    raw = await request.body()
    if not raw:
        raise RequestValidationError([{"type": "missing", "loc": ("body",),
                                       "msg": "Field required", "input": None}])
    body = _decoded(raw) if json_media(request.headers.get("content-type", "")) else raw
    try:
        return model.model_validate(body, from_attributes=True)  # as FastAPI validates a body
    except ValidationError as refusal:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])}
             for error in refusal.errors(include_url=False)]) from None


def _decoded(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:  # the json module's verdict and message, as FastAPI gives it
        try:
            return json.loads(raw)
        except json.JSONDecodeError as error:
            raise RequestValidationError([{
                "type": "json_invalid", "loc": ("body", error.pos), "msg": "JSON decode error",
                "input": {}, "ctx": {"error": error.msg}}]) from None


def json_media(content_type: str) -> bool:
    """application/json or application/*+json, as FastAPI decides whether a body is JSON."""
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/")
                                            and media.endswith("+json"))


def add_documented_bodies(app: FastAPI) -> None:
    """Puts the bodies of `documented_body` routes (and the models they use) in the OpenAPI
    document's components, where their `$ref`s point."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for name, model in DOCUMENTED.items():
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for inner, definition in schema.pop("$defs", {}).items():
                    schemas.setdefault(inner, definition)
                schemas.setdefault(name, schema)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
