"""``/api/v2/tenants/settings``: tenant-wide settings and flags (e.g. ``use_scope_descriptions_for_consent``, C5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from consentry.commands.tenant_settings import TenantSettingsUpdate
from consentry.management.auth import Principal, require
from consentry.management.pagination import select_fields
from consentry.management.routers.common import actor, runtime
from consentry.services import tenant_settings as service
from consentry.web import json_response

router = APIRouter(prefix="/api/v2/tenants/settings", tags=["Tenants"])
Read = Annotated[Principal, Depends(require("read:tenant_settings"))]
Update = Annotated[Principal, Depends(require("update:tenant_settings"))]


@router.get("", summary="Get tenant settings", operation_id="get_settings")
async def get_settings(
    request: Request,
    _: Read,
    fields: str | None = Query(None, max_length=2000),
    include_fields: str | None = None,
) -> Response:
    rt = runtime(request)
    async with rt.db.read() as s:
        settings = await service.get_settings(rt, s)
    return json_response(select_fields(settings, fields, include_fields))


@router.patch("", summary="Update tenant settings", operation_id="patch_settings")
async def update_settings(request: Request, body: TenantSettingsUpdate, claims: Update) -> Response:
    rt = runtime(request)
    async with rt.db.transaction() as s:
        settings = await service.update_settings(rt, s, body, actor=actor(claims))
    return json_response(settings)
