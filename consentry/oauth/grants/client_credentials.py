"""``client_credentials`` (RFC 6749 §4.4) with Auth0's ``audience``: machine-to-machine tokens.

No database write on the request's path: the client, the API and its client grants come from the cache, and
the audit event (``seccft``, or ``feccft`` for a refusal) is queued for a batched write (``audit_buffer``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from consentry.oauth.access import CLIENT, api_access
from consentry.oauth.client_auth import require_grant_type
from consentry.oauth.errors import ACCESS_DENIED, UNAUTHORIZED_CLIENT, OAuthError
from consentry.oauth.grants.base import TokenContext, register
from consentry.oauth.params import scope_list
from consentry.services import audit
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
            raise _refused(ctx, f"Service not enabled within domain: {audience}")
        access = api_access(client, api, await rt.catalog.client_grants(audience, client.client_id), CLIENT)
        if not access.allowed:
            raise _refused(ctx, f'Client is not authorized to access "{audience}": {access.reason}.')
        requested = scope_list(ctx.params.get("scope"))
        if requested:
            missing = [s for s in requested if s not in access.ceiling]
            if missing:
                raise _refused(ctx, "Client has not been granted scopes: " + " ".join(missing))
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
            alg=api.signing_alg,
        )
        details = {"audience": audience, "scope": scope}
        rt.mint_log.add(
            rt.clock.now(),
            audit.CLIENT_CREDENTIALS_EXCHANGED,
            "Client credentials exchanged",
            client_id=client.client_id,
            ip=ctx.ip,
            details=details,
        )
        return {"access_token": token, "token_type": "Bearer", "expires_in": api.token_lifetime, "scope": scope}


def _refused(ctx: TokenContext, description: str) -> OAuthError:
    """A policy refusal: audited (``feccft``), then answered as Auth0 does (403 ``access_denied``)."""
    ctx.rt.mint_log.add(
        ctx.rt.clock.now(),
        audit.CLIENT_CREDENTIALS_REFUSED,
        description[:500],
        client_id=ctx.client.client_id,
        ip=ctx.ip,
    )
    return ACCESS_DENIED.with_hint(description)


async def _audience(ctx: TokenContext) -> str:
    """``audience`` (Auth0) or ``resource`` (RFC 8707); ``audience`` wins when both are sent (Auth0 compatibility)."""
    audience, resource = ctx.params.get("audience"), ctx.params.get("resource")
    value = audience or resource or (await ctx.rt.catalog.tenant()).get("default_audience") or ""
    if not value:
        raise ACCESS_DENIED.with_hint(
            "No audience parameter was provided, and no default audience has been configured."
        )
    return value


register(ClientCredentialsGrant())
