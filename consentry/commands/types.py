"""Field types shared by the request bodies: what a stored setting must be so that every later read can use it.

A value accepted on write is read again by the flows (token lifetimes, URLs on pages, JSON echoed back), so
each type here refuses what a reader could not use: free-form objects that are not storable JSON (non-finite
numbers, which PostgreSQL's JSON refuses, nesting deeper than ``MAX_DEPTH``), URLs of the wrong kind, lifetimes
outside Auth0's bounds. Bounds are listed in docs/api.md ("Validation on write").
"""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, StringConstraints

MAX_DEPTH = 10  # nesting of a free-form JSON object (Auth0 documents none; deeper is not configuration)
MAX_ITEMS = 1000  # members of a free-form object or array
MAX_JWT_LIFETIME = 2_592_000  # 30 days: Auth0's bound for ID tokens (jwt_configuration.lifetime_in_seconds)


def json_problem(value: Any, depth: int = 0) -> str | None:
    """Why ``value`` cannot be stored as JSON and answered again, or None."""
    if depth > MAX_DEPTH:
        return f"must not nest deeper than {MAX_DEPTH} levels"
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    if isinstance(value, int):
        return None  # any size: echoed through the JSON fallback (tests/integration/management/test_big_numbers.py)
    if isinstance(value, float):
        return None if math.isfinite(value) else "must hold finite numbers"
    if isinstance(value, dict | list):
        if len(value) > MAX_ITEMS:
            return f"must not hold more than {MAX_ITEMS} members"
        items = value.values() if isinstance(value, dict) else value
        for item in items:
            if problem := json_problem(item, depth + 1):
                return problem
        return None
    return "must be JSON"


def _storable(value: dict[str, Any]) -> dict[str, Any]:
    problem = json_problem(value)
    if problem:
        raise ValueError(problem)
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_storable)]
"""A free-form object (``addons.*``, ``options``, ``sessions``…): stored and echoed, so it must be storable JSON."""


def url_problem(value: str, schemes: tuple[str, ...]) -> str | None:
    """Why ``value`` is not an absolute URL with one of ``schemes``, a host, and no spaces or user info."""
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in value) or "\\" in value:
        return "must not contain spaces, control characters or backslashes"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "must be a valid URL"
    if parts.scheme.lower() not in schemes or not parts.hostname:
        return f"must be an absolute {' or '.join(schemes)} URL"
    if parts.username is not None or parts.password is not None:
        return "must not contain user information"
    return None


def _url(*schemes: str) -> AfterValidator:
    def check(value: str) -> str:
        if value == "":
            return value  # empty: unset (Auth0 accepts "" to clear a URL)
        problem = url_problem(value, schemes)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


HttpUrl = Annotated[str, StringConstraints(max_length=2000), _url("http", "https")]
"""Shown as a link or an image on a page: http(s) only, never ``javascript:`` or ``data:``."""
HttpsUrl = Annotated[str, StringConstraints(max_length=2000), _url("https")]
"""Where a browser is sent to start a login (``initiate_login_uri``): https only, as Auth0 requires."""

Seconds = Annotated[int, Field(ge=1, le=MAX_JWT_LIFETIME)]
ShortText = Annotated[str, StringConstraints(max_length=255)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")]
"""An id or key: printable ASCII without spaces."""
