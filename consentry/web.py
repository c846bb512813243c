"""HTTP plumbing shared by every router: error rendering, body-size limit, security headers, client IP.

Errors are rendered once, here: the Management API answers Auth0's shape, the OAuth endpoints
RFC 6749 §5.2 JSON, and pages an HTML error page. Anything unexpected becomes a generic 500
(or 503 when the database is unreachable) with no stack trace.
"""

from __future__ import annotations

import json
import logging
import re
import socket
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consentry.management.errors import ManagementError, from_service
from consentry.oauth.errors import SERVER_ERROR, TEMPORARILY_UNAVAILABLE, OAuthError
from consentry.services.errors import ServiceError
from consentry.ui.render import render_error

log = logging.getLogger("consentry")

MAX_BODY = 1024 * 1024
# Uploads that are files, not requests: a users import of tens of thousands of users (``services.jobs``).
UPLOAD_LIMITS = {"/api/v2/jobs/users-imports": 64 * 1024 * 1024}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class ORJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:  # e.g. an integer beyond 64 bits a client stored in free-form metadata
            return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return ORJSONResponse(content, status_code=status, headers=headers)


def _kind(path: str) -> str:
    if path.startswith("/api/v2"):
        return "management"
    if path.startswith(("/u/", "/admin", "/authorize", "/v2/logout", "/oidc/logout")) or path in ("/u", "/"):
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


def error_response(request: Request, status: int, error: str, message: str, code: str | None = None) -> Response:
    kind = _kind(request.url.path)
    if kind == "management":
        return json_response(ManagementError(status, message, code or error).body(), status)
    if kind == "page":
        return render_error(request, message, status=status, error=error)
    return json_response({"error": error, "error_description": message}, status, NO_STORE)


async def _oauth_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OAuthError)
    expose = request.app.state.runtime.settings.expose_debug
    if _kind(request.url.path) == "page":
        return render_error(request, exc.body(expose)["error_description"], status=exc.status, error=exc.error)
    return json_response(exc.body(expose), exc.status, {**NO_STORE, **exc.headers})


