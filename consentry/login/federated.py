"""Sign-in through an enterprise OIDC connection: ``POST /u/login/federated`` (the button) and the provider's
answer at ``GET /login/callback`` (Auth0's callback path).

Login CSRF: before the browser leaves for the provider it gets a ``consentry_upstream`` cookie (path
``login/callback``, ``SameSite=Lax`` so the provider's top-level redirect carries it) holding an HMAC of the
upstream ``state``. A callback is accepted only from the browser that started that sign-in, and only once (the
state is cleared on first use). Every failure is an error page with its code, never a 500; a refused ID token
is audited as a failed login with the check that refused it.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from consentry.config_records import ConnectionInfo
from consentry.federation import flow
from consentry.federation.claims import profile_from
from consentry.federation.fetch import UpstreamError
from consentry.federation.id_token import IdTokenInvalid
from consentry.federation.provider import upstream
from consentry.login import browser_binding
from consentry.login.browser_binding import EXPIRED
from consentry.login.choices import login_choices
from consentry.login.complete import complete_login, signed_in
from consentry.login.sessions import cookie_token
from consentry.runtime import Runtime
from consentry.services import audit
from consentry.storage import federated_users, interactions
from consentry.storage.db import Unit
from consentry.storage.gone import missing_parent
from consentry.storage.interactions import PendingRequest
from consentry.ui.render import render_error
from consentry.web import client_ip

router = APIRouter(tags=["Universal Login"], include_in_schema=False)
COOKIE = "consentry_upstream"
_LABEL = b"consentry/upstream-binding/v1"
NOT_OFFERED = "This sign-in method is not available to this application."


class Blocked(Exception):
    """The linked user is blocked: the login transaction is rolled back."""


def _cookie_name(rt: Runtime) -> str:
    return "__Secure-" + COOKIE if rt.settings.secure_cookies else COOKIE


def _binding(rt: Runtime, upstream_state: str) -> str:
    key = hmac.new(rt.keys.kek, _LABEL, hashlib.sha256).digest()
    return hmac.new(key, upstream_state.encode(), hashlib.sha256).hexdigest()


def _cookie_path(rt: Runtime) -> str:
    return urlsplit(rt.settings.issuer_url).path + flow.CALLBACK_PATH


async def redirect_upstream(
    request: Request, rt: Runtime, txn: PendingRequest, conn: ConnectionInfo, login_hint: str | None
) -> Response:
    """Send the browser to the connection's provider, bound to this browser by the ``consentry_upstream`` cookie."""
    try:
        url, state = await flow.begin(rt, txn, upstream(conn, rt.keys.kek), login_hint)
    except UpstreamError as exc:
        return render_error(
            request,
            f"Signing in with {conn.label} is not possible right now. {exc}",
            status=502,
            error="temporarily_unavailable",
        )
    response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        _cookie_name(rt),
        _binding(rt, state),
        max_age=rt.settings.interaction_lifetime,
        path=_cookie_path(rt),
        httponly=True,
        secure=rt.settings.secure_cookies,
        samesite="lax",
    )
    return response


@router.post("/u/login/federated")
async def start_federated(
    request: Request,
    state: str = Form("", max_length=100),
    csrf: str = Form("", max_length=100),
    connection: str = Form("", max_length=128),
) -> Response:
    rt: Runtime = request.app.state.runtime
    txn = await browser_binding.submitted_request(rt, request, state, csrf)
    if isinstance(txn, Response):
        return txn
    conn = (await login_choices(rt, txn)).enterprise_by_name(connection)
    if conn is None:
        return render_error(request, NOT_OFFERED, status=403, error="access_denied")
    return await redirect_upstream(request, rt, txn, conn, None)


