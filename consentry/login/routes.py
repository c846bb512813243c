"""Universal login: ``GET``/``POST /u/login`` (username or email + password, CSRF-protected).

The form's ``csrf`` is bound to the browser by a pre-login cookie (``browser_binding``), not only to the
pending login: a form copied from someone else's login page is refused (no login CSRF).

Failures show one generic message (no user enumeration); a missing user costs the same argon2
verification as a wrong password. Failed attempts are limited per username and IP in the shared
``rate_counters`` table. Every successful login starts a new session (no session fixation). A user deleted
while their password is checked gets the generic failure (the session row cannot point at them), as after.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from consentry.federation import home_realm
from consentry.login import browser_binding, federated, interaction, signup_routes
from consentry.login.choices import Choices, login_choices
from consentry.login.complete import complete_login, signed_in
from consentry.login.passwords import verify_password_off_loop
from consentry.login.sessions import cookie_token
from consentry.runtime import Runtime
from consentry.services import audit, rate_limit
from consentry.storage import logins
from consentry.storage.gone import missing_parent
from consentry.storage.interactions import PendingRequest
from consentry.ui.render import render, render_error
from consentry.web import client_ip

router = APIRouter(tags=["Universal Login"], include_in_schema=False)
GENERIC_FAILURE = "Wrong email or password."
NO_REALM = "No sign-in method is set up for this email address. Use the button of your organization."
TOO_MANY = "Too many failed attempts. Wait a few minutes and try again."
LOCAL_NEXT = ("/admin", "/u/apps")


def _safe_next(value: str | None) -> str | None:
    """Only our own pages may be a post-login destination (no open redirect)."""
    if value and value.split("?")[0].rstrip("/") in LOCAL_NEXT and "//" not in value and "\\" not in value:
        return value
    return None


BAD_FORM = "The form has expired or was tampered with (CSRF check failed). Go back and try again."
NO_COOKIE = (
    "Your browser did not send this sign-in page's cookie (cookies may be blocked, or the form came from "
    "another site). Start again from the application, with cookies allowed for this site."
)


def _page(
    request: Request,
    rt: Runtime,
    *,
    txn: PendingRequest,
    choices: Choices,
    error: str | None = None,
    status: int = 200,
    username: str = "",
) -> Response:
    """The login form, with a CSRF token made for this browser's pre-login cookie (set or refreshed here):
    the password form for database connections, a button per enterprise connection, and the email field for
    home realm discovery when an enterprise connection names its domains."""
    nonce = browser_binding.nonce_for_page(rt, request)
    buttons = [c for c in choices.enterprise if c.show_as_button]
    response = render(
        request,
        "login.html",
        status=status,
        client=choices.client,
        state=txn.id,
        csrf=browser_binding.form_token(rt, txn, nonce),
        error=error,
        username=username,
        tenant_name=rt.settings.tenant_name,
        password_login=bool(choices.database),
        enterprise=buttons,
        signup=signup_routes.signup_connection(choices) is not None,
    )
    browser_binding.set_cookie(rt, response, nonce)
    return response


@router.get("/u/login")
async def login_form(
    request: Request, state: str | None = None, next: str | None = None, screen: str | None = None
) -> Response:
    """The login form (``screen=login``: even when the request asked for the signup screen first)."""
    rt: Runtime = request.app.state.runtime
    txn = await interaction.load(rt, state) if state else None
    if state and txn is None:
        return render_error(
            request, "This sign-in request has expired. Start again from the application.", error="invalid_request"
        )
    if txn is None:
        txn = await interaction.start_direct(rt, _safe_next(next) or "/u/apps")
    choices = await login_choices(rt, txn)
    if choices.empty:
        client = choices.client
        hint = " Third-party applications can sign in users only through domain-level connections."
        return render_error(
            request,
            "No login method is available to this application." + (hint if client and client.is_third_party else ""),
            status=403,
            error="access_denied",
        )
    if (
        screen != "login"
        and txn.params.get("screen_hint") == "signup"
        and signup_routes.signup_connection(choices) is not None
    ):
        return RedirectResponse(  # Auth0: the signup screen first, for first-party applications
            rt.settings.url("u/login/signup") + "?" + urlencode({"state": txn.id}),
            302,
            headers={"Cache-Control": "no-store"},
        )
    only = choices.enterprise[0] if txn.params.get("connection") and choices.enterprise else None
    if only is not None:  # /authorize?connection=<enterprise>: straight to the provider (Auth0)
        return await federated.redirect_upstream(request, rt, txn, only, txn.params.get("login_hint"))
    return _page(request, rt, txn=txn, choices=choices)


@router.post("/u/login")
async def login_submit(
    request: Request,
    state: str = Form("", max_length=100),
    csrf: str = Form("", max_length=100),
    username: str = Form("", max_length=320),
    password: str = Form("", max_length=1024),
) -> Response:
    rt: Runtime = request.app.state.runtime
    txn = await interaction.load(rt, state)
    if txn is None:
        return render_error(
            request, "This sign-in request has expired. Start again from the application.", error="invalid_request"
        )
    problem = browser_binding.problem(rt, request, txn, csrf)
    if problem is not None:
        return render_error(
            request, NO_COOKIE if problem == browser_binding.MISSING else BAD_FORM, status=403, error="invalid_request"
        )
    choices = await login_choices(rt, txn)
    ip = client_ip(request)
    login = username.strip().lower()
    realm = home_realm.connection_for(login, choices.enterprise)
    if realm is not None:  # identifier-first: this email's domain belongs to an enterprise connection
        return await federated.redirect_upstream(request, rt, txn, realm, login)
    connections = choices.database
    if not connections and choices.enterprise:  # enterprise sign-in only, and this email's domain names none
        return _page(request, rt, txn=txn, choices=choices, status=400, username=username, error=NO_REALM)
    limit_key = rate_limit.login_failure_key(ip, login)
    async with rt.db.connect() as conn:  # both reads on one connection
        failures = await rate_limit.count_in(rt, conn, limit_key, rt.settings.login_failure_window)
        if failures >= rt.settings.login_max_failures:
            return _page(request, rt, txn=txn, choices=choices, status=429, username=username, error=TOO_MANY)
        user = await logins.find_candidate(conn, login, [c.id for c in connections]) if login and connections else None
    ok = await verify_password_off_loop(user.password_hash if user else None, password)
    failed = Failure(txn, choices, ip, login, limit_key, username)
    if not ok or user is None or user.blocked:
        return await _failed(request, rt, failed, user.user_id if user else None)
    try:
        token = await complete_login(rt, txn, user.user_id, ip, cookie_token(request), limit_key=limit_key)
    except Exception as exc:  # the user was deleted since it was read: as if it never existed
        if not missing_parent(exc):
            raise
        return await _failed(request, rt, failed, None)
    return signed_in(rt, txn, token)


@dataclass(frozen=True)
class Failure:
    """What a refused login records and shows again."""

    txn: PendingRequest
    choices: Choices
    ip: str
    login: str
    limit_key: str
    username: str


async def _failed(request: Request, rt: Runtime, f: Failure, user_id: str | None) -> Response:
    """A refused login: counted against the limit, audited, and the form shown again with the generic message."""
    async with rt.db.write() as conn:
        await rate_limit.hit_in(rt, conn, f.limit_key, rt.settings.login_max_failures, rt.settings.login_failure_window)
        await audit.write(
            conn,
            rt.clock.now(),
            audit.LOGIN_FAILURE,
            GENERIC_FAILURE,
            client_id=f.txn.client_id or None,
            user_id=user_id,
            ip=f.ip,
            details={"username": f.login[:100]},
        )
    return _page(request, rt, txn=f.txn, choices=f.choices, status=401, error=GENERIC_FAILURE, username=f.username)