async def _management_error(request: Request, exc: Exception) -> Response:
    """The Management API's errors, and the services' refusals it lets through, in Auth0's shape."""
    err = from_service(exc) if isinstance(exc, ServiceError) else exc
    assert isinstance(err, ManagementError)
    return json_response(err.body(), err.status, err.headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        msg = err.get("msg", "invalid")
        if err.get("type") == "extra_forbidden":
            msg = "Additional properties not allowed"
        parts.append(f"{msg}: {loc}" if loc else msg)
    return "Payload validation error: " + "; ".join(parts) + "."


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    in_query = any(e.get("loc", ("",))[0] in ("query", "path") for e in exc.errors())
    code = "invalid_query_string" if in_query else "invalid_body"
    if _kind(request.url.path) == "management":
        return error_response(request, 400, "Bad Request", _validation_message(exc), code)
    return error_response(request, 400, "invalid_request", _validation_message(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        message = "Not Found"
    elif exc.status_code == 405:
        message = "Method Not Allowed"
    else:
        message = str(exc.detail)
    err = "invalid_request" if _kind(request.url.path) == "oauth" else message
    code = {404: "not_found", 400: "invalid_body"}.get(exc.status_code)  # 400 here: a body FastAPI could not parse
    return error_response(request, exc.status_code, err, message, code)


async def _unexpected(request: Request, exc: Exception) -> Response:
    if _looks_unavailable(exc):
        log.warning("database unavailable: %s", type(exc).__name__)
        err = TEMPORARILY_UNAVAILABLE
    else:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        err = SERVER_ERROR
    return error_response(request, err.status, err.error, err.description, err.error)


# SQLSTATE classes of a database that is away, restarting, failing over or out of resources (not of a bad
# statement): connection exception, operator intervention (shutdown, "cannot connect now"), insufficient
# resources (too many connections, disk full), read-only transaction (a demoted primary), serialization.
UNAVAILABLE_SQLSTATES = ("08", "57P", "53", "25006", "40001", "40P01")
UNAVAILABLE_TEXT = (
    "database is locked",
    "database or disk is full",
    "disk i/o error",
    "unable to open database",
    "connection is closed",
    "connection was closed",
    "could not connect",
    "shutting down",
    "starting up",
    "recovery mode",
)


def _looks_unavailable(exc: BaseException) -> bool:
    """True when the database is unreachable, restarting or busy (a 503 worth retrying), not for a bug."""
    if isinstance(exc, PoolTimeout) or getattr(exc, "connection_invalidated", False):
        return True
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:  # the driver's own exception hides under SQLAlchemy's (.orig, __cause__)
        err = todo.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, OSError | TimeoutError):
            return True  # refused, reset, unreachable, timed out
        state = getattr(err, "sqlstate", None) or getattr(err, "pgcode", None)
        if isinstance(state, str) and state.startswith(UNAVAILABLE_SQLSTATES):
            return True
        if isinstance(err, DBAPIError) or type(err).__module__.startswith(("asyncpg", "sqlite3")):
            if any(k in str(err).lower() for k in UNAVAILABLE_TEXT):
                return True
        todo += [getattr(err, "orig", None), err.__cause__, err.__context__]
    return False


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OAuthError, _oauth_error)
    app.add_exception_handler(ManagementError, _management_error)
    app.add_exception_handler(ServiceError, _management_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Database errors get handlers of their own: the catch-all ``Exception`` handler runs in Starlette's
    # ServerErrorMiddleware, which re-raises after answering (uvicorn then logs a traceback per request
    # for as long as the database is away).
    for database_error in (DBAPIError, PoolTimeout, ConnectionError, TimeoutError, socket.gaierror):
        app.add_exception_handler(database_error, _unexpected)
    app.add_exception_handler(Exception, _unexpected)


class LastResort:
    """Answer an exception no handler took with the clean 500 of ``_unexpected``, and do not re-raise it.

    Starlette's ``ServerErrorMiddleware`` answers such an exception and then re-raises it, and uvicorn closes the
    connection of a request whose application raised after answering: a client reusing that kept-alive connection
    for its next request sees it dropped. Outermost of our middleware, so nothing reaches that path; an exception
    after the answer began (nothing can be sent any more) still propagates.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            if started:
                raise
            response = await _unexpected(Request(scope), exc)
            await response(scope, receive, send)


class BodyLimitMiddleware:
    """Refuse request bodies over 1 MiB with 413, and NUL bytes anywhere with 400, in the shape of the API.

    The body is read whole (it is at most 1 MiB) before the app runs, so an oversized stream is refused
    before any route sees it. NUL bytes (raw, ``%00`` or JSON ``\\u0000``) have no use in OAuth or Management
    API values and PostgreSQL refuses them in text columns: they are a 400 here, not a database error; so is a
    JSON escape of half a surrogate pair, which no database or JSON renderer can store.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        limit = UPLOAD_LIMITS.get(scope.get("path", ""), self.limit)
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._reject(scope, send)
            return
        if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b""):
            await _refuse_nul(scope, receive, send, "query_string")
            return
        chunks: list[bytes] = []
        received, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; the app sees an empty body
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                await self._reject(scope, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if any(marker in body for marker in NUL_MARKERS):
            await _refuse_nul(scope, receive, send, "body")
            return
        is_json = headers.get(b"content-type", b"").lower().startswith(JSON_TYPES)
        if is_json and b"\\u" in body and LONE_SURROGATE.search(body):
            await _refuse_nul(scope, receive, send, "body", "The JSON body contains an unpaired surrogate escape.")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, scope: Scope, send: Send) -> None:
        path = scope.get("path", "")
        if _kind(path) == "management":
            body = ManagementError(413, "Payload too large (limit 1 MiB).", "payload_too_large").body()
        else:
            body = {"error": "invalid_request", "error_description": "Request body too large (limit 1 MiB)."}
        payload = orjson.dumps(body)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


NUL_MARKERS = (b"\x00", b"%00", b"\\u0000")
# A JSON escape of half a surrogate pair: Python's json accepts it, but the string cannot be encoded as UTF-8
# (the database driver and the JSON renderer fail on it), so it is refused like a NUL byte.
LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"  # a high half not followed by a low half
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"  # a low half not preceded by a high half
)
JSON_TYPES = (b"application/json", b"application/merge-patch+json")


async def _refuse_nul(
    scope: Scope, receive: Receive, send: Send, where: str, message: str = "The request contains a NUL character."
) -> None:
    request = Request(scope)
    code = "invalid_query_string" if where == "query_string" else "invalid_body"
    response = error_response(request, 400, "invalid_request", message, code)
    await response(scope, receive, send)


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
PAGE_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self' http: https:; "
        b"frame-ancestors 'none'; base-uri 'none'",
    ),
]


JSON_NO_STORE = (b"cache-control", b"no-store")


class SecurityHeadersMiddleware:
    """``nosniff`` everywhere; clickjacking and CSP headers on HTML pages (unless the page set its own CSP);
    ``no-store`` on JSON answers that did not choose their own caching (discovery and JWKS do)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in names]
                content_type = dict(headers).get(b"content-type", b"")
                if content_type.startswith(b"text/html") and b"content-security-policy" not in names:
                    headers += [h for h in PAGE_HEADERS if h[0] not in names]
                if content_type.startswith(b"application/json") and b"cache-control" not in names:
                    headers.append(JSON_NO_STORE)  # secrets, tokens, personal data: never kept by a cache
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def html(content: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(content, status_code=status, headers={**NO_STORE, **(headers or {})})


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


class LazyRouters:
    """Call ``load()`` (which mounts routers once) before the first request under ``prefix`` reaches the router.

    For routes most workers never serve (the Management API): their modules are imported on first use.
    """

    def __init__(self, app: ASGIApp, prefix: str, load: Callable[[], None]) -> None:
        self.app, self.prefix, self.load = app, prefix, load

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            self.load()
        await self.app(scope, receive, send)


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
