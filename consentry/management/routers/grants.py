"""``/api/v2/grants``: users' consents (Auth0 user grants); deleting one revokes its refresh tokens (SPEC C8).

Consentry adds ``expires_at`` to each grant and ``GET /api/v2/grants/{id}/receipts``: the signed consent receipts
of a grant (``services.consent_receipts``), still answered after the grant was revoked.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from consentry.management.auth import Principal, require
from consentry.management.pagination import paged
from consentry.management.routers.common import PagingQuery, actor, ip, runtime
from consentry.services import consent_receipts
from consentry.services import user_grants as service
from consentry.web import json_response

router = APIRouter(prefix="/api/v2/grants", tags=["Grants"])
ReadGrants = Annotated[Principal, Depends(require("read:grants"))]
DeleteGrants = Annotated[Principal, Depends(require("delete:grants"))]


@router.get("", summary="Get grants", operation_id="get_grants")
async def get_grants(
    request: Request,
    p: PagingQuery,
    _: ReadGrants,
    user_id: str | None = Query(None, max_length=255),
    client_id: str | None = Query(None, max_length=255),
    audience: str | None = Query(None, max_length=600),
) -> Response:
    rt = runtime(request)
    async with rt.db.read() as s:
        rows, total = await service.list_grants(
            s, offset=p.offset, limit=p.per_page, user_id=user_id, client_id=client_id, audience=audience
        )
    return json_response(paged("grants", [service.grant_json(r) for r in rows], total, p, with_length=False))


@router.get("/{grant_id}/receipts", summary="Get a grant's consent receipts", operation_id="get_grant_receipts")
async def get_grant_receipts(request: Request, grant_id: str, _: ReadGrants) -> Response:
    """Every receipt of the grant, oldest first; 404 ``inexistent_grant`` when there is no such grant and no
    receipt names it."""
    rt = runtime(request)
    async with rt.db.read() as s:
        rows = await consent_receipts.grant_receipts(s, grant_id) if len(grant_id) <= 64 else []
        if not rows:
            await service.get_grant(s, grant_id)
    return json_response([consent_receipts.receipt_json(r) for r in rows])


@router.delete("", summary="Delete a grant by user_id", operation_id="delete_grants_by_user_id", status_code=204)
async def delete_user_grants(
    request: Request, claims: DeleteGrants, user_id: str = Query(..., min_length=1, max_length=255)
) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        await service.revoke_user_grants(rt, s, user_id, actor=actor(claims), ip=ip(request))
    return Response(status_code=204)


@router.delete("/{grant_id}", summary="Delete a grant by id", operation_id="delete_grants_by_id", status_code=204)
async def delete_grant(request: Request, grant_id: str, claims: DeleteGrants) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        await service.revoke_grant(rt, s, grant_id, actor=actor(claims), ip=ip(request))
    return Response(status_code=204)
