"""The upstream leg of a sign-in: send the browser to the provider, then redeem its code for a checked ID token.

``begin`` stores a fresh ``state``, ``nonce`` and PKCE verifier (RFC 7636, S256) on the pending request and
returns the provider's authorization URL. ``finish`` exchanges the code at the token endpoint (with the
verifier and the client secret, or as a public client) and validates the ID token (``federation.id_token``).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import urlencode

from consentry.federation import id_token
from consentry.federation.fetch import UpstreamError, basic_auth, request_json
from consentry.federation.provider import Provider, Upstream, jwks, provider
from consentry.runtime import Runtime
from consentry.storage import interactions
from consentry.storage.interactions import PendingRequest
from consentry.tokens import ids

CALLBACK_PATH = "login/callback"


def callback_url(rt: Runtime) -> str:
    return rt.settings.url(CALLBACK_PATH)


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


async def begin(rt: Runtime, txn: PendingRequest, up: Upstream, login_hint: str | None = None) -> tuple[str, str]:
    """(the provider's authorization URL, the upstream ``state``) for this pending request."""
    p = await provider(rt.settings, up, rt.clock.now())
    state, nonce, verifier = ids.secret(32), ids.secret(24), ids.secret(48)
    async with rt.db.write() as conn:
        await interactions.update_in(
            conn,
            txn.id,
            upstream_connection_id=up.connection.id,
            upstream_state=state,
            upstream_nonce=nonce,
            upstream_verifier=verifier,
        )
    params = {
        "response_type": "code",
        "client_id": up.client_id,
        "redirect_uri": callback_url(rt),
        "scope": up.scope,
        "state": state,
        "nonce": nonce,
        "code_challenge": _challenge(verifier),
        "code_challenge_method": "S256",
    }
    if login_hint:
        params["login_hint"] = login_hint
    separator = "&" if "?" in p.authorization_endpoint else "?"
    return p.authorization_endpoint + separator + urlencode(params), state


def _token_request(rt: Runtime, up: Upstream, code: str, verifier: str) -> tuple[dict[str, str], dict[str, str]]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": callback_url(rt),
        "code_verifier": verifier,
    }
    headers: dict[str, str] = {}
    if up.auth_method == "client_secret_basic" and up.client_secret:
        headers["Authorization"] = basic_auth(up.client_id, up.client_secret)
    else:
        form["client_id"] = up.client_id
        if up.client_secret:
            form["client_secret"] = up.client_secret
    return form, headers


async def _redeem(rt: Runtime, p: Provider, up: Upstream, code: str, verifier: str) -> str:
    form, headers = _token_request(rt, up, code, verifier)
    status, body = await request_json(rt.settings, "POST", p.token_endpoint, form=form, headers=headers)
    if status != 200:
        error = body.get("error")
        raise UpstreamError(f"The identity provider refused the code ({str(error)[:60] if error else status}).")
    token = body.get("id_token")
    if not isinstance(token, str) or not token:
        raise UpstreamError("The identity provider answered no ID token.")
    return token


async def finish(rt: Runtime, txn: PendingRequest, up: Upstream, code: str) -> dict[str, Any]:
    """The upstream ID token's claims, every check passed (raises ``UpstreamError`` or ``IdTokenInvalid``)."""
    now = rt.clock.now()
    p = await provider(rt.settings, up, now)
    token = await _redeem(rt, p, up, code, txn.upstream_verifier or "")
    expected = id_token.Expected(p.issuer, up.client_id, txn.upstream_nonce or "", p.algs, now)
    try:
        return id_token.validate(token, await jwks(rt.settings, p, now), expected)
    except id_token.UnknownKey:  # the provider may have rotated its keys since we cached them
        return id_token.validate(token, await jwks(rt.settings, p, now, fresh=True), expected)
