"""After validation: who is logged in, is consent needed, then the authorization code.

``authorize()`` runs for a fresh ``/authorize`` request and again, with the stored transaction, at
``/authorize/resume`` after the login or consent page. The transaction's reserved keys record what
the user already did for this request (``__login`` after the form, ``__consent`` with the approved
scopes, ``__confirmed`` after the login confirmation prompt).
"""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy import Table, insert
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from consentry.consent.policy import ConsentDecision, ConsentInput, evaluate
from consentry.login import interaction
from consentry.login.sessions import CurrentSession, current_session
from consentry.oauth.access import allowed_connections
from consentry.oauth.authorize import respond
from consentry.oauth.authorize.request import OFFLINE, AuthorizeContext, kept_parameters
from consentry.oauth.errors import CONSENT_REQUIRED, LOGIN_REQUIRED, OAuthError
from consentry.oauth.redirect_uri import is_verifiable
from consentry.runtime import Runtime
from consentry.services.user_grants import GrantRef, find_grant_ref
from consentry.storage.models import AuthorizationCode, Interaction
from consentry.tokens import ids

RESERVED = ("__login", "__consent", "__confirmed")
_CODES: Table = AuthorizationCode.__table__  # type: ignore[assignment]
_INSERT_CODE = insert(_CODES)


def grant_audience(rt: Runtime, ctx: AuthorizeContext) -> str:
    return ctx.api.identifier if ctx.api else rt.settings.userinfo_audience


def consent_scopes(ctx: AuthorizeContext) -> list[str]:
    """What the consent screen asks for: API scopes, plus identity and offline access for third-party apps."""
    assert ctx.client is not None
    extra = (ctx.identity_scopes + ([OFFLINE] if ctx.offline else [])) if ctx.client.is_third_party else []
    return extra + ctx.api_scopes


def to_page(rt: Runtime, page: str, txn: Interaction) -> Response:
    return RedirectResponse(f"{rt.settings.url(page)}?{urlencode({'state': txn.id})}", status_code=302,
                            headers=respond.NO_STORE)  # fmt: skip


async def find_user_grant(rt: Runtime, ctx: AuthorizeContext, user_id: str) -> GrantRef | None:
    assert ctx.client is not None
    return await find_grant_ref(rt, user_id, ctx.client.client_id, grant_audience(rt, ctx))


def consent_decision(ctx: AuthorizeContext, params: dict[str, str], grant: GrantRef | None) -> ConsentDecision:
    """The consent policy's answer for this request, given the user's stored grant (or none)."""
    assert ctx.client is not None
    skip = ctx.client.skip_non_verifiable_callback_uri_confirmation_prompt
    if skip is None:
        skip = bool(ctx.tenant.get("skip_non_verifiable_callback_uri_confirmation_prompt", False))
    return evaluate(
        ConsentInput(
            third_party=ctx.client.is_third_party,
            has_api=ctx.api is not None,
            api_allows_skip=bool(ctx.api and ctx.api.skip_consent_for_verifiable_first_party_clients),
            requested=frozenset(consent_scopes(ctx)),
            granted=frozenset(grant.scope if grant else ()),
            prompt_consent="consent" in ctx.prompts,
            callback_verifiable=is_verifiable(ctx.redirect_uri or ""),
            skip_confirmation=skip,
            already_answered="__consent" in params or "__confirmed" in params,
        )
    )


async def decide_consent(rt: Runtime, ctx: AuthorizeContext, user_id: str, params: dict[str, str]) -> ConsentDecision:
    return consent_decision(ctx, params, await find_user_grant(rt, ctx, user_id))


async def authorize(rt: Runtime, request: Request, ctx: AuthorizeContext, txn: Interaction | None) -> Response:
    client = ctx.client
    assert client is not None and ctx.redirect_uri is not None
    params = ctx.params
    session = await current_session(rt, request, grant_for=(client.client_id, grant_audience(rt, ctx)))
    if txn is not None and session is not None and txn.user_id and session.user_id != txn.user_id:
        session = None  # another user logged in meanwhile: start over
    if _needs_login(rt, ctx, session, params):
        if "none" in ctx.prompts:
            raise LOGIN_REQUIRED
        txn = txn or await interaction.start(rt, client.client_id, kept_parameters(params))
        return to_page(rt, "u/login", txn)
    assert session is not None
    connections = allowed_connections(client, await rt.catalog.connections(client.client_id))
    if session.user.connection_id not in {c.id for c in connections}:
        if "none" in ctx.prompts:
            raise LOGIN_REQUIRED.with_hint("The user's connection is not available to this application.")
        raise OAuthError("access_denied", "Your account's connection is not available to this application."
                         + (" Third-party applications can use only domain-level connections." if client.is_third_party
                            else ""), 403, redirectable=False)  # fmt: skip
    grant = session.grant  # read with the session, once per request
    decision = consent_decision(ctx, params, grant)
    if decision.required:
        if "none" in ctx.prompts:
            raise CONSENT_REQUIRED
        txn = txn or await interaction.start(rt, client.client_id, kept_parameters(params), session.user_id,
                                              session.sid)  # fmt: skip
        if not txn.user_id:
            await interaction.update_state(rt, txn.id, user_id=session.user_id, session_id=session.sid)
        return to_page(rt, "u/consent", txn)
    scopes = ctx.scopes
    if "__consent" in params:
        approved, asked = set(params["__consent"].split()), set(consent_scopes(ctx))
        scopes = [s for s in scopes if s in approved or s not in asked]
    code = await _issue_code(rt, ctx, session, scopes, grant, txn)
    iss = respond.response_issuer(ctx.tenant, rt.settings.issuer_url)
    return respond.success(client, ctx.redirect_uri, ctx.response_mode, iss, code, ctx.state)


def _needs_login(rt: Runtime, ctx: AuthorizeContext, session: CurrentSession | None, params: dict[str, str]) -> bool:
    if session is None:
        return True
    if "__login" in params:
        return False  # the user has just logged in for this request
    if "login" in ctx.prompts:
        return True
    return ctx.max_age is not None and rt.clock.now() - session.auth_time > ctx.max_age


async def _issue_code(rt: Runtime, ctx: AuthorizeContext, session: CurrentSession, scopes: list[str],
                      grant: GrantRef | None, txn: Interaction | None) -> str:  # fmt: skip
    """Consume the pending transaction (if any) and store the code: one write transaction, so a code never
    exists for a transaction that another request completed, and a failed insert leaves the transaction usable."""
    assert ctx.client is not None and ctx.redirect_uri is not None
    code = ids.secret(32)
    now = rt.clock.now()
    values = {
        "code_hash": ids.digest(code),
        "client_id": ctx.client.client_id,
        "user_id": session.user_id,
        "session_id": session.sid,
        "redirect_uri": ctx.redirect_uri,
        "scope": scopes,
        "audience": ctx.api.identifier if ctx.api else None,
        "resource": ctx.resource,
        "code_challenge": ctx.code_challenge,
        "nonce": ctx.nonce,
        "auth_time": session.auth_time,
        "grant_id": grant.id if grant else None,
        "created_at": now,
        "expires_at": now + rt.settings.authorization_code_lifetime,
        "consumed_at": None,
    }
    async with rt.db.write() as conn:
        if txn is not None and not await interaction.consume_in(conn, txn.id, now):
            raise OAuthError("invalid_request", "This authorization request was already completed.", 400,
                             redirectable=False)  # fmt: skip
        await conn.execute(_INSERT_CODE, values)
    return code
