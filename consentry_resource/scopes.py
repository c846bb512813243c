"""The scopes a validated token grants, and requiring some of them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from consentry_resource.errors import InsufficientScope


def token_scopes(claims: Mapping[str, Any]) -> set[str]:
    """Granted scopes: RFC 9068 ``scope`` (space-separated) plus Auth0 RBAC ``permissions``."""
    scope = claims.get("scope")
    values = set(scope.split()) if isinstance(scope, str) else set()
    permissions = claims.get("permissions")
    if isinstance(permissions, list):
        values.update(p for p in permissions if isinstance(p, str))
    return values


def require_scopes(claims: Mapping[str, Any], required: Iterable[str]) -> None:
    missing = [s for s in required if s not in token_scopes(claims)]
    if missing:
        raise InsufficientScope(missing)
