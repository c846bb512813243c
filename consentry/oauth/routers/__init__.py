"""The Authentication API's routers that are not pages, one module per job; each route parses the request,
calls one module of ``consentry/oauth`` and renders its answer.

``metadata`` (discovery, JWKS), ``token`` (``/oauth/token``), ``token_checks`` (``/userinfo``, revocation,
introspection), ``logout`` (``/v2/logout``, ``/oidc/logout``), ``registration`` (RFC 7591 / 7592).
"""

from __future__ import annotations

from starlette.requests import Request

from consentry.runtime import Runtime


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]
