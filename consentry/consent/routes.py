"""The consent screen, ``GET``/``POST /u/consent`` (also the login confirmation prompt of SPEC C7).

The user chooses how long access lasts (``consent.durations``). Accepting records (or extends) the user grant,
with that expiry, in the same transaction as its signed receipt (``services.consent_receipts``, which carries
the SHA-256 of the page as rendered here), the audit event and the transaction's answer; declining grants
nothing and answers ``access_denied`` under the app's redirection policy (C6). The first approval of a
dynamically registered client stores it (``services.dcr_pending``) in that same transaction. Every POST needs the
transaction's CSRF token and the same logged-in user.
An application, user or pending request deleted while the form is answered writes nothing and gets the page it
would get after the delete.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from consentry.consent import display, durations
from consentry.consent.decision import consent_scopes, decide_consent, duration_offer, grant_audience
from consentry.consent.policy import ConsentDecision, Prompt
from consentry.login import interaction
from consentry.login.sessions import current_session
from consentry.oauth.authorize import respond
from consentry.oauth.authorize.permissions import apply_user_permissions
from consentry.oauth.authorize.request import AuthorizeContext, validate
from consentry.oauth.errors import ACCESS_DENIED, OAuthError
from consentry.oauth.redirect_uri import host_of
from consentry.runtime import Runtime
from consentry.services import audit, dcr_pending
from consentry.services.consent_receipts import Approval, issue_receipt
from consentry.services.user_grants import upsert_grant
from consentry.storage import interactions
from consentry.storage.gone import missing_parent
from consentry.storage.interactions import PendingRequest
from consentry.tenant import flag
from consentry.ui.render import render, render_error
from consentry.web import client_ip

router = APIRouter(tags=["Universal Login"], include_in_schema=False)
EXPIRED = "This authorization request has expired or was already answered. Start again from the application."


@dataclass
class Pending:
    txn: PendingRequest
    ctx: AuthorizeContext
    decision: ConsentDecision
    user_label: str
    user_id: str


async def _pending(rt: Runtime, request: Request, state: str | None) -> Pending | Response:
    txn = await interaction.load(rt, state)
    if txn is None or not txn.client_id:
        return render_error(request, EXPIRED, error="invalid_request")
    session = await current_session(rt, request)
    if session is None or session.user_id != txn.user_id:
        return render_error(
            request, "Your session has ended. Start again from the application.", status=403, error="login_required"
        )
    try:
        ctx = await validate(rt, dict(txn.params))
        await apply_user_permissions(rt, ctx, session.user_id)
    except OAuthError as err:
        return render_error(request, err.description, status=400, error=err.error)
    decision = await decide_consent(rt, ctx, session.user_id)
    label = session.user.email or session.user.username or session.user_id
    return Pending(txn, ctx, decision, label, session.user_id)


def _lines(ctx: AuthorizeContext, scopes: set[str], use_descriptions: bool) -> list[display.PermissionLine]:
    lines = display.identity_lines([s for s in ctx.identity_scopes if s in scopes])
    if ctx.api:
        api_scopes = [s for s in ctx.api_scopes if s in scopes]
        if api_scopes:
            lines += display.permission_lines(ctx.api, api_scopes, use_descriptions=use_descriptions)
    return lines


def _resume(rt: Runtime, txn: PendingRequest) -> Response:
    url = rt.settings.url("authorize/resume") + "?" + urlencode({"state": txn.id})
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


@router.get("/u/consent")
async def consent_page(request: Request, state: str | None = None) -> Response:
    rt: Runtime = request.app.state.runtime
    pending = await _pending(rt, request, state)
    if isinstance(pending, Response):
        return pending
    ctx, decision = pending.ctx, pending.decision
    if not decision.required:
        return _resume(rt, pending.txn)
    assert ctx.client is not None
    consenting = decision.prompt is Prompt.CONSENT
    asked = set(decision.missing) if consenting else set()
    already = set(consent_scopes(ctx)) - asked if consenting else set()
    use_descriptions = flag(ctx.tenant, "use_scope_descriptions_for_consent")
    offer = duration_offer(ctx)
    page = render(
        request,
        "consent.html",
        client=ctx.client,
        registration=display.registration_label(ctx.client),
        redirect_host=host_of(ctx.redirect_uri or ""),
        api_name=ctx.api.name if ctx.api else "",
        lines=_lines(ctx, asked, use_descriptions),
        granted_lines=_lines(ctx, already, use_descriptions),
        offline_note=display.offline_access_note() if ctx.offline else "",
        confirm_only=decision.prompt is Prompt.CONFIRM,
        optional_ticked=not ctx.client.is_agent,  # an agent gets only what the user ticks
        durations=[(d, durations.label(d)) for d in offer.choices],
        default_duration=offer.default,
        user_label=pending.user_label,
        state=pending.txn.id,
        csrf=pending.txn.csrf,
    )
    if consenting:  # the receipt of the approval proves which page the user answered
        await interaction.update_state(rt, pending.txn.id, consent_page_sha256=hashlib.sha256(page.body).hexdigest())
    return page


@router.post("/u/consent")
async def consent_submit(
    request: Request,
    state: str = Form("", max_length=100),
    csrf: str = Form("", max_length=100),
    action: str = Form("", max_length=10),
    optional: list[str] = Form(default_factory=list),
    duration: str = Form("", max_length=12),
) -> Response:
    rt: Runtime = request.app.state.runtime
    pending = await _pending(rt, request, state)
    if isinstance(pending, Response):
        return pending
    txn, ctx, decision = pending.txn, pending.ctx, pending.decision
    assert ctx.client is not None and ctx.redirect_uri is not None
    if not interaction.csrf_ok(txn, csrf):
        return render_error(
            request,
            "The form has expired or was tampered with (CSRF check failed).",
            status=403,
            error="invalid_request",
        )
    if action not in ("accept", "deny"):
        return render_error(request, "Choose Accept or Deny.", status=400, error="invalid_request")
    ip = client_ip(request)
    if action == "deny":
        return await _decline(rt, request, pending, ip)
    if decision.prompt is Prompt.CONFIRM or not decision.required:
        await interaction.update_state(rt, txn.id, confirmed_at=rt.clock.now())
        return _resume(rt, txn)
    chosen = duration_offer(ctx).pick(duration)
    if chosen is None:
        return render_error(request, "Choose one of the offered durations.", status=400, error="invalid_request")
    optional_defs = {s.value for s in (ctx.api.scopes if ctx.api else ()) if s.optional}
    ticked = {s for group in optional for s in group.split()}
    asked = consent_scopes(ctx)
    approved = [s for s in asked if s in decision.missing and (s not in optional_defs or s in ticked)]
    try:
        await _accept(rt, pending, asked, _approval(pending, approved, chosen), ip)
    except Exception as exc:
        if not isinstance(exc, _Gone) and not missing_parent(exc):
            raise
        again = await _pending(rt, request, state)  # the app, the user or the request went meanwhile: say which
        return again if isinstance(again, Response) else render_error(request, EXPIRED, error="invalid_request")
    return _resume(rt, txn)


class _Gone(Exception):
    """The pending request was deleted (with its application) after it was read: nothing is written."""


def _approval(pending: Pending, approved: list[str], duration: int) -> Approval:
    ctx = pending.ctx
    assert ctx.client is not None
    return Approval(
        user_id=pending.user_id,
        user_label=pending.user_label,
        client=ctx.client,
        registration=display.registration_label(ctx.client),
        redirect_host=host_of(ctx.redirect_uri or ""),
        api_name=ctx.api.name if ctx.api else "",
        approved=approved,
        duration=duration,
        page_sha256=pending.txn.consent_page_sha256,
    )


async def _accept(rt: Runtime, pending: Pending, asked: list[str], approval: Approval, ip: str) -> None:
    """The grant, its receipt, its audit event and the request's answer, in one transaction. The pending request
    is locked first, as a client delete takes it before the client row: the two cannot deadlock (PostgreSQL)."""
    ctx, txn, approved = pending.ctx, pending.txn, approval.approved
    assert ctx.client is not None
    key = await rt.keys.signing_key()  # before the transaction: signing inside it needs no other connection
    async with rt.db.transaction() as s:
        if not await interactions.lock_in(s, txn.id):
            raise _Gone
        if ctx.client.registration_pending and not await dcr_pending.promote_in(
            rt, s, ctx.client.client_id, actor=pending.user_id
        ):
            raise _Gone  # the registration expired or was deleted while the page was open
        grant = await upsert_grant(
            rt,
            s,
            user_id=pending.user_id,
            client_id=ctx.client.client_id,
            audience=grant_audience(rt, ctx),
            scopes=approved,
            expires_at=durations.expires_at(rt.clock.now(), approval.duration),
        )
        receipt = issue_receipt(rt, s, approval, grant, key)
        covered = [sc for sc in asked if sc in set(grant.scope)]
        audit.record(
            s,
            rt.clock.now(),
            audit.CONSENT_GIVEN,
            f"Consent given to {ctx.client.name}",
            client_id=ctx.client.client_id,
            user_id=pending.user_id,
            ip=ip,
            details={
                "audience": grant.audience,
                "scopes": approved,
                "grant_id": grant.id,
                "duration": approval.duration,
                "receipt_id": receipt.id,
            },
        )
        await interactions.update_in(s, txn.id, approved_scopes=covered)  # an empty list still counts as answered


async def _decline(rt: Runtime, request: Request, pending: Pending, ip: str) -> Response:
    ctx, txn = pending.ctx, pending.txn
    assert ctx.client is not None and ctx.redirect_uri is not None
    if not await interaction.consume(rt, txn.id):
        return render_error(request, EXPIRED, error="invalid_request")
    async with rt.db.transaction() as s:
        audit.record(
            s,
            rt.clock.now(),
            audit.CONSENT_DECLINED,
            f"Consent declined for {ctx.client.name}",
            client_id=ctx.client.client_id,
            user_id=pending.user_id,
            ip=ip,
        )
    err = ACCESS_DENIED.with_hint("User did not authorize the request")
    iss = respond.response_issuer(ctx.tenant, rt.settings.issuer_url)
    return respond.error(request, ctx.client, ctx.redirect_uri, ctx.response_mode, iss, err, ctx.state)
