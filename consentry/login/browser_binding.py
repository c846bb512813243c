"""Login CSRF bound to the browser: a pre-login cookie, and a form token that is an HMAC of it.

A pending login (``state``) is something anyone can create, so a token bound only to it does not stop
login CSRF: an attacker copies ``state`` and ``csrf`` from their own login page and makes a victim's
browser post them with the attacker's password (a top-level cross-site POST needs no incoming cookie, so
``SameSite`` does not help). Here the login page sets a random ``consentry_login`` cookie (``HttpOnly``,
``SameSite=Lax``, ``Secure`` and ``__Secure-`` prefixed when the issuer is https, path ``{issuer
path}u/login``), and the form's ``csrf`` is ``HMAC(key, state, transaction csrf, cookie)``. A POST is
accepted only when the browser sends the cookie the token was made for, compared in constant time.

No storage and no per-process state: the key derives from the key-encryption key, which every server of a
deployment shares, so a page served by one worker is accepted by any other. One cookie serves every login
tab of a browser (it is reused while it lives), so two tabs do not invalidate each other.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from consentry.login import interaction
from consentry.runtime import Runtime
from consentry.storage.interactions import PendingRequest
from consentry.tokens import ids
from consentry.ui.render import render_error

COOKIE = "consentry_login"
SECURE_COOKIE = "__Secure-" + COOKIE  # a plain-http response cannot set it (RFC 6265bis §4.1.3.1)
_NONCE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_LABEL = b"consentry/login-csrf/v1"

MISSING = "missing"
MISMATCH = "mismatch"


def cookie_name(rt: Runtime) -> str:
    return SECURE_COOKIE if rt.settings.secure_cookies else COOKIE


def cookie_path(rt: Runtime, page: str = "u/login") -> str:
    """The login endpoint's path under the issuer (the issuer may live under a path behind a proxy); its
    sub-paths (``u/login/signup``) get the cookie too."""
    return urlsplit(rt.settings.issuer_url).path + page


def browser_nonce(rt: Runtime, request: Request) -> str | None:
    """The pre-login cookie this browser sent, when it has the shape we issue."""
    value = request.cookies.get(cookie_name(rt))
    return value if value and _NONCE.match(value) else None


def nonce_for_page(rt: Runtime, request: Request) -> str:
    """The browser's cookie value, or a new one (to be set on the page's response)."""
    return browser_nonce(rt, request) or ids.secret(24)


def form_token(rt: Runtime, txn: PendingRequest, nonce: str) -> str:
    return bound_token(rt, (txn.id, txn.csrf), nonce)


def bound_token(rt: Runtime, parts: tuple[str, ...], nonce: str) -> str:
    """``HMAC(key, parts…, cookie)``: a form token for what ``parts`` name (a transaction, a ticket), in this
    browser only."""
    key = hmac.new(rt.keys.kek, _LABEL, hashlib.sha256).digest()
    message = "\n".join((*parts, nonce)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def problem(rt: Runtime, request: Request, txn: PendingRequest, presented: str | None) -> str | None:
    """None when the form token belongs to this browser and this transaction; else why not."""
    return bound_problem(rt, request, (txn.id, txn.csrf), presented)


def bound_problem(rt: Runtime, request: Request, parts: tuple[str, ...], presented: str | None) -> str | None:
    nonce = browser_nonce(rt, request)
    if nonce is None:
        return MISSING
    expected = bound_token(rt, parts, nonce)
    if not presented or not hmac.compare_digest(expected.encode(), presented.encode("utf-8", "surrogatepass")):
        return MISMATCH
    return None


def set_cookie(rt: Runtime, response: Response, nonce: str, *, page: str = "u/login") -> None:
    """(Re)set the pre-login cookie for ``page`` (the login pages, or a ticket's page); it lives as long as a
    pending login may, from the last page shown."""
    response.set_cookie(
        cookie_name(rt),
        nonce,
        max_age=rt.settings.interaction_lifetime,
        path=cookie_path(rt, page),
        httponly=True,
        secure=rt.settings.secure_cookies,
        samesite="lax",
    )


EXPIRED = "This sign-in request has expired. Start again from the application."
BAD_FORM = "The form has expired or was tampered with (CSRF check failed). Go back and try again."


async def submitted_request(rt: Runtime, request: Request, state: str, csrf: str) -> PendingRequest | Response:
    """The pending request a sign-in form was posted for, when it is live and the form is this browser's;
    else the error page to answer (an expired request; a failed CSRF check, 403)."""
    txn = await interaction.load(rt, state)
    if txn is None:
        return render_error(request, EXPIRED, error="invalid_request")
    if problem(rt, request, txn, csrf) is not None:
        return render_error(request, BAD_FORM, status=403, error="invalid_request")
    return txn
