"""``/api/v2/users/{id}/sessions``, ``/api/v2/sessions/{id}``, ``/api/v2/users/{id}/refresh-tokens`` and
``/api/v2/refresh-tokens/{id}``: Auth0's session and refresh token objects, checkpoint paging (``from``/``take``,
answered as ``{"sessions"|"tokens": [...], "next"}``), deletions answered 202 as Auth0 does.

Consentry records no device (user agent, IP, ASN) for sessions or refresh tokens: ``device`` is absent.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from consentry.clock import iso
from consentry.login.sessions import lifetimes
from consentry.management.auth import Principal, require
from consentry.management.routers.common import runtime
from consentry.services import user_sessions as service
from consentry.storage.refresh_token_views import FamilyView
from consentry.storage.session_views import SessionView
from consentry.web import json_response

router = APIRouter(prefix="/api/v2", tags=["Sessions"])
ReadSessions = Annotated[Principal, Depends(require("read:sessions"))]
DeleteSessions = Annotated[Principal, Depends(require("delete:sessions"))]
ReadTokens = Annotated[Principal, Depends(require("read:refresh_tokens"))]
DeleteTokens = Annotated[Principal, Depends(require("delete:refresh_tokens"))]
From = Annotated[str | None, Query(alias="from", max_length=64)]
Take = Annotated[int, Query(ge=1, le=100)]
ACCEPTED = 202


def _page(key: str, items: list[dict[str, Any]], next_from: str | None) -> Response:
    body: dict[str, Any] = {key: items}
    if next_from:
        body["next"] = next_from
    return json_response(body)


def session_json(v: SessionView, idle: float | None) -> dict[str, Any]:
    last = v.last_used_at or v.created_at
    body: dict[str, Any] = {
        "id": v.id,
        "user_id": v.user_id,
        "created_at": iso(v.created_at),
        "updated_at": iso(last),
        "authenticated_at": iso(v.auth_time),
        "last_interacted_at": iso(last),
        "expires_at": iso(v.expires_at),
        "clients": [{"client_id": c} for c in v.client_ids],
        "authentication": {
            "methods": [
                {
                    "name": "federated" if v.user_id.startswith("oidc|") else "pwd",
                    "timestamp": iso(v.auth_time),
                    "type": "federated" if v.user_id.startswith("oidc|") else "password",
                }
            ]
        },
    }
    if idle is not None:
        body["idle_expires_at"] = iso(min(last + idle, v.expires_at))
    return body


def refresh_token_json(v: FamilyView, rotating: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": v.id,
        "user_id": v.user_id,
        "created_at": iso(v.created_at),
        "idle_expires_at": iso(v.idle_expires_at),
        "client_id": v.client_id,
        "session_id": v.session_id,
        "rotating": rotating,
        "resource_servers": [{"audience": v.audience, "scopes": " ".join(v.scope)}] if v.audience else [],
    }
    if v.expires_at is not None:
        body["expires_at"] = iso(v.expires_at)
    if v.last_exchanged_at is not None:
        body["last_exchanged_at"] = iso(v.last_exchanged_at)
    return body


async def _tokens_json(request: Request, found: list[FamilyView]) -> list[dict[str, Any]]:
    """Each family with whether its application rotates refresh tokens (from the cached configuration)."""
    rt, out = runtime(request), []
    for v in found:
        client = await rt.catalog.client(v.client_id)
        out.append(refresh_token_json(v, client is not None and client.rotates_refresh_tokens))
    return out


async def _idle(request: Request) -> float | None:
    rt = runtime(request)
    return lifetimes(rt, await rt.catalog.tenant())[1]


@router.get("/users/{user_id}/sessions", summary="Get a user's sessions", operation_id="get_sessions_for_user")
async def get_user_sessions(
    request: Request,
    user_id: str,
    _: ReadSessions,
    from_: From = None,
    take: Take = 50,
    include_totals: str | None = Query(None, max_length=8),
) -> Response:
    found, next_from = await service.list_sessions(runtime(request), user_id, after=from_, limit=take)
    idle = await _idle(request)
    return _page("sessions", [session_json(v, idle) for v in found], next_from)


@router.delete(
    "/users/{user_id}/sessions",
    summary="Delete a user's sessions",
    operation_id="delete_sessions_for_user",
    status_code=ACCEPTED,
    response_class=Response,
)
async def delete_user_sessions(request: Request, user_id: str, _: DeleteSessions) -> Response:
    await service.end_sessions(runtime(request), user_id=user_id)
    return Response(status_code=ACCEPTED)


@router.get("/sessions/{session_id}", summary="Get a session", operation_id="get_session")
async def get_session(request: Request, session_id: str, _: ReadSessions) -> Response:
    found = await service.get_session(runtime(request), session_id)
    return json_response(session_json(found, await _idle(request)))


@router.delete(
    "/sessions/{session_id}",
    summary="Delete a session",
    operation_id="delete_session",
    status_code=ACCEPTED,
    response_class=Response,
)
async def delete_session(request: Request, session_id: str, _: DeleteSessions) -> Response:
    await service.end_sessions(runtime(request), session_id=session_id)
    return Response(status_code=ACCEPTED)


@router.get(
    "/users/{user_id}/refresh-tokens",
    summary="Get a user's refresh tokens",
    operation_id="get_refresh_tokens_for_user",
)
async def get_user_refresh_tokens(
    request: Request,
    user_id: str,
    _: ReadTokens,
    from_: From = None,
    take: Take = 50,
    include_totals: str | None = Query(None, max_length=8),
) -> Response:
    found, next_from = await service.list_refresh_tokens(runtime(request), user_id, after=from_, limit=take)
    return _page("tokens", await _tokens_json(request, found), next_from)


@router.delete(
    "/users/{user_id}/refresh-tokens",
    summary="Delete a user's refresh tokens",
    operation_id="delete_refresh_tokens_for_user",
    status_code=ACCEPTED,
    response_class=Response,
)
async def delete_user_refresh_tokens(request: Request, user_id: str, _: DeleteTokens) -> Response:
    await service.revoke_refresh_tokens(runtime(request), user_id=user_id)
    return Response(status_code=ACCEPTED)


@router.get("/refresh-tokens/{token_id}", summary="Get a refresh token", operation_id="get_refresh_token")
async def get_refresh_token(request: Request, token_id: str, _: ReadTokens) -> Response:
    found = await service.get_refresh_token(runtime(request), token_id)
    return json_response((await _tokens_json(request, [found]))[0])


@router.delete(
    "/refresh-tokens/{token_id}",
    summary="Delete a refresh token",
    operation_id="delete_refresh_token",
    status_code=ACCEPTED,
    response_class=Response,
)
async def delete_refresh_token(request: Request, token_id: str, _: DeleteTokens) -> Response:
    await service.revoke_refresh_tokens(runtime(request), family_id=token_id)
    return Response(status_code=ACCEPTED)
