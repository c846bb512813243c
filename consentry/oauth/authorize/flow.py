"""After validation: who is logged in, is consent needed, then the authorization code — as named steps.

``/authorize`` runs the validation checks (``request.AUTHORIZE_STEPS``) and then ``FLOW_STEPS``;
``/authorize/resume``, reached after the login or consent page with the pending transaction, runs the same
validation on the stored parameters (policy may have changed meanwhile) and then ``RESUME_STEPS``. Each step
either fills the ``Flow`` and returns None, or answers: a redirect to a page of ours, or the code for the client.
What the user already did for this request lives in the transaction's typed fields (``login_done_at``,
``approved_scopes``, ``confirmed_at``), never in its parameters.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from consentry.consent.decision import consent_decision, consent_scopes, grant_audience
from consentry.login import interaction
from consentry.login.sessions import CurrentSession, current_session
from consentry.oauth.access import allowed_connections
from consentry.oauth.authorize import respond
from consentry.oauth.authorize.permissions import apply_user_permissions
from consentry.oauth.authorize.request import AuthorizeContext, kept_parameters
from consentry.oauth.errors import CONSENT_REQUIRED, LOGIN_REQUIRED, OAuthError
from consentry.runtime import Runtime
from consentry.storage import codes, interactions
from consentry.storage.interactions import PendingRequest
from consentry.tokens import ids


@dataclass
class Flow:
    """One validated authorization request on its way to a code: what the steps have found so far."""

    rt: Runtime
    request: Request
    ctx: AuthorizeContext
    txn: PendingRequest | None  # the pending transaction (resume), None for a fresh request
    session: CurrentSession | None = None

    @property
    def answered(self) -> bool:
        """The user answered this request's consent or confirmation prompt."""
        return self.txn is not None and (self.txn.approved_scopes is not None or self.txn.confirmed_at is not None)


Step = Callable[[Flow], Awaitable[Response | None]]


def to_page(rt: Runtime, page: str, txn: PendingRequest) -> Response:
    return RedirectResponse(
        f"{rt.settings.url(page)}?{urlencode({'state': txn.id})}", status_code=302, headers=respond.NO_STORE
    )


async def find_session(flow: Flow) -> None:
    """The browser's live session and, in the same read, the user's grant for this client and audience."""
    client = flow.ctx.client
    assert client is not None
    flow.session = await current_session(
        flow.rt, flow.request, grant_for=(client.client_id, grant_audience(flow.rt, flow.ctx))
    )


async def forget_other_user(flow: Flow) -> None:
    """Resume only: another user logged in since the transaction began, so its answers are not theirs."""
    if flow.txn is not None and flow.session is not None and flow.txn.user_id:
        if flow.session.user_id != flow.txn.user_id:
            flow.session = None


async def require_login(flow: Flow) -> Response | None:
    """No session, ``prompt=login`` or an exceeded ``max_age`` send the user to the login page (OIDC Core §3.1.2.1),
    unless the user has just logged in for this very request."""
    if not _needs_login(flow):
        return None
    if "none" in flow.ctx.prompts:
        raise LOGIN_REQUIRED
    assert flow.ctx.client is not None
    flow.txn = flow.txn or await interaction.start(flow.rt, flow.ctx.client.client_id, kept_parameters(flow.ctx.params))
    return to_page(flow.rt, "u/login", flow.txn)


def _needs_login(flow: Flow) -> bool:
    session, ctx = flow.session, flow.ctx
    if session is None:
        return True
    if flow.txn is not None and flow.txn.login_done_at is not None:
        return False
    if "login" in ctx.prompts:
        return True
    return ctx.max_age is not None and flow.rt.clock.now() - session.auth_time > ctx.max_age


async def check_user_connection(flow: Flow) -> None:
    """The user's connection must be enabled for the app (third-party apps: domain-level connections only)."""
    client, session = flow.ctx.client, flow.session
    assert client is not None and session is not None
    connections = allowed_connections(client, await flow.rt.catalog.connections(client.client_id))
    if session.user.connection_id in {c.id for c in connections}:
        return
    if "none" in flow.ctx.prompts:
        raise LOGIN_REQUIRED.with_hint("The user's connection is not available to this application.")
    raise OAuthError(
        "access_denied",
        "Your account's connection is not available to this application."
        + (" Third-party applications can use only domain-level connections." if client.is_third_party else ""),
        403,
        redirectable=False,
    )


