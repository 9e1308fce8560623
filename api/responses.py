"""JSON out with orjson: times in UTC with `Z`, decimals as strings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from fastapi.responses import JSONResponse


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "__dataclass_fields__"):
        return {name: getattr(value, name) for name in value.__dataclass_fields__}
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, default=_default,
                        option=orjson.OPT_UTC_Z | orjson.OPT_PASSTHROUGH_DATACLASS)


class Json(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


class ProblemJson(Json):
    media_type = "application/problem+json"


def created_or_replayed(body: dict[str, Any], replayed: bool) -> Json:
    """201 for a first write; 200 with `Idempotent-Replayed: true` for a replay."""
    if replayed:
        return Json(body, status_code=200, headers={"Idempotent-Replayed": "true"})
    return Json(body, status_code=201)
