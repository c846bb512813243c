"""The resource-server helper moved to its own top-level package, ``consentry_resource`` (docs/resource.md).

This name stays importable for code written against it; new code imports ``consentry_resource``.
"""

from __future__ import annotations

from consentry_resource import (
    WELL_KNOWN,
    AuthError,
    InsufficientScope,
    InvalidToken,
    ProtectedResource,
    ProtectedResourceMiddleware,
    RevocationCheckingValidator,
    TokenValidator,
    ValidatorUnavailable,
    metadata_url,
    protected_resource_metadata,
    require_scopes,
    token_scopes,
)

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