async def _pending(request: Request, rt: Runtime, state: str | None) -> PendingRequest | Response:
    """The pending request this callback answers, claimed once, from the browser that started it."""
    row = await interactions.get_by_upstream_state(rt.db, state) if state and len(state) <= 64 else None
    if row is None or row.consumed_at is not None or row.expires_at <= rt.clock.now():
        return render_error(request, EXPIRED, error="invalid_request")
    presented = request.cookies.get(_cookie_name(rt)) or ""
    if not hmac.compare_digest(
        presented.encode("utf-8", "surrogatepass"), _binding(rt, row.upstream_state or "").encode()
    ):
        return render_error(
            request,
            "This sign-in was started in another browser (or its cookie was blocked). "
            "Start again from the application.",
            status=403,
            error="invalid_request",
        )
    if not await interactions.claim_upstream(rt.db, row.id, row.upstream_state or ""):
        return render_error(request, EXPIRED, error="invalid_request")
    return row


@router.get("/login/callback")
async def login_callback(
    request: Request, state: str | None = None, code: str | None = None, error: str | None = None
) -> Response:
    rt: Runtime = request.app.state.runtime
    txn = await _pending(request, rt, state)
    if isinstance(txn, Response):
        return txn
    conn = (await login_choices(rt, txn)).enterprise_by_id(txn.upstream_connection_id)
    if conn is None:
        return render_error(request, NOT_OFFERED, status=403, error="access_denied")
    if error is not None or not code or len(code) > 2000:
        shown = (error or "no code")[:60].encode("ascii", "replace").decode()
        return render_error(request, f"{conn.label} did not sign you in ({shown}).", status=403, error="access_denied")
    try:
        claims = await flow.finish(rt, txn, upstream(conn, rt.keys.kek), code)
    except UpstreamError as exc:
        return render_error(
            request, f"Signing in with {conn.label} failed. {exc}", status=502, error="temporarily_unavailable"
        )
    except IdTokenInvalid as exc:
        await _audit_refusal(rt, txn, conn, client_ip(request), exc.reason)
        return render_error(
            request,
            f"{conn.label} answered with an ID token that Consentry cannot accept: {exc.reason}.",
            status=401,
            error="invalid_token",
        )
    return await _sign_in(request, rt, txn, conn, claims)


async def _sign_in(
    request: Request, rt: Runtime, txn: PendingRequest, conn: ConnectionInfo, claims: dict[str, object]
) -> Response:
    """Link the user by (connection, sub) and start the session exactly as a password login does."""
    user_id = federated_users.user_id_for(conn.strategy, conn.name, str(claims["sub"]))
    email, verified, profile = profile_from(claims)

    async def link(unit: Unit, now: float) -> None:
        if await federated_users.link_in(
            unit, user_id=user_id, connection_id=conn.id, email=email, email_verified=verified, profile=profile, now=now
        ):
            raise Blocked

    try:
        token = await complete_login(rt, txn, user_id, client_ip(request), cookie_token(request), prepare=link)
    except Blocked:
        await _audit_refusal(rt, txn, conn, client_ip(request), "the user is blocked", user_id)
        return render_error(request, "This account is blocked.", status=403, error="access_denied")
    except Exception as exc:  # the connection was deleted meanwhile: the user row cannot point at it
        if not missing_parent(exc):
            raise
        return render_error(request, NOT_OFFERED, status=403, error="access_denied")
    response = signed_in(rt, txn, token)
    response.delete_cookie(
        _cookie_name(rt), path=_cookie_path(rt), secure=rt.settings.secure_cookies, httponly=True, samesite="lax"
    )
    return response


async def _audit_refusal(
    rt: Runtime, txn: PendingRequest, conn: ConnectionInfo, ip: str, reason: str, user_id: str | None = None
) -> None:
    async with rt.db.write() as unit:
        await audit.write(
            unit,
            rt.clock.now(),
            audit.LOGIN_FAILURE,
            f"Enterprise sign-in refused: {reason}",
            client_id=txn.client_id or None,
            user_id=user_id,
            ip=ip,
            details={"connection": conn.name, "reason": reason},
        )
