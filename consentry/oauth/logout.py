"""Logout: Auth0's ``GET /v2/logout`` and OIDC RP-Initiated Logout 1.0 (``/oidc/logout``).

Both end the SSO session (the server-side row is revoked and the cookie cleared), then redirect
only to a URL that is **exactly** one of the allowed logout URLs (string equality, as for
redirect URIs, RFC 9700 §4.1.3), else show a page: never an open redirect. The session is ended
even when the return URL is refused, since the user asked to be logged out and logging out
needs no proof (anyone can send a valid logout request anyway).

- ``/v2/logout``: ``returnTo`` is checked against the client's ``allowed_logout_urls`` when
  ``client_id`` is given, else the tenant's; without ``returnTo`` the client's first URL is used.
  ``federated`` is accepted and ignored (no upstream identity providers).
- ``/oidc/logout``: ``id_token_hint`` must be one of our ID tokens (signature and issuer checked;
  an expired one is fine, RP-Initiated Logout §2); its ``aud`` names the client, and a ``client_id``
  sent too must be the same one. ``post_logout_redirect_uri`` needs that client and one of its
  allowed logout URLs; ``state`` is passed back. ``logout_hint``/``ui_locales`` are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import jwt
from jwt.types import Options
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from consentry.config_records import ClientInfo
from consentry.login.sessions import clear_cookie, end_session
from consentry.oauth.errors import INVALID_REQUEST
from consentry.oauth.params import body_params, query_params
from consentry.oauth.redirect_uri import callback_problem
from consentry.runtime import Runtime
from consentry.tokens.keys import RS256
from consentry.ui.render import render, render_error
from consentry.web import NO_STORE, client_ip

NOT_ALLOWED = "The logout return URL is not one of the application's Allowed Logout URLs. You have been logged out."
MAX_HINT = 16 * 1024


def allowed_target(url: str, allowed: Sequence[Any]) -> bool:
    """Exact match with a registered URL that is itself a safe redirect target (defence in depth)."""
    registered = any(url == entry for entry in allowed if isinstance(entry, str))
    return registered and callback_problem(url, native=True) is None


def _first_allowed(allowed: Sequence[Any]) -> str | None:
    return next((u for u in allowed if isinstance(u, str) and allowed_target(u, allowed)), None)


async def _client(rt: Runtime, client_id: str) -> ClientInfo | None:
    client = await rt.catalog.client(client_id) if len(client_id) <= 512 else None
    return client if client is not None and client.status == "active" else None


async def _finish(
    rt: Runtime,
    request: Request,
    *,
    target: str | None = None,
    problem: str | None = None,
    client: ClientInfo | None = None,
) -> Response:
    await end_session(rt, request, client_id=client.client_id if client else None, ip=client_ip(request))
    response: Response
    if problem:
        response = render_error(request, problem, status=400, error="invalid_request")
    elif target:
        response = RedirectResponse(target, status_code=302, headers=NO_STORE)
    else:
        response = render(request, "logged_out.html", client=client)
    clear_cookie(rt, response)
    return response


async def auth0_logout(rt: Runtime, request: Request) -> Response:
    params = query_params(request)
    client_id, return_to = params.get("client_id"), params.get("returnTo")
    client = await _client(rt, client_id) if client_id else None
    if client_id and client is None:
        return await _finish(rt, request, problem="Unknown client. You have been logged out.")
    if client is not None:
        allowed: Sequence[Any] = client.allowed_logout_urls
    else:
        configured = (await rt.catalog.tenant()).get("allowed_logout_urls")
        allowed = configured if isinstance(configured, list) else []
    if return_to:
        if not allowed_target(return_to, allowed):
            return await _finish(rt, request, problem=NOT_ALLOWED, client=client)
        return await _finish(rt, request, target=return_to, client=client)
    target = _first_allowed(allowed) if client is not None else None
    return await _finish(rt, request, target=target, client=client)


async def _id_token_client(rt: Runtime, hint: str) -> str | None:
    """The client an ID token of ours was issued to (expired tokens included), or None."""
    if len(hint) > MAX_HINT:
        return None
    try:
        header = jwt.get_unverified_header(hint)
        kid = header.get("kid")
        if header.get("alg") != RS256 or not isinstance(kid, str) or len(kid) > 128:  # ID tokens are RS256
            return None
        key = await rt.keys.key(kid)
        if key is None or key.alg != RS256:
            return None
        options: Options = {"verify_exp": False, "verify_aud": False, "require": ["iss", "sub", "aud"]}
        claims = jwt.decode(hint, key.public_key, algorithms=[RS256], issuer=rt.settings.issuer_url, options=options)
    except jwt.PyJWTError:
        return None
    if "client_id" in claims or header.get("typ", "JWT").lower() != "jwt":
        return None  # an access token, not an ID token
    aud, azp = claims["aud"], claims.get("azp")
    if isinstance(aud, str):
        return aud
    if isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
        return azp if isinstance(azp, str) and azp in aud else (aud[0] if len(aud) == 1 else None)
    return None


def _with_state(url: str, state: str | None) -> str:
    if state is None:
        return url
    return url + ("&" if "?" in url else "?") + urlencode({"state": state})


async def oidc_logout(rt: Runtime, request: Request) -> Response:
    if request.method == "POST":
        if request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json":
            raise INVALID_REQUEST.with_hint("Send the logout request as a form (application/x-www-form-urlencoded).")
        params = await body_params(request)
    else:
        params = query_params(request)
    client_id, hint = params.get("client_id"), params.get("id_token_hint")
    redirect_uri, state = params.get("post_logout_redirect_uri"), params.get("state")
    if hint:
        hinted = await _id_token_client(rt, hint)
        if hinted is None:
            return await _finish(
                rt,
                request,
                problem="The id_token_hint is not a valid ID token from this server. You have been logged out.",
            )
        if client_id and client_id != hinted:
            return await _finish(
                rt, request, problem="client_id does not match the id_token_hint. You have been logged out."
            )
        client_id = hinted
    client = await _client(rt, client_id) if client_id else None
    if client_id and client is None:
        return await _finish(rt, request, problem="Unknown client. You have been logged out.")
    if not redirect_uri:
        return await _finish(rt, request, client=client)
    if client is None:
        return await _finish(
            rt, request, problem="post_logout_redirect_uri needs id_token_hint or client_id. You have been logged out."
        )
    if not allowed_target(redirect_uri, client.allowed_logout_urls):
        return await _finish(rt, request, problem=NOT_ALLOWED, client=client)
    return await _finish(rt, request, target=_with_state(redirect_uri, state), client=client)
