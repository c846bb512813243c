"""The universal login's signup and forgot-password screens: ``/u/login/signup`` and ``/u/login/password-reset``.

Both live under ``/u/login`` so the login page's browser-bound CSRF cookie (``browser_binding``) covers them; their
forms carry the same ``csrf`` as the login form of the pending request. ``/authorize?screen_hint=signup`` opens
the signup screen for first-party applications (Auth0); ``GET /u/signup`` is an alias. Signup is offered only to
first-party applications, in the first database connection the application may use whose signup is not
disabled; a successful signup signs the user in (a new session, as a login) and sends the verification email.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from consentry.config_records import ConnectionInfo
from consentry.login import browser_binding, interaction, password_policy
from consentry.login.browser_binding import EXPIRED
from consentry.login.choices import Choices, login_choices
from consentry.login.complete import complete_login, signed_in
from consentry.login.sessions import cookie_token
from consentry.runtime import Runtime
from consentry.services import signup
from consentry.services.errors import Kind, ServiceError
from consentry.storage.interactions import PendingRequest
from consentry.ui.render import render, render_error
from consentry.web import client_ip

router = APIRouter(tags=["Universal Login"], include_in_schema=False)
NO_SIGNUP = "Sign up is not available for this application."


def signup_connection(choices: Choices) -> ConnectionInfo | None:
    """Where a signup from this login goes: first-party applications only, the first open database connection."""
    if choices.client is None or choices.client.is_third_party:
        return None
    return next((c for c in choices.database if signup.signup_refusal(c) is None), None)


def _policy_text(connection: ConnectionInfo) -> str:
    rules = password_policy.check(connection.options, "").rules
    return "; ".join((r.message % r.format if r.format else r.message).rstrip(":") for r in rules)


def _signup_page(
    request: Request,
    rt: Runtime,
    txn: PendingRequest,
    choices: Choices,
    connection: ConnectionInfo,
    *,
    error: str | None = None,
    status: int = 200,
    email: str = "",
) -> Response:
    nonce = browser_binding.nonce_for_page(rt, request)
    response = render(
        request,
        "signup.html",
        status=status,
        client=choices.client,
        state=txn.id,
        csrf=browser_binding.form_token(rt, txn, nonce),
        error=error,
        email=email,
        policy=_policy_text(connection),
        tenant_name=rt.settings.tenant_name,
    )
    browser_binding.set_cookie(rt, response, nonce)
    return response


@router.get("/u/signup")
async def signup_alias(request: Request, state: str | None = None) -> Response:
    rt: Runtime = request.app.state.runtime
    return RedirectResponse(rt.settings.url("u/login/signup") + "?" + urlencode({"state": state or ""}), 302)


@router.get("/u/login/signup")
async def signup_form(request: Request, state: str | None = None) -> Response:
    rt: Runtime = request.app.state.runtime
    txn = await interaction.load(rt, state)
    if txn is None:
        return render_error(request, EXPIRED, error="invalid_request")
    choices = await login_choices(rt, txn)
    connection = signup_connection(choices)
    if connection is None:
        return render_error(request, NO_SIGNUP, status=403, error="access_denied")
    return _signup_page(request, rt, txn, choices, connection)


@router.post("/u/login/signup")
async def signup_submit(
    request: Request,
    state: str = Form("", max_length=100),
    csrf: str = Form("", max_length=100),
    email: str = Form("", max_length=320),
    password: str = Form("", max_length=1024),
) -> Response:
    rt: Runtime = request.app.state.runtime
    txn = await browser_binding.submitted_request(rt, request, state, csrf)
    if isinstance(txn, Response):
        return txn
    choices = await login_choices(rt, txn)
    connection = signup_connection(choices)
    if connection is None or choices.client is None:
        return render_error(request, NO_SIGNUP, status=403, error="access_denied")
    ip = client_ip(request)
    try:
        user = await signup.sign_up(
            rt, signup.Signup(client=choices.client, connection=connection, email=email, password=password, ip=ip)
        )
    except ServiceError as err:
        message = "The user already exists." if err.kind == Kind.CONFLICT else err.message
        return _signup_page(request, rt, txn, choices, connection, error=message, status=400, email=email)
    token = await complete_login(rt, txn, user.user_id, ip, cookie_token(request))
    return signed_in(rt, txn, token)


def _forgot_page(request: Request, rt: Runtime, txn: PendingRequest, choices: Choices, sent: str | None) -> Response:
    nonce = browser_binding.nonce_for_page(rt, request)
    response = render(
        request,
        "forgot_password.html",
        client=choices.client,
        state=txn.id,
        csrf=browser_binding.form_token(rt, txn, nonce),
        sent=sent,
        tenant_name=rt.settings.tenant_name,
    )
    browser_binding.set_cookie(rt, response, nonce)
    return response


@router.get("/u/login/password-reset")
async def forgot_form(request: Request, state: str | None = None) -> Response:
    rt: Runtime = request.app.state.runtime
    txn = await interaction.load(rt, state)
    if txn is None:
        return render_error(request, EXPIRED, error="invalid_request")
    choices = await login_choices(rt, txn)
    if not choices.database:
        return render_error(request, "Password reset is not available here.", status=403, error="access_denied")
    return _forgot_page(request, rt, txn, choices, None)


@router.post("/u/login/password-reset")
async def forgot_submit(
    request: Request,
    state: str = Form("", max_length=100),
    csrf: str = Form("", max_length=100),
    email: str = Form("", max_length=320),
) -> Response:
    """The same answer for every address (no user enumeration); a known one gets a reset link by email."""
    rt: Runtime = request.app.state.runtime
    txn = await browser_binding.submitted_request(rt, request, state, csrf)
    if isinstance(txn, Response):
        return txn
    choices = await login_choices(rt, txn)
    if not choices.database:
        return render_error(request, "Password reset is not available here.", status=403, error="access_denied")
    if email.strip():
        for connection in choices.database:
            await signup.request_reset(rt, choices.client, connection, email, client_ip(request))
    return _forgot_page(request, rt, txn, choices, signup.RESET_SENT_TEXT)
