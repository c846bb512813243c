"""Which surface a request belongs to (it decides the shape of its errors), and who sent it."""

from __future__ import annotations

from typing import Literal

from starlette.requests import Request

Surface = Literal["management", "page", "oauth"]
PAGE_PREFIXES = ("/u/", "/admin", "/authorize", "/v2/logout", "/oidc/logout")


def surface(path: str) -> Surface:
    """``management`` (Auth0's error shape), ``page`` (an HTML error page) or ``oauth`` (RFC 6749 §5.2 JSON)."""
    if path.startswith("/api/v2"):
        return "management"
    if path.startswith(PAGE_PREFIXES) or path in ("/u", "/"):
        return "page"
    return "oauth"


def client_ip(request: Request) -> str:
    """The caller's address; ``X-Forwarded-For`` counts only from a configured trusted proxy."""
    peer = request.client.host if request.client else "unknown"
    trusted = request.app.state.runtime.settings.trusted_proxies
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and peer in trusted:
        return forwarded.split(",")[0].strip()[:64]
    return peer
