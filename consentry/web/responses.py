"""The JSON answers every router returns, and the caching headers of anything carrying secrets or tokens."""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.responses import JSONResponse, Response

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class ORJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:  # e.g. an integer beyond 64 bits a client stored in free-form metadata
            return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return ORJSONResponse(content, status_code=status, headers=headers)
