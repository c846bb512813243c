"""ASGI middleware putting a ``ProtectedResource`` in front of any app, with per-tool scopes for MCP servers."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consentry_resource.errors import AuthError
from consentry_resource.protected import ProtectedResource

MAX_BODY_INSPECTED = 1024 * 1024


def _mcp_tool_names(body: bytes) -> list[str]:
    """The tools a JSON-RPC ``tools/call`` request (or batch) names, from the MCP streamable HTTP POST body."""
    try:
        message = json.loads(body)
    except ValueError:
        return []
    names = []
    for item in message if isinstance(message, list) else [message]:
        params = item.get("params") if isinstance(item, dict) and item.get("method") == "tools/call" else None
        name = params.get("name") if isinstance(params, dict) else None
        names.append(name if isinstance(name, str) else "")
    return names


class ProtectedResourceMiddleware:
    """ASGI middleware: serves the RFC 9728 documents and requires a valid bearer token under ``paths``.

    ``required_scopes`` apply to every protected request; ``tool_scopes`` maps MCP tool names to the
    scopes a ``tools/call`` for that tool needs (answered with 403 ``insufficient_scope`` before the
    MCP server runs, so clients can step up). Validated claims are put in ``scope["state"]["claims"]``.
    """

    def __init__(
        self,
        app: ASGIApp,
        protected: ProtectedResource,
        *,
        paths: Sequence[str] = ("/",),
        required_scopes: Sequence[str] = (),
        tool_scopes: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.app, self.protected = app, protected
        self.paths = tuple(paths)
        self.required_scopes = list(required_scopes)
        self.tool_scopes = {k: list(v) for k, v in (tool_scopes or {}).items()}

    def _is_protected(self, path: str) -> bool:
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in self.protected.metadata_paths and scope["method"] in ("GET", "HEAD"):
            await self.protected.metadata_response()(scope, receive, send)
            return
        if not self._is_protected(path) or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        required = list(self.required_scopes)
        if self.tool_scopes and scope["method"] == "POST":
            body, receive = await _buffer(receive)
            if body is None:
                await JSONResponse(
                    {"error": "invalid_request", "error_description": "Request body too large."}, status_code=413
                )(scope, receive, send)
                return
            for name in _mcp_tool_names(body):
                required += [s for s in self.tool_scopes.get(name, []) if s not in required]
        try:
            claims = await self.protected.authenticate(HTTPConnection(scope), required)
        except AuthError as exc:
            await exc.response(scope, receive, send)
            return
        scope.setdefault("state", {})["claims"] = claims
        await self.app(scope, receive, send)


async def _buffer(receive: Receive) -> tuple[bytes | None, Receive]:
    """Read the whole body (None when over the limit) and give back a ``receive`` that replays it."""
    chunks: list[bytes] = []
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_INSPECTED:
            return None, receive
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
