"""CORS for the endpoints browsers call directly (SPEC §5; auth0-spa-js, clients.md §0/§5).

Decided per client, as Auth0's "Allowed Web Origins": a browser origin may read an answer of
``/oauth/token``, ``/oauth/revoke`` or ``/userinfo`` only when the client the request is for lists that
origin (its ``web_origins``, ``allowed_origins`` or the origin of one of its callbacks; see
``cors_clients`` for how the client is found). One app's origins, e.g. of an app registered through
open DCR, never let a page read another app's tokens.

- A preflight carries no body, so no client: it is answered (``204``, the requested headers echoed:
  spa-js sends ``Auth0-Client``) for any origin that some active client lists, else ``403`` with no
  CORS headers. The real request's answer then carries ``Access-Control-Allow-Origin`` only when its
  own client lists the origin; otherwise the browser withholds it from the page.
- An error answer to a request in which no client can be found (``client_id`` missing, a token that
  does not verify, a body refused for its size) says nothing about any client and is readable by any
  listed origin, so a browser app can read ``error`` and ``WWW-Authenticate``. A success always needs
  the named client's own origin.
- ``/.well-known/*`` is public metadata and answers ``*``.

Credentials are never allowed: none of these endpoints reads cookies.
"""

from __future__ import annotations

import re

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consentry.oauth import cors_clients
from consentry.oauth.cors_origins import AllowedOrigins, request_origin_ok
from consentry.runtime import Runtime

CORS_PATHS = frozenset({"/oauth/token", "/userinfo", "/oauth/revoke"})
PUBLIC_PREFIX = "/.well-known/"
ALLOW_METHODS = b"GET, POST, OPTIONS"
MAX_AGE = b"600"  # browsers re-check within 10 minutes, so a removed origin stops working soon
EXPOSE = b"WWW-Authenticate"
# RFC 9110 §5.6.2 field names, comma-separated: anything else is not echoed.
HEADER_LIST = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ \t]*,[ \t]*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$")


def _is_cors_path(path: str) -> bool:
    return path in CORS_PATHS or path.startswith(PUBLIC_PREFIX)


class CorsMiddleware:
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.rt = runtime
        self.origins = AllowedOrigins(runtime)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_cors_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        public = scope["path"].startswith(PUBLIC_PREFIX)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            allowed = "*" if public else (origin if await self.origins.allows(origin) else None)
            await self._preflight(send, allowed, headers.get("access-control-request-headers"), public)
            return
        body = _BodyCopy(receive)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                allowed = "*" if public else await self._allowed(scope, headers, origin, body, message["status"])
                if allowed is not None:
                    raw += [
                        (b"access-control-allow-origin", allowed.encode("latin-1")),
                        (b"access-control-expose-headers", EXPOSE),
                    ]
                if not public:
                    raw = _add_vary(raw, b"Origin")
                message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, body.receive if not public else receive, send_with_cors)

    async def _allowed(self, scope: Scope, headers: Headers, origin: str, body: _BodyCopy, status: int) -> str | None:
        """``origin`` when the answer's client lists it (or, for an error naming no client, any client does)."""
        if not request_origin_ok(origin):
            return None
        client_ids = await cors_clients.requested_clients(self.rt, scope["path"], headers, body.value())
        if not client_ids:
            return origin if status >= 400 and await self.origins.allows(origin) else None
        for client_id in client_ids:
            if not await cors_clients.client_allows(self.rt, client_id, origin):
                return None
        return origin

    @staticmethod
    async def _preflight(send: Send, allowed: str | None, requested: str | None, public: bool) -> None:
        vary = [] if public else [(b"vary", b"Origin, Access-Control-Request-Headers")]
        if allowed is None:
            body = orjson.dumps(
                {"error": "access_denied", "error_description": "This origin is not allowed to call this endpoint."}
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        *vary,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        raw = [
            (b"access-control-allow-origin", allowed.encode("latin-1")),
            (b"access-control-allow-methods", ALLOW_METHODS),
            (b"access-control-max-age", MAX_AGE),
            *vary,
        ]
        if requested and len(requested) <= 1000 and HEADER_LIST.match(requested.strip()):
            raw.append((b"access-control-allow-headers", requested.strip().encode("latin-1")))
        await send({"type": "http.response.start", "status": 204, "headers": raw})
        await send({"type": "http.response.body", "body": b""})


def _add_vary(raw: list[tuple[bytes, bytes]], value: bytes) -> list[tuple[bytes, bytes]]:
    for i, (name, existing) in enumerate(raw):
        if name.lower() == b"vary":
            if value.lower() not in existing.lower():
                raw[i] = (name, existing + b", " + value)
            return raw
    return [*raw, (b"vary", value)]


class _BodyCopy:
    """Passes the request body through to the app and keeps a copy, to find the client the answer is for.

    The body limit (``web.BodyLimitMiddleware``, inside this one) refuses anything over 1 MiB, so the copy
    is bounded; past ``MAX_COPY`` it is dropped (that request is answered 413, an error naming no client).
    """

    MAX_COPY = 1024 * 1024 + 65536

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._chunks: list[bytes] = []
        self._size = 0
        self._complete = False
        self._dropped = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request" and not self._complete:
            chunk = message.get("body", b"")
            self._size += len(chunk)
            if self._size > self.MAX_COPY:
                self._dropped, self._chunks = True, []
            elif not self._dropped:
                self._chunks.append(chunk)
            self._complete = not message.get("more_body", False)
        return message

    def value(self) -> bytes | None:
        """The whole body, or None when the app did not read all of it (or it was too big to keep)."""
        return b"".join(self._chunks) if self._complete and not self._dropped else None
