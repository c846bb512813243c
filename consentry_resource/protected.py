"""One protected resource: its validator, its RFC 9728 metadata and its RFC 6750 answers (401, 403, 503)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from consentry_resource.errors import AuthError, InsufficientScope, InvalidToken, ValidatorUnavailable
from consentry_resource.metadata import WELL_KNOWN, metadata_url, protected_resource_metadata
from consentry_resource.scopes import require_scopes
from consentry_resource.validator import TokenValidator

log = logging.getLogger("consentry.resource")
_UNQUOTABLE = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def _quoted(value: str) -> str:
    return '"' + _UNQUOTABLE.sub("?", value)[:300] + '"'


class ProtectedResource:
    """One protected resource: its validator, its metadata and its RFC 6750 answers."""

    def __init__(
        self,
        validator: TokenValidator,
        scopes_supported: Sequence[str] = (),
        *,
        resource_name: str | None = None,
        resource_documentation: str | None = None,
    ) -> None:
        self.validator = validator
        self.resource, self.issuer = validator.resource, validator.issuer
        self.scopes_supported = list(scopes_supported)
        self.metadata = protected_resource_metadata(
            self.resource,
            self.issuer,
            self.scopes_supported,
            resource_name=resource_name,
            resource_documentation=resource_documentation,
        )
        self.metadata_url = metadata_url(self.resource)
        self.metadata_paths = tuple(dict.fromkeys([urlsplit(self.metadata_url).path, WELL_KNOWN]))

    def challenge(self, error: str | None = None, description: str | None = None, scope: Sequence[str] = ()) -> str:
        """``WWW-Authenticate`` value; no ``error`` when no token was sent (RFC 6750 §3.1)."""
        parts = []
        if error:
            parts.append(f"error={_quoted(error)}")
        if description:
            parts.append(f"error_description={_quoted(description)}")
        parts.append(f"resource_metadata={_quoted(self.metadata_url)}")
        if scope:
            parts.append(f"scope={_quoted(' '.join(scope))}")
        return "Bearer " + ", ".join(parts)

    def error_response(self, status: int, error: str | None, description: str, scope: Sequence[str] = ()) -> Response:
        body = {"error": error or "invalid_token", "error_description": description}
        headers = {
            "WWW-Authenticate": self.challenge(error, description if error else None, scope),
            "Cache-Control": "no-store",
        }
        return JSONResponse(body, status_code=status, headers=headers)

    def metadata_response(self) -> Response:
        return JSONResponse(
            self.metadata, headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}
        )

    def metadata_routes(self) -> list[Route]:
        async def endpoint(_: Request) -> Response:
            return self.metadata_response()

        return [Route(path, endpoint, methods=["GET"]) for path in self.metadata_paths]

    async def authenticate(self, conn: HTTPConnection, required: Sequence[str] = ()) -> dict[str, Any]:
        """Claims of the request's bearer token, or an ``AuthError`` carrying the 401/403/503 response."""
        challenge_scope = list(required) or self.scopes_supported
        header = conn.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if not header or scheme.lower() != "bearer":
            raise AuthError(self.error_response(401, None, "An access token is required.", challenge_scope))
        try:
            claims = await self.validator.validate(token.strip())
            require_scopes(claims, required)
        except InvalidToken as exc:
            raise AuthError(self.error_response(401, "invalid_token", exc.description, challenge_scope)) from None
        except InsufficientScope as exc:
            description = "The access token lacks the required scope: " + " ".join(exc.missing)
            raise AuthError(self.error_response(403, "insufficient_scope", description, required)) from None
        except ValidatorUnavailable as exc:
            log.error("cannot validate tokens: %s", exc)
            body = {"error": "temporarily_unavailable", "error_description": "Token validation is unavailable."}
            raise AuthError(JSONResponse(body, status_code=503, headers={"Retry-After": "5"})) from None
        return claims

    def requires(self, *scopes: str) -> Callable[[Request], Any]:
        """A FastAPI dependency: ``claims = Depends(protected.requires("read:notes"))``."""

        async def dependency(request: Request) -> dict[str, Any]:
            try:
                return await self.authenticate(request, scopes)
            except AuthError as exc:
                detail = json.loads(bytes(exc.response.body)).get("error_description", "")
                headers = {k: v for k, v in exc.response.headers.items() if k in ("www-authenticate", "retry-after")}
                raise HTTPException(exc.response.status_code, detail, headers) from None

        return dependency
