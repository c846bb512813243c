"""``GET /authorize`` and ``GET /authorize/resume``: validate (``AUTHORIZE_STEPS``), then run the flow's steps.

The flow writes rows that point at the client and the user (a pending login, a code). When one of them is
deleted between the request's reads and that write, the foreign key refuses it and the request answers as if it
came after the delete: the unknown client's error page, or (the user gone, and their sessions with them) the flow
again from current data, which leads to the login page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from consentry.login import interaction
from consentry.oauth.authorize import respond
from consentry.oauth.authorize.flow import FLOW_STEPS, RESUME_STEPS, Flow, run_flow
from consentry.oauth.authorize.request import UNKNOWN_CLIENT, AuthorizeContext, new_context, run_steps
from consentry.oauth.errors import OAuthError
from consentry.oauth.params import query_params
from consentry.runtime import Runtime
from consentry.storage.gone import client_exists, missing_parent
from consentry.storage.interactions import PendingRequest
from consentry.ui.render import render_error

router = APIRouter(tags=["Authentication API"])


async def run(rt: Runtime, request: Request, params: dict[str, str], txn: PendingRequest | None) -> Response:
    ctx = await new_context(rt, params)
    try:
        await run_steps(ctx)
        return await _flow(rt, request, ctx, txn)
    except OAuthError as err:
        if ctx.client is None or ctx.redirect_uri is None or not err.redirectable:
            expose = rt.settings.expose_debug
            return render_error(request, err.body(expose)["error_description"], status=err.status, error=err.error)
        iss = respond.response_issuer(ctx.tenant, rt.settings.issuer_url)
        return respond.error(
            request, ctx.client, ctx.redirect_uri, ctx.response_mode, iss, err, ctx.state, rt.settings.expose_debug
        )


async def _flow(rt: Runtime, request: Request, ctx: AuthorizeContext, txn: PendingRequest | None) -> Response:
    steps = FLOW_STEPS if txn is None else RESUME_STEPS
    try:
        return await run_flow(Flow(rt, request, ctx, txn), steps)
    except Exception as exc:
        if not missing_parent(exc):
            raise
    assert ctx.client is not None
    if not await client_exists(rt.db, ctx.client.client_id):
        raise UNKNOWN_CLIENT
    return await run_flow(Flow(rt, request, ctx, txn), steps)  # the user went: no session now, the login page


@router.get("/authorize", summary="Authorization endpoint (code flow with PKCE)")
async def authorize_endpoint(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    try:
        params = query_params(request)
    except OAuthError as err:
        return render_error(request, err.description, status=400, error=err.error)
    return await run(rt, request, params, None)


@router.get("/authorize/resume", summary="Continue an authorization request after login or consent")
async def resume_endpoint(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    txn = await interaction.load(rt, request.query_params.get("state"))
    if txn is None:
        return render_error(
            request,
            "This sign-in request has expired or was already used. Start again from the application.",
            status=400,
            error="invalid_request",
        )
    return await run(rt, request, dict(txn.params), txn)
