"""``client_credentials`` (RFC 6749 §4.4) with Auth0's ``audience``: machine-to-machine tokens.

No database write: the client, the API and its client grants come from the cache.
"""

from __future__ import annotations

from typing import Any, ClassVar

from consentry.oauth.access import CLIENT, api_access
from consentry.oauth.client_auth import require_grant_type
from consentry.oauth.errors import ACCESS_DENIED, INVALID_TARGET, UNAUTHORIZED_CLIENT
from consentry.oauth.grants.base import TokenContext, register
from consentry.oauth.params import scope_list
from consentry.tokens.jwt import issue_access_token


class ClientCredentialsGrant:
    GRANT_TYPE: ClassVar[str] = "client_credentials"

    async def issue(self, ctx: TokenContext) -> dict[str, Any]:
        client, rt = ctx.client, ctx.rt
        if client.is_public:
            raise UNAUTHORIZED_CLIENT.with_hint("Public clients cannot use client_credentials.")
        require_grant_type(client, self.GRANT_TYPE)
        audience = await _audience(ctx)
        api = await rt.catalog.api(audience)
        if api is None:
            raise ACCESS_DENIED.with_hint(f"Service not enabled within domain: {audience}")
        access = api_access(client, api, await rt.catalog.client_grants(audience, client.client_id), CLIENT)
        if not access.allowed:
            raise ACCESS_DENIED.with_hint(f"Client is not authorized to access \"{audience}\": {access.reason}.")
        requested = scope_list(ctx.params.get("scope"))
        if requested:
            missing = [s for s in requested if s not in access.ceiling]
            if missing:
                raise ACCESS_DENIED.with_hint("Client has not been granted scopes: " + " ".join(missing))
            scopes = requested
        else:
            scopes = [s.value for s in api.scopes if s.value in access.ceiling]
        scope = " ".join(scopes)
        token, _ = await issue_access_token(
            rt.keys,
            issuer=rt.settings.issuer_url,
            sub=f"{client.client_id}@clients",
            audience=api.identifier,
            client_id=client.client_id,
            scope=scope,
            now=rt.clock.now(),
            lifetime=api.token_lifetime,
            dialect=api.token_dialect,
            extra={"gty": "client-credentials"},
        )
        return {"access_token": token, "token_type": "Bearer", "expires_in": api.token_lifetime, "scope": scope}


async def _audience(ctx: TokenContext) -> str:
    """``audience`` (Auth0) or ``resource`` (RFC 8707); they must agree when both are sent."""
    audience, resource = ctx.params.get("audience"), ctx.params.get("resource")
    if audience and resource and audience != resource:
        raise INVALID_TARGET.with_hint("audience and resource name different APIs.")
    value = audience or resource or (await ctx.rt.catalog.tenant()).get("default_audience") or ""
    if not value:
        raise ACCESS_DENIED.with_hint(
            "No audience parameter was provided, and no default audience has been configured."
        )
    return value


register(ClientCredentialsGrant())
