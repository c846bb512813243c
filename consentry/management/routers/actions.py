"""``GET /api/v2/actions/actions``: Consentry runs no Actions, so the list is always empty.

Tools that read a whole tenant ask for it before anything else that may name an action (the Auth0 Deploy CLI reads
it with the database connections, whose ``custom_password_hash`` may name one): an empty list in Auth0's shape lets
them go on.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from consentry.management.auth import Principal, require
from consentry.web import json_response

router = APIRouter(prefix="/api/v2/actions", tags=["Actions"])
Read = Annotated[Principal, Depends(require("read:actions"))]


@router.get("/actions", summary="Get actions (always none)", operation_id="get_actions")
async def get_actions(
    _: Read,
    page: int = Query(0, ge=0, le=100000),
    per_page: int = Query(50, ge=1, le=100),
) -> Response:
    return json_response({"actions": [], "total": 0, "page": page, "per_page": per_page})
