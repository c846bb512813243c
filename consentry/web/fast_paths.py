"""The two shortcuts past FastAPI for the most frequent requests; each answers exactly what the full stack would.

``MetadataFastPath`` serves the JWKS and discovery documents as cached bytes ahead of every middleware;
``EndpointFastLane`` calls the token and introspection endpoints without the router (docs/performance.md).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from consentry.web.middleware import SECURITY_HEADERS


class MetadataFastPath:
    """Serve ``GET`` of the JWKS and the discovery documents as cached bytes, ahead of the middleware stack.

    They are the most requested and least varying answers (every resource server and client library
    polls them). The bytes and headers are exactly what the routes, ``SecurityHeadersMiddleware`` and
    the CORS middleware (``*`` for ``/.well-known/*``) produce; anything else, and any failure, goes
    down the normal stack.
    """

    JWKS = "/.well-known/jwks.json"
    DISCOVERY = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")

    def __init__(self, app: ASGIApp, runtime: Any) -> None:
        from consentry.oauth.cors import EXPOSE
        from consentry.tokens.keys import JWKS_CACHE_CONTROL

        self.app, self.rt = app, runtime
        self._jwks_cache_control = JWKS_CACHE_CONTROL.encode()
        self.cors = [(b"access-control-allow-origin", b"*"), (b"access-control-expose-headers", EXPOSE)]
        self._tenant: Any = None
        self._discovery = b""
        self._jwks_source: bytes | None = None
        self._jwks_headers: list[tuple[bytes, bytes]] = []
        self._discovery_headers: list[tuple[bytes, bytes]] = []

    @staticmethod
    def _headers(body: bytes, cache_control: bytes = b"public, max-age=60") -> list[tuple[bytes, bytes]]:
        return [
            (b"cache-control", cache_control),
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
            *SECURITY_HEADERS,
        ]

    async def _jwks(self) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        # the shared counter first (one read per request): a key another process made, rotated or revoked is
        # in this answer as soon as its write returned (a new ES256 ring signs with a key made just before)
        await self.rt.catalog.fresh()
        body: bytes = await self.rt.keys.jwks()
        if body is not self._jwks_source:
            self._jwks_source, self._jwks_headers = body, self._headers(body, self._jwks_cache_control)
        return body, self._jwks_headers

    async def _metadata(self) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        from consentry.oauth.discovery import metadata

        tenant = await self.rt.catalog.tenant()
        if tenant is not self._tenant:
            self._discovery = orjson.dumps(metadata(self.rt.settings, tenant))
            self._discovery_headers = self._headers(self._discovery)
            self._tenant = tenant
        return self._discovery, self._discovery_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path") if scope["type"] == "http" and scope["method"] == "GET" else None
        if (path != self.JWKS and path not in self.DISCOVERY) or b"%00" in scope.get("query_string", b""):
            await self.app(scope, receive, send)
            return
        try:
            body, headers = await (self._jwks() if path == self.JWKS else self._metadata())
        except Exception:  # noqa: BLE001 - the normal stack renders the error
            await self.app(scope, receive, send)
            return
        if any(name == b"origin" for name, _ in scope["headers"]):
            headers = headers + self.cors
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class EndpointFastLane:
    """Call the hottest POST endpoints (``/oauth/token``, ``/oauth/introspect``) without FastAPI's router.

    Route matching over every mounted route and dependency solving cost about a third of an RS256
    signature per request. This layer sits innermost among the middleware (body limit, security
    headers and CORS still apply), calls the very endpoint functions the routes call, and renders an
    exception with the handler the application registered for it, as ``ExceptionMiddleware`` would;
    anything with no specific handler propagates to ``ServerErrorMiddleware`` exactly as before.
    """

    def __init__(self, app: ASGIApp, routes: dict[str, Any]) -> None:
        self.app, self.routes = app, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.routes.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except Exception as exc:
            handler = _specific_handler(scope["app"], exc)
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)


def _specific_handler(app: Any, exc: Exception) -> Any:
    """The handler registered for the exception's class or a base class, short of ``Exception`` itself."""
    handlers = getattr(app, "exception_handlers", {})
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]
    return None