async def check_user_permissions(flow: Flow) -> None:
    """An API that enforces RBAC: the request keeps only the API scopes the user holds a permission for."""
    assert flow.session is not None
    await apply_user_permissions(flow.rt, flow.ctx, flow.session.user_id)


async def require_consent(flow: Flow) -> Response | None:
    """The consent policy (``consent.policy``) over the stored grant: send the user to the consent screen when it
    asks for consent or confirmation that this request has not answered yet."""
    client, session = flow.ctx.client, flow.session
    assert client is not None and session is not None
    if not consent_decision(flow.ctx, session.grant, answered=flow.answered).required:
        return None
    if "none" in flow.ctx.prompts:
        raise CONSENT_REQUIRED
    rt = flow.rt
    if flow.txn is None:
        flow.txn = await interaction.start(
            rt, client.client_id, kept_parameters(flow.ctx.params), session.user_id, session.sid
        )
    elif not flow.txn.user_id:
        await interaction.update_state(rt, flow.txn.id, user_id=session.user_id, session_id=session.sid)
    return to_page(rt, "u/consent", flow.txn)


async def issue_code(flow: Flow) -> Response:
    """The code for what the request may have (minus consent-screen scopes the user left unticked), sent back
    under the request's response mode."""
    ctx, session = flow.ctx, flow.session
    assert ctx.client is not None and ctx.redirect_uri is not None and session is not None
    scopes = ctx.scopes
    if flow.txn is not None and flow.txn.approved_scopes is not None:
        approved, asked = set(flow.txn.approved_scopes), set(consent_scopes(ctx))
        scopes = [s for s in scopes if s in approved or s not in asked]
    code = await _store_code(flow, scopes)
    iss = respond.response_issuer(ctx.tenant, flow.rt.settings.issuer_url)
    return respond.success(ctx.client, ctx.redirect_uri, ctx.response_mode, iss, code, ctx.state)


async def _store_code(flow: Flow, scopes: list[str]) -> str:
    """Consume the pending transaction (if any) and store the code: one write transaction, so a code never
    exists for a transaction that another request completed, and a failed insert leaves the transaction usable."""
    rt, ctx, session, txn = flow.rt, flow.ctx, flow.session, flow.txn
    assert ctx.client is not None and ctx.redirect_uri is not None and session is not None
    code = ids.secret(32)
    now = rt.clock.now()
    stored = codes.StoredCode(
        code_hash=ids.digest(code),
        client_id=ctx.client.client_id,
        user_id=session.user_id,
        session_id=session.sid,
        redirect_uri=ctx.redirect_uri,
        scope=scopes,
        audience=ctx.api.identifier if ctx.api else None,
        resource=ctx.resource,
        code_challenge=ctx.code_challenge,
        nonce=ctx.nonce,
        auth_time=session.auth_time,
        grant_id=session.grant.id if session.grant else None,
        created_at=now,
        expires_at=now + rt.settings.authorization_code_lifetime,
    )
    async with rt.db.write() as conn:
        if txn is not None and not await interactions.consume_in(conn, txn.id, now):
            raise OAuthError(
                "invalid_request", "This authorization request was already completed.", 400, redirectable=False
            )
        await codes.insert_in(conn, stored)
    return code


FLOW_STEPS: tuple[Step, ...] = (
    find_session,
    require_login,
    check_user_connection,
    check_user_permissions,
    require_consent,
    issue_code,
)
RESUME_STEPS: tuple[Step, ...] = (
    find_session,
    forget_other_user,
    require_login,
    check_user_connection,
    check_user_permissions,
    require_consent,
    issue_code,
)


async def run_flow(flow: Flow, steps: tuple[Step, ...]) -> Response:
    """Run the steps in order until one answers (``issue_code`` always does)."""
    for step in steps:
        response = await step(flow)
        if response is not None:
            return response
    raise AssertionError("the last step of a flow answers")
