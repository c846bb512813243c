"""Dynamic Client Registration governance (Consentry extension of the Management API).

``POST /api/v2/clients/{id}/approve`` activates a DCR client awaiting approval, ``.../reject`` deletes one;
``/api/v2/dcr/registrations`` lists DCR clients (stored, and held until a first consent) for review;
``/api/v2/dcr/initial-access-tokens`` issues the tokens protected registration needs
(``dcr_require_initial_access_token``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from consentry.management.auth import Principal, require
from consentry.management.errors import bad_request
from consentry.management.pagination import Paging, paged, paging
from consentry.runtime import Runtime
from consentry.services import dcr_admin, initial_access_tokens
from consentry.services.clients import client_json
from consentry.web import NO_STORE, json_response

router = APIRouter(prefix="/api/v2", tags=["Dynamic Client Registration"])


class InitialAccessTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    uses: int = Field(1, ge=1, le=initial_access_tokens.MAX_USES, description="Registrations the token allows.")
    expires_in: int = Field(86400, ge=0, le=10 * 365 * 86400, description="Lifetime in seconds; 0 = no expiry.")


def _rt(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


@router.post(
    "/clients/{client_id}/approve",
    summary="Approve a pending dynamically registered client",
    operation_id="post_approve_client",
)
async def approve_client(
    request: Request, client_id: str, claims: Principal = Depends(require("update:clients"))
) -> Response:
    rt = _rt(request)
    row = await dcr_admin.approve(rt, client_id, claims.get("sub"))
    return json_response(client_json(rt, row))


@router.post(
    "/clients/{client_id}/reject",
    summary="Reject (delete) a dynamically registered client awaiting approval",
    status_code=204,
    operation_id="post_reject_client",
)
async def reject_client(
    request: Request, client_id: str, claims: Principal = Depends(require("delete:clients"))
) -> Response:
    await dcr_admin.reject(_rt(request), client_id, claims.get("sub"))
    return Response(status_code=204)


@router.get("/dcr/registrations", summary="List dynamically registered clients", operation_id="get_dcr_registrations")
async def get_registrations(
    request: Request,
    p: Paging = Depends(paging),
    status: str | None = Query(None, max_length=16, description="pending | unused | held"),
    _: Principal = Depends(require("read:clients")),
) -> Any:
    if status is not None and status not in dcr_admin.STATUS_FILTERS:
        raise bad_request(
            "Query validation error: status must be 'pending', 'unused' or 'held'.", "invalid_query_string"
        )
    rt = _rt(request)
    rows, total = await dcr_admin.list_registrations(rt, status=status, offset=p.offset, limit=p.per_page)
    return json_response(paged("registrations", [dcr_admin.registration_json(rt, r) for r in rows], total, p))


@router.post(
    "/dcr/initial-access-tokens",
    summary="Create an initial access token for DCR",
    status_code=201,
    operation_id="post_dcr_initial_access_token",
)
async def create_initial_access_token(
    request: Request, body: InitialAccessTokenCreate, _: Principal = Depends(require("create:clients"))
) -> Response:
    token = await initial_access_tokens.create_token(_rt(request), uses=body.uses, expires_in=body.expires_in)
    return json_response(token, 201, NO_STORE)


@router.get(
    "/dcr/initial-access-tokens",
    summary="List initial access tokens (without the tokens)",
    operation_id="get_dcr_initial_access_tokens",
)
async def list_initial_access_tokens(
    request: Request, p: Paging = Depends(paging), _: Principal = Depends(require("read:clients"))
) -> Any:
    rows, total = await initial_access_tokens.list_tokens(_rt(request), offset=p.offset, limit=p.per_page)
    return json_response(paged("initial_access_tokens", [initial_access_tokens.token_json(r) for r in rows], total, p))


@router.delete(
    "/dcr/initial-access-tokens/{token_id}",
    summary="Revoke an initial access token",
    status_code=204,
    operation_id="delete_dcr_initial_access_token",
)
async def revoke_initial_access_token(
    request: Request, token_id: str, _: Principal = Depends(require("delete:clients"))
) -> Response:
    await initial_access_tokens.revoke_token(_rt(request), token_id)
    return Response(status_code=204)
