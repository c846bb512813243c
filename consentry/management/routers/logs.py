"""``/api/v2/logs``: the audit trail as Auth0 log events (``management.log_events``).

Paging is Auth0's: ``page``/``per_page``/``include_totals`` newest first, or the checkpoint read ``from``
(a ``log_id``) with ``take``: the events after it, oldest first, as log exporters poll.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from consentry.management.auth import Principal, require
from consentry.management.errors import bad_request
from consentry.management.log_events import AUTH0_TYPES, as_auth0, hostname_of
from consentry.management.pagination import paged, select_fields
from consentry.management.routers.common import PagingQuery, runtime
from consentry.runtime import Runtime
from consentry.services import logs as service
from consentry.storage.models import AuditEvent
from consentry.web import json_response

router = APIRouter(prefix="/api/v2/logs", tags=["Logs"])
Read = Annotated[Principal, Depends(require("read:logs"))]


async def _as_auth0(rt: Runtime, rows: Sequence[AuditEvent], users: dict[str, str]) -> list[dict[str, Any]]:
    """The rows in Auth0's shape, with the names of their applications and users (when those still exist).
    Called after the read is over: the catalog may need a connection of its own."""
    client_names: dict[str, str] = {}
    for client_id in {r.client_id for r in rows if r.client_id}:
        client = await rt.catalog.client(client_id)
        if client is not None and client.name:
            client_names[client_id] = client.name
    host = hostname_of(rt.settings.issuer_url)
    return [as_auth0(r, hostname=host, client_names=client_names, user_names=users) for r in rows]


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
    if p.from_ is not None and sort:
        raise bad_request("Query validation error: 'sort' cannot be used with 'from'.", "invalid_query_string")
    async with rt.db.read() as s:
        if p.from_ is not None:
            rows = await service.logs_after(s, p.from_, take=p.limit, q=q or search, type_codes=AUTH0_TYPES)
            total = len(rows)
        else:
            rows, total = await service.list_logs(
                s, offset=p.offset, limit=p.limit, q=q or search, sort=sort, type_codes=AUTH0_TYPES
            )
        users = await service.user_names(s, (r.user_id for r in rows if r.user_id))
    items = [select_fields(e, fields, include_fields) for e in await _as_auth0(rt, rows, users)]
    if p.from_ is not None:
        return json_response(items)
    return json_response(paged("logs", items, total, p))


@router.get("/{log_id}", summary="Get a log event by id", operation_id="get_logs_by_id")
async def get_log(request: Request, log_id: str, _: Read) -> Response:
    rt = runtime(request)
    await rt.mint_log.flush()
    async with rt.db.read() as s:
        row = await service.get_log(s, log_id)
        users = await service.user_names(s, [row.user_id] if row.user_id else [])
    return json_response((await _as_auth0(rt, [row], users))[0])
