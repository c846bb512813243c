"""Reading OAuth parameters from a query string, a form body or a JSON body.

RFC 6749 §3.1/§3.2: a parameter sent more than once is an error. In JSON bodies ``null`` means
absent (auth0-python sends nulls for unset fields) and only strings (or numbers) are accepted.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request

from consentry.oauth.errors import INVALID_REQUEST

MAX_PARAM = 4096


def from_pairs(pairs: list[tuple[str, str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise INVALID_REQUEST.with_hint(f"Parameter '{key}' was sent more than once.")
        if len(value) > MAX_PARAM:
            raise INVALID_REQUEST.with_hint(f"Parameter '{key}' is too long.")
        if value != "":
            params[key] = value
    return params


def query_params(request: Request) -> dict[str, str]:
    return from_pairs(parse_qsl(request.url.query, keep_blank_values=True))


async def body_params(request: Request) -> dict[str, str]:
    """Form-encoded or JSON body (by Content-Type); anything else is ``invalid_request``."""
    return parse_body(request.headers.get("content-type", ""), await request.body())


def parse_body(content_type_header: str, raw: bytes) -> dict[str, str]:
    """``body_params`` on bytes already read (the CORS middleware reads the same body the same way)."""
    content_type = content_type_header.split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            data = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            raise INVALID_REQUEST.with_hint("The JSON body could not be parsed.") from None
        if not isinstance(data, dict):
            raise INVALID_REQUEST.with_hint("The JSON body must be an object.")
        pairs: list[tuple[str, str]] = []
        for key, value in data.items():
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise INVALID_REQUEST.with_hint(f"Parameter '{key}' must be a string.")
            pairs.append((key, str(value)))
        return from_pairs(pairs)
    if content_type in ("application/x-www-form-urlencoded", ""):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise INVALID_REQUEST.with_hint("The request body is not valid UTF-8.") from None
        try:
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
        except (ValueError, UnicodeDecodeError):
            raise INVALID_REQUEST.with_hint("The form body could not be parsed.") from None
        return from_pairs(pairs)
    raise INVALID_REQUEST.with_hint("Send application/x-www-form-urlencoded or application/json.")


def scope_list(value: str | None) -> list[str]:
    """A space-delimited scope string as a de-duplicated list in request order."""
    return list(dict.fromkeys((value or "").split()))
