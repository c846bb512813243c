"""The ASGI layers every request passes: the last-resort 500, the body limit, the security headers, lazy routers."""

from __future__ import annotations

import re
from collections.abc import Callable

import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consentry.management.errors import ManagementError
from consentry.web.errors import error_response, unexpected
from consentry.web.surfaces import surface

MAX_BODY = 1024 * 1024
# Uploads that are files, not requests: a users import of tens of thousands of users (``services.jobs``).
UPLOAD_LIMITS = {"/api/v2/jobs/users-imports": 64 * 1024 * 1024}


class LastResort:
    """Answer an exception no handler took with the clean 500 of ``errors.unexpected``, and do not re-raise it.

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
            response = await unexpected(Request(scope), exc)
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
        if surface(path) == "management":
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
