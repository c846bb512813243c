"""Small helpers every Management API router shares (no logic: where the runtime is, who is calling)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from consentry.management.auth import Principal
from consentry.management.pagination import Paging, paging
from consentry.runtime import Runtime
from consentry.web import client_ip

PagingQuery = Annotated[Paging, Depends(paging)]


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def actor(claims: Principal) -> str | None:
    """Who made the change, for audit events: the token's ``sub`` (``{client_id}@clients`` for M2M)."""
    sub = claims.get("sub")
    return str(sub) if sub is not None else None


def ip(request: Request) -> str:
    return client_ip(request)
