"""CORS for the endpoints browsers call directly (SPEC §5; auth0-spa-js, clients.md §0/§5).

``/oauth/token``, ``/userinfo`` and ``/oauth/revoke`` answer an allowed origin (see
``cors_origins``) with that exact origin; ``/.well-known/*`` is public metadata and answers ``*``.
Credentials are never allowed: none of these endpoints reads cookies. A preflight gets ``204``
with the requested headers echoed (spa-js sends ``Auth0-Client``), or ``403`` with no CORS
headers when the origin is not allowed. Error answers carry the CORS headers too, so a browser
app can read ``error`` and ``WWW-Authenticate``.
"""

from __future__ import annotations

import re

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consentry.oauth.cors_origins import AllowedOrigins
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
        allowed = "*" if public else (origin if await self.origins.allows(origin) else None)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(send, allowed, headers.get("access-control-request-headers"), public)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                if allowed is not None:
                    raw += [(b"access-control-allow-origin", allowed.encode("latin-1")),
                            (b"access-control-expose-headers", EXPOSE)]  # fmt: skip
                if not public:
                    raw = _add_vary(raw, b"Origin")
                message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    async def _preflight(send: Send, allowed: str | None, requested: str | None, public: bool) -> None:
        vary = [] if public else [(b"vary", b"Origin, Access-Control-Request-Headers")]
        if allowed is None:
            body = orjson.dumps({"error": "access_denied",
                                 "error_description": "This origin is not allowed to call this endpoint."})  # fmt: skip
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()), *vary]})  # fmt: skip
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
