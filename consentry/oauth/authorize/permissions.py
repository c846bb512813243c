"""The user's permissions applied to an authorization request, once the user is known (Auth0 RBAC).

Validation (``request.check_scope``) runs before anyone logs in, so it can only apply the client grant. For an API
that enforces RBAC (``enforce_policies``), the flow and the consent screen then call ``apply_user_permissions``:
API scopes the user holds no permission for, directly or through a role, are dropped from the request, so the
consent screen never shows them and the code never carries them. A third-party app left with no API scope is
refused, as ``check_scope`` refuses one its client grant leaves with none.
"""

from __future__ import annotations

from consentry.config_records import ApiInfo
from consentry.oauth.authorize.request import AuthorizeContext
from consentry.oauth.errors import ACCESS_DENIED
from consentry.runtime import Runtime
from consentry.storage import rbac


async def permissions_for(rt: Runtime, api: ApiInfo | None, user_id: str | None) -> frozenset[str] | None:
    """What every mint passes to ``mint_policy`` as ``permitted``: the user's permissions for ``api`` read now,
    or None when the API does not enforce RBAC (or there is no API or no user)."""
    if api is None or not api.enforce_policies or user_id is None:
        return None
    return await rbac.user_permissions(rt.db, user_id, api.identifier)


async def apply_user_permissions(rt: Runtime, ctx: AuthorizeContext, user_id: str) -> None:
    """Narrow ``ctx`` to what ``user_id`` may hold of its API (nothing to do when the API does not enforce RBAC)."""
    api, client = ctx.api, ctx.client
    if api is None or client is None or not api.enforce_policies or ctx.user_permissions is not None:
        return
    had_api_scopes = bool(ctx.api_scopes)
    ctx.limit_to_permissions(await rbac.user_permissions(rt.db, user_id, api.identifier))
    if client.is_third_party and had_api_scopes and not ctx.api_scopes:
        raise ACCESS_DENIED.with_hint(f"You hold none of the permissions this application asks for on {api.name}.")
