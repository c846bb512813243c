"""For APIs and MCP servers behind Consentry: validate its JWT access tokens and publish RFC 9728 metadata.

Import this package in the resource server; it depends only on httpx, PyJWT and Starlette (no database,
no Consentry settings). ``TokenValidator`` discovers the issuer's JWKS (RFC 8414), caches it and
validates RS256 or ES256 access tokens (RFC 9068 / Auth0 dialect) offline: a revoked token stays valid there until it
expires. ``RevocationCheckingValidator`` also asks the issuer's introspection endpoint (RFC 7662), with a
short cache, so that a revoked consent, a blocked user or a deleted app ends the token within ``cache_ttl``
seconds (cost: one introspection round trip per distinct token per ``cache_ttl``). ``ProtectedResource`` answers the
RFC 6750 challenges with the RFC 9728 ``resource_metadata`` pointer MCP clients follow, and
``ProtectedResourceMiddleware`` wires both into any ASGI app.
"""

from __future__ import annotations

from consentry_resource.errors import AuthError, InsufficientScope, InvalidToken, ValidatorUnavailable
from consentry_resource.metadata import WELL_KNOWN, metadata_url, protected_resource_metadata
from consentry_resource.middleware import ProtectedResourceMiddleware
from consentry_resource.protected import ProtectedResource
from consentry_resource.scopes import require_scopes, token_scopes
from consentry_resource.validator import RevocationCheckingValidator, TokenValidator

__all__ = [
    "WELL_KNOWN",
    "AuthError",
    "InsufficientScope",
    "InvalidToken",
    "ProtectedResource",
    "ProtectedResourceMiddleware",
    "RevocationCheckingValidator",
    "TokenValidator",
    "ValidatorUnavailable",
    "metadata_url",
    "protected_resource_metadata",
    "require_scopes",
    "token_scopes",
]
