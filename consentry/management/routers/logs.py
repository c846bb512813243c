"""``/api/v2/logs``: the audit trail (grants given and revoked, configuration changes, logins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from consentry.management.auth import Principal, require
from consentry.management.pagination import paged, select_fields
from consentry.management.routers.common import PagingQuery, runtime
from consentry.services import logs as service
from consentry.services.audit import as_json
from consentry.web import json_response

router = APIRouter(prefix="/api/v2/logs", tags=["Logs"])
Read = Annotated[Principal, Depends(require("read:logs"))]


@router.get("", summary="Search log events", operation_id="get_logs")
async def get_logs(
    request: Request,
    p: PagingQuery,
    _: Read,
    q: str | None = Query(None, max_length=1000),
    search: str | None = Query(None, max_length=1000, description="Alias of q (auth0-python 5+)."),
    sort: str | None = Query(None, max_length=16),
    fields: str | None = Query(None, max_length=2000),
    include_fields: str | None = None,
) -> Response:
    rt = runtime(request)
    await rt.mint_log.flush()  # this process's queued mint events are visible to its own reads
    async with rt.db.read() as s:
        rows, total = await service.list_logs(s, offset=p.offset, limit=p.per_page, q=q or search, sort=sort)
    items = [select_fields(as_json(r), fields, include_fields) for r in rows]
    return json_response(paged("logs", items, total, p))


@router.get("/{log_id}", summary="Get a log event by id", operation_id="get_logs_by_id")
async def get_log(request: Request, log_id: str, _: Read) -> Response:
    rt = runtime(request)
    await rt.mint_log.flush()
    async with rt.db.read() as s:
        row = await service.get_log(s, log_id)
    return json_response(as_json(row))
