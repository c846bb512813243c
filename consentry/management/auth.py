"""Bearer-token authorization for the Management API: audience ``{issuer}api/v2/`` and a scope per operation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import Request

from consentry.management.errors import ManagementError
from consentry.runtime import Runtime
from consentry.services.audit import REQUEST_IP
from consentry.tokens.jwt import TokenInvalid, verify
from consentry.tokens.liveness import live_scopes
from consentry.web import client_ip

Principal = dict[str, Any]


def require(*scopes: str) -> Callable[[Request], AsyncIterator[Principal]]:
    """A dependency that admits a token holding any one of ``scopes`` and yields its claims.

    While the request is served, the audit events it records carry the caller's address (``REQUEST_IP``)."""

    async def dependency(request: Request) -> AsyncIterator[Principal]:
        claims = await admit(request, scopes)
        token = REQUEST_IP.set(client_ip(request))
        try:
            yield claims
        finally:
            REQUEST_IP.reset(token)

    return dependency


async def admit(request: Request, scopes: tuple[str, ...]) -> Principal:
    """The token's claims if it is ours, for the Management API, alive, and holds one of ``scopes``."""
    rt: Runtime = request.app.state.runtime
    header = request.headers.get("authorization", "")
    if not header:
        raise ManagementError(401, "Missing authentication", "missing_authorization")
    if header[:7].lower() != "bearer " or not header[7:].strip():
        raise ManagementError(401, "Bad HTTP authentication header format", "invalid_token")
    try:
        claims = await verify(
            rt.keys, header[7:].strip(), issuer=rt.settings.issuer_url, audience=rt.settings.management_audience
        )
    except TokenInvalid:
        raise ManagementError(401, "Invalid token", "invalid_token") from None
    verdict = await live_scopes(rt, claims)
    if verdict.scopes is None:  # its application, grant or user is gone (tokens.liveness)
        raise ManagementError(401, "Invalid token", "invalid_token")
    granted = set(verdict.scopes)
    if scopes and not granted.intersection(scopes):
        raise ManagementError(403, f"Insufficient scope, expected any of: {','.join(scopes)}", "insufficient_scope")
    return claims
