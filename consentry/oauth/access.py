"""Which application may call which API, with which scopes (SPEC T4, T7, T8). Pure functions.

- An API's policy (``subject_type_authorization``) is ``allow_all`` / ``require_client_grant`` /
  ``deny_all`` for user flows and ``require_client_grant`` / ``deny_all`` for client flows.
- Third-party apps ignore ``allow_all``: they always need a client grant — their own, or the
  ``default_for: "third_party_clients"`` one; a per-application grant for the API *replaces* the default.
- The grant is a scope ceiling: scopes outside it are dropped (user flows) or refused (client flows).
- Third-party apps never reach the Management API.
- An API that enforces RBAC (``enforce_policies``) gives a user's tokens only the permissions the user holds,
  directly or through roles (``within_permissions``); client flows are governed by client grants alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from consentry.config_records import THIRD_PARTY_DEFAULT, ApiInfo, ClientGrantInfo, ClientInfo, ConnectionInfo

USER = "user"
CLIENT = "client"


@dataclass(frozen=True)
class ApiAccess:
    """The outcome for one (client, API, subject type): allowed scopes, or a refusal with its reason."""

    allowed: bool
    ceiling: frozenset[str]
    reason: str
    grant_id: str | None = None


def effective_client_grant(
    client: ClientInfo, grants: Iterable[ClientGrantInfo], subject_type: str
) -> ClientGrantInfo | None:
    """The client grant that governs this client for one API (T8: per-application beats the default)."""
    own = default = None
    for g in grants:
        if g.subject_type != subject_type:
            continue
        if g.client_id == client.client_id:
            own = g
        elif g.client_id is None and g.default_for == THIRD_PARTY_DEFAULT and client.is_third_party:
            default = g
    return own or default


def _ceiling(grant: ClientGrantInfo, api: ApiInfo) -> frozenset[str]:
    return api.scope_values if grant.allow_all_scopes else frozenset(grant.scope) & api.scope_values


def api_access(client: ClientInfo, api: ApiInfo, grants: Iterable[ClientGrantInfo], subject_type: str) -> ApiAccess:
    """Decide whether ``client`` may get tokens for ``api`` in a user or client flow, and the scope ceiling."""
    if api.is_system and client.is_third_party:
        return ApiAccess(False, frozenset(), f"third-party applications cannot access {api.name}")
    policy = api.user_policy if subject_type == USER else api.client_policy
    if policy == "deny_all":
        return ApiAccess(False, frozenset(), f"access to {api.name} is denied by its policy")
    grant = effective_client_grant(client, grants, subject_type)
    if policy == "allow_all" and client.is_first_party:
        return ApiAccess(
            True,
            _ceiling(grant, api) if grant else api.scope_values,
            "allowed by the API policy",
            grant.id if grant else None,
        )
    if grant is None:
        return ApiAccess(False, frozenset(), f"the application has no client grant for {api.name}")
    return ApiAccess(True, _ceiling(grant, api), "allowed by a client grant", grant.id)


def allowed_connections(client: ClientInfo, connections: Iterable[ConnectionInfo]) -> list[ConnectionInfo]:
    """T6: third-party apps use domain-level connections only; first-party apps their enabled ones."""
    if client.is_third_party:
        return [c for c in connections if c.is_domain_connection]
    return [c for c in connections if client.client_id in c.enabled_clients or c.is_domain_connection]


def within_permissions(api_scopes: Iterable[str], permissions: frozenset[str] | None) -> tuple[list[str], list[str]]:
    """(kept, lacking): the API scopes the user holds a permission for, in order; ``permissions`` None means the
    API does not enforce RBAC, so every scope is kept."""
    kept: list[str] = []
    lacking: list[str] = []
    for s in dict.fromkeys(api_scopes):
        (kept if permissions is None or s in permissions else lacking).append(s)
    return kept, lacking


def split_scopes(requested: Iterable[str], ceiling: frozenset[str]) -> tuple[list[str], list[str]]:
    """(kept, dropped) in request order; duplicates removed."""
    kept: list[str] = []
    dropped: list[str] = []
    for s in dict.fromkeys(requested):
        (kept if s in ceiling else dropped).append(s)
    return kept, dropped
