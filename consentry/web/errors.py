"""Errors rendered once, in the shape of the surface that was called.

The Management API answers Auth0's shape, the OAuth endpoints RFC 6749 §5.2 JSON, and pages an HTML error
page drawn by the renderer ``app.py`` hands to ``install_error_handlers`` (this package renders no HTML
itself). Anything unexpected becomes a generic 500, or 503 when the database is unreachable, with no stack trace.
"""

from __future__ import annotations

import logging
import socket
from typing import Protocol

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from consentry.management.errors import ManagementError, from_service
from consentry.oauth.errors import SERVER_ERROR, TEMPORARILY_UNAVAILABLE, OAuthError
from consentry.services.errors import ServiceError
from consentry.storage.paging import InvalidCursor
from consentry.storage.unavailable import DATABASE_ERRORS, looks_unavailable
from consentry.web.responses import NO_STORE, json_response
from consentry.web.surfaces import surface

log = logging.getLogger("consentry")


class PageErrorRenderer(Protocol):
    """Draws the HTML error page of a browser-facing path (``ui.render.render_error``)."""

    def __call__(self, request: Request, message: str, *, status: int = 400, error: str = "error") -> Response: ...


def _render_page_error(request: Request, message: str, status: int, error: str) -> Response:
    renderer: PageErrorRenderer = request.app.state.render_page_error
    return renderer(request, message, status=status, error=error)


def error_response(request: Request, status: int, error: str, message: str, code: str | None = None) -> Response:
    kind = surface(request.url.path)
    if kind == "management":
        return json_response(ManagementError(status, message, code or error).body(), status)
    if kind == "page":
        return _render_page_error(request, message, status, error)
    return json_response({"error": error, "error_description": message}, status, NO_STORE)


async def _oauth_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OAuthError)
    expose = request.app.state.runtime.settings.expose_debug
    if surface(request.url.path) == "page":
        return _render_page_error(request, exc.body(expose)["error_description"], exc.status, exc.error)
    return json_response(exc.body(expose), exc.status, {**NO_STORE, **exc.headers})


async def _management_error(request: Request, exc: Exception) -> Response:
    """The Management API's errors, and the services' refusals it lets through, in Auth0's shape."""
    if isinstance(exc, InvalidCursor):
        exc = ManagementError(400, str(exc), "invalid_query_string")
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
    if surface(request.url.path) == "management":
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
    err = "invalid_request" if surface(request.url.path) == "oauth" else message
    code = {404: "not_found", 400: "invalid_body"}.get(exc.status_code)  # 400 here: a body FastAPI could not parse
    return error_response(request, exc.status_code, err, message, code)


async def unexpected(request: Request, exc: Exception) -> Response:
    """The clean ``server_error`` (or ``temporarily_unavailable`` while the database is away), logged once."""
    if looks_unavailable(exc):
        log.warning("database unavailable: %s", type(exc).__name__)
        err = TEMPORARILY_UNAVAILABLE
    else:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        err = SERVER_ERROR
    return error_response(request, err.status, err.error, err.description, err.error)


def install_error_handlers(app: FastAPI, render_page_error: PageErrorRenderer) -> None:
    app.state.render_page_error = render_page_error
    app.add_exception_handler(OAuthError, _oauth_error)
    app.add_exception_handler(ManagementError, _management_error)
    app.add_exception_handler(ServiceError, _management_error)
    app.add_exception_handler(InvalidCursor, _management_error)  # only the Management API pages by checkpoint
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Database errors get handlers of their own: the catch-all ``Exception`` handler runs in Starlette's
    # ServerErrorMiddleware, which re-raises after answering (uvicorn then logs a traceback per request
    # for as long as the database is away).
    for database_error in (*DATABASE_ERRORS, ConnectionError, TimeoutError, socket.gaierror):
        app.add_exception_handler(database_error, unexpected)
    app.add_exception_handler(Exception, unexpected)
