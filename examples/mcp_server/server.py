"""Notes: an example MCP server (streamable HTTP) whose tools are protected by Consentry access tokens.

    .venv/bin/python examples/mcp_server/server.py --port 9200 --issuer http://127.0.0.1:8080/

The resource identifier is ``http://127.0.0.1:PORT/mcp``; register it in Consentry as an API with the
scopes ``read:notes`` and ``write:notes`` (see README.md). Token checks happen twice, on purpose:
``consentry_resource.ProtectedResourceMiddleware`` runs first (RFC 9728 metadata, RFC 6750 challenges
with ``resource_metadata`` and ``scope``, 403 ``insufficient_scope`` per tool so clients can step up),
then the MCP SDK's own ``TokenVerifier``/``AuthSettings`` layer (backed by the same validator) binds MCP
sessions to the token's principal and lets tools read the token.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections import defaultdict
from typing import Any

import uvicorn
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from starlette.types import ASGIApp

from consentry_resource import (
    InvalidToken,
    ProtectedResource,
    ProtectedResourceMiddleware,
    TokenValidator,
    ValidatorUnavailable,
    token_scopes,
)

READ, WRITE = "read:notes", "write:notes"
TOOL_SCOPES = {"list_notes": [READ], "add_note": [WRITE]}
log = logging.getLogger("notes")


class ConsentryTokenVerifier:
    """The MCP SDK's ``TokenVerifier`` protocol, answered by ``consentry_resource.TokenValidator``."""

    def __init__(self, validator: TokenValidator) -> None:
        self.validator = validator

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            claims = await self.validator.validate(token)
        except (InvalidToken, ValidatorUnavailable) as exc:
            log.info("token refused: %s", exc)
            return None
        return AccessToken(
            token=token,
            client_id=str(claims.get("client_id") or claims.get("azp") or ""),
            scopes=sorted(token_scopes(claims)),
            expires_at=int(claims["exp"]),
            resource=self.validator.resource,  # the validator checked that ``aud`` contains it
            subject=claims.get("sub"),
            claims=claims,
        )


def _caller(scope: str) -> str:
    """The token's subject, after checking the tool's scope again (defence in depth behind the middleware)."""
    token = get_access_token()
    if token is None or scope not in token.scopes:
        raise ToolError(f"This tool needs the scope {scope}.")
    return token.subject or token.client_id


def build_app(issuer: str, resource: str, validator: TokenValidator | None = None) -> ASGIApp:
    validator = validator or TokenValidator(issuer, resource)
    notes: dict[str, list[str]] = defaultdict(list)
    server = MCPServer(
        name="Notes",
        instructions="Keep short notes for the signed-in user.",
        token_verifier=ConsentryTokenVerifier(validator),
        auth=AuthSettings(issuer_url=issuer, resource_server_url=resource, validate_token_resource=True),
    )

    @server.tool(description="List your notes (scope read:notes).")
    def list_notes() -> list[str]:
        return list(notes[_caller(READ)])

    @server.tool(description="Add a note (scope write:notes).")
    def add_note(text: str) -> dict[str, Any]:
        owner = _caller(WRITE)
        notes[owner].append(text[:2000])
        return {"saved": True, "count": len(notes[owner])}

    app = server.streamable_http_app(streamable_http_path="/mcp")
    protected = ProtectedResource(validator, [READ, WRITE], resource_name="Notes (Consentry example)")
    return ProtectedResourceMiddleware(app, protected, paths=["/mcp"], tool_scopes=TOOL_SCOPES)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9200)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--issuer", default="http://127.0.0.1:8080/", help="Consentry's issuer, trailing slash included"
    )
    parser.add_argument("--resource", help="Resource identifier (default http://HOST:PORT/mcp)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)
    resource = args.resource or f"http://{args.host}:{args.port}/mcp"
    logging.basicConfig(level=args.log_level.upper())
    config = uvicorn.Config(build_app(args.issuer, resource), host=args.host, port=args.port, log_level=args.log_level)
    asyncio.run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()
