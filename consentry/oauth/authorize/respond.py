"""Authorization responses in the three response modes (query, form_post, web_message).

Every response, success or error, carries ``iss`` (RFC 9207). Third-party apps under
``open_redirect_protection`` never get an error redirect: the user sees an error page instead
(SPEC C6/C11); ``web_message`` still posts the error to the opener, since nothing navigates.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from consentry.config_records import ClientInfo
from consentry.oauth.errors import OAuthError
from consentry.ui.render import render_error

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def origin_of(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def _script_hash(script: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()


def _redirect(redirect_uri: str, params: dict[str, str]) -> Response:
    sep = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(redirect_uri + sep + urlencode(params), status_code=302, headers=NO_STORE)


def _form_post(redirect_uri: str, params: dict[str, str]) -> Response:
    script = "document.forms[0].submit();"
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params.items()
    )
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Submitting…</title></head><body>'
        f'<form method="post" action="{html.escape(redirect_uri)}">{inputs}'
        '<noscript><button type="submit">Continue</button></noscript></form>'
        f"<script>{script}</script></body></html>"
    )
    csp = (
        f"default-src 'none'; script-src '{_script_hash(script)}'; form-action {origin_of(redirect_uri)}; "
        "frame-ancestors 'none'"
    )
    return HTMLResponse(body, headers={**NO_STORE, "Content-Security-Policy": csp, "X-Frame-Options": "DENY"})


def _web_message(client: ClientInfo, redirect_uri: str, params: dict[str, str]) -> Response:
    target = origin_of(redirect_uri)
    payload = json.dumps({"type": "authorization_response", "response": params}).replace("<", "\\u003c")
    script = f"window.parent.postMessage({payload},{json.dumps(target)});"
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Authorization</title></head>'
        f"<body><script>{script}</script></body></html>"
    )
    ancestors = " ".join(sorted(set(client.web_origins) | {target}))
    csp = f"default-src 'none'; script-src '{_script_hash(script)}'; frame-ancestors {ancestors}"
    return HTMLResponse(body, headers={**NO_STORE, "Content-Security-Policy": csp})


def respond(client: ClientInfo, redirect_uri: str, mode: str, params: dict[str, str]) -> Response:
    if mode == "form_post":
        return _form_post(redirect_uri, params)
    if mode == "web_message":
        return _web_message(client, redirect_uri, params)
    return _redirect(redirect_uri, params)


def response_issuer(tenant: dict[str, Any], issuer: str) -> str | None:
    """``iss`` for authorization responses (RFC 9207), unless the tenant turned it off (Auth0's
    ``authorization_response_iss_parameter_supported``, default on)."""
    return issuer if tenant.get("authorization_response_iss_parameter_supported", True) is not False else None


def success(
    client: ClientInfo, redirect_uri: str, mode: str, issuer: str | None, code: str, state: str | None
) -> Response:
    params = {"code": code}
    if state is not None:
        params["state"] = state
    if issuer:
        params["iss"] = issuer
    return respond(client, redirect_uri, mode, params)


def shows_error_page(client: ClientInfo, mode: str) -> bool:
    """open_redirect_protection: errors are shown, not redirected (except web_message, which never navigates)."""
    return client.is_third_party and client.redirection_policy == "open_redirect_protection" and mode != "web_message"


def error(
    request: Request,
    client: ClientInfo,
    redirect_uri: str,
    mode: str,
    issuer: str | None,
    err: OAuthError,
    state: str | None,
    expose_debug: bool = False,
) -> Response:
    body = err.body(expose_debug)
    if shows_error_page(client, mode):
        return render_error(request, body["error_description"], status=err.status, error=err.error)
    params = dict(body)
    if state is not None:
        params["state"] = state
    if issuer:
        params["iss"] = issuer
    return respond(client, redirect_uri, mode, params)
