"""``urn:ietf:params:oauth:grant-type:jwt-bearer`` (RFC 7523 §2.1) with an Identity Assertion JWT Authorization
Grant (ID-JAG, draft-ietf-oauth-identity-assertion-authz-grant): Cross App Access at the resource server.

Steps, each refusal ``invalid_grant`` unless said otherwise: the client may use this grant (its grant types
include it: the Cross App Access toggle; else ``unauthorized_client``); the ``assertion`` is an ID-JAG
(``federation.id_jag``) from the issuer of an enterprise connection with ``cross_app_access`` on, signed with
that issuer's keys, for us, for this client; the ``resource`` (the assertion's claim wins over the request's
``resource``/``audience``) is an API served here (else ``invalid_target``); the user ``oidc|<connection>|<sub>``
exists; the mint decision (``oauth.mint_policy``: the client grant is the ceiling, the connection must be
allowed for the app, T6) keeps the ID-JAG's scopes ∩ the ceiling, the admin's policy at the IdP standing in for
the user's consent; the ``jti`` is unused (the replay table). Access token only: no refresh or ID token.
"""

from __future__ import annotations

from typing import Any, ClassVar

from consentry.config_records import ApiInfo, ConnectionInfo
from consentry.federation import id_jag
from consentry.federation.fetch import UpstreamError
from consentry.federation.id_token import UnknownKey
from consentry.federation.provider import jwks, provider, upstream
from consentry.oauth.authorize.permissions import permissions_for
from consentry.oauth.authorize.request import IDENTITY_SCOPES, OFFLINE
from consentry.oauth.client_auth import require_grant_type
from consentry.oauth.client_rules import JWT_BEARER
from consentry.oauth.errors import (
    INVALID_GRANT,
    INVALID_REQUEST,
    INVALID_SCOPE,
    INVALID_TARGET,
    TOO_MANY_REQUESTS,
    OAuthError,
)
from consentry.oauth.grants.base import TokenContext, register
from consentry.oauth.mint_policy import MintInput, decide
from consentry.oauth.params import scope_list
from consentry.services import audit, rate_limit
from consentry.storage import assertions, federated_users, user_records
from consentry.tokens.issue import access_token_lifetime, subject_for
from consentry.tokens.jwt import issue_access_token

XAA_OPTION = "cross_app_access"


class JwtBearerGrant:
    GRANT_TYPE: ClassVar[str] = JWT_BEARER

    async def issue(self, ctx: TokenContext) -> dict[str, Any]:
        require_grant_type(ctx.client, JWT_BEARER)
        await _within_rate_limit(ctx)
        assertion = ctx.params.get("assertion")
        if not assertion or len(assertion) > 16384:
            raise INVALID_REQUEST.with_hint("Missing required parameter: assertion")
        try:
            header, raw = id_jag.unverified(assertion)
            conn = _trusted_connection(await ctx.rt.catalog.connections(), raw.get("iss"))
            claims = await _verified(ctx, conn, assertion, header)
        except id_jag.AssertionInvalid as exc:
            raise _refused(ctx, INVALID_GRANT, exc.reason) from None
        api = await _resource(ctx, claims)
        scopes = await _scopes(ctx, conn, api, claims)
        key = assertions.assertion_key(str(claims["iss"]), str(claims["jti"]))
        if not await assertions.use_once(ctx.rt.db, key, float(claims["exp"]), ctx.rt.clock.now()):
            raise _refused(ctx, INVALID_GRANT, "the assertion's jti was already used")
        return await _mint(ctx, conn, api, str(claims["sub"]), scopes)


async def _within_rate_limit(ctx: TokenContext) -> None:
    """A requesting app's exchanges per minute are limited (``id_jag_rate_limit_per_minute``), as Auth0 limits them."""
    if not await rate_limit.hit(
        ctx.rt, f"id-jag:{ctx.client.client_id}", ctx.rt.settings.id_jag_rate_limit_per_minute, 60
    ):
        raise _refused(
            ctx, TOO_MANY_REQUESTS, "too many ID-JAG exchanges for this application; try again in a minute"
        ).with_headers({"Retry-After": "60"})


def _trusted_connection(connections: tuple[ConnectionInfo, ...], iss: object) -> ConnectionInfo:
    """The enterprise connection whose configured issuer is ``iss``, with Cross App Access on."""
    matches = [c for c in connections if c.strategy == "oidc" and iss and c.options.get("issuer") == iss]
    if not matches:
        raise id_jag.AssertionInvalid("the assertion's issuer is not an enterprise connection of this tenant")
    enabled = [c for c in matches if c.options.get(XAA_OPTION) is True]
    if not enabled:
        raise id_jag.AssertionInvalid("Cross App Access is not enabled for the connection of this issuer")
    return enabled[0]


async def _verified(ctx: TokenContext, conn: ConnectionInfo, assertion: str, header: dict[str, Any]) -> dict[str, Any]:
    rt, now = ctx.rt, ctx.rt.clock.now()
    try:
        p = await provider(rt.settings, upstream(conn, rt.keys.kek), now)
        expected = id_jag.JagExpected(p.issuer, rt.settings.issuer_url, ctx.client.client_id, p.algs, now)
        try:
            return id_jag.validate(assertion, header, await jwks(rt.settings, p, now), expected)
        except UnknownKey:
            return id_jag.validate(assertion, header, await jwks(rt.settings, p, now, fresh=True), expected)
    except UpstreamError as exc:
        raise id_jag.AssertionInvalid(f"the issuer's keys could not be fetched ({exc})") from None


async def _resource(ctx: TokenContext, claims: dict[str, Any]) -> ApiInfo:
    """The API: the assertion's ``resource`` wins over the request's ``resource``/``audience``, then the default."""
    claimed = claims.get("resource")
    value = (
        claimed
        if isinstance(claimed, str) and claimed
        else (
            ctx.params.get("resource")
            or ctx.params.get("audience")
            or (await ctx.rt.catalog.tenant()).get("default_audience")
            or ""
        )
    )
    api = await ctx.rt.catalog.api(value) if value and len(value) <= 600 else None
    if api is None or api.is_system:
        raise _refused(ctx, INVALID_TARGET, f"the resource is not an API served here: {str(value)[:100]}")
    return api


async def _scopes(ctx: TokenContext, conn: ConnectionInfo, api: ApiInfo, claims: dict[str, Any]) -> list[str]:
    """The ID-JAG's API scopes within the client grant, decided as at every mint (``mint_policy.decide``)."""
    user_id = federated_users.user_id_for(conn.strategy, conn.name, str(claims["sub"]))
    user = await user_records.find(ctx.rt.db, user_id)
    if user is None:
        raise _refused(ctx, INVALID_GRANT, "the assertion's user does not exist for this connection")
    wanted = [
        s
        for s in scope_list(claims.get("scope") if isinstance(claims.get("scope"), str) else None)
        if s not in IDENTITY_SCOPES and s != OFFLINE
    ]
    rt, client = ctx.rt, ctx.client
    decision = decide(
        MintInput(
            client,
            user,
            api.identifier,
            api,
            await rt.catalog.client_grants(api.identifier, client.client_id),
            await rt.catalog.connections(client.client_id),
            tuple(wanted),
            False,
            frozenset(wanted),
            permitted=await permissions_for(rt, api, user_id),
        )
    )
    if decision.allowed and decision.scopes:
        return list(decision.scopes)
    if decision.allowed or (decision.dropped and not decision.scopes and wanted):
        raise _refused(ctx, INVALID_SCOPE, "none of the assertion's scopes is granted to the application")
    raise _refused(ctx, INVALID_GRANT, decision.reason)


async def _mint(ctx: TokenContext, conn: ConnectionInfo, api: ApiInfo, sub: str, scopes: list[str]) -> dict[str, Any]:
    rt, client, now = ctx.rt, ctx.client, ctx.rt.clock.now()
    user_id = federated_users.user_id_for(conn.strategy, conn.name, sub)
    lifetime = access_token_lifetime(rt, client, api)
    token, _ = await issue_access_token(
        rt.keys,
        issuer=rt.settings.issuer_url,
        sub=subject_for(rt, await rt.catalog.tenant(), client, user_id),
        audience=api.identifier,
        client_id=client.client_id,
        scope=" ".join(scopes),
        now=now,
        lifetime=lifetime,
        dialect=api.token_dialect,
        alg=api.signing_alg,
    )
    rt.mint_log.add(
        now,
        audit.ID_JAG_EXCHANGED,
        "ID-JAG exchanged",
        client_id=client.client_id,
        user_id=user_id,
        ip=ctx.ip,
        details={"audience": api.identifier, "connection": conn.name},
    )
    return {"access_token": token, "token_type": "Bearer", "expires_in": lifetime, "scope": " ".join(scopes)}


def _refused(ctx: TokenContext, error: OAuthError, reason: str) -> OAuthError:
    ctx.rt.mint_log.add(
        ctx.rt.clock.now(), audit.ID_JAG_REFUSED, reason[:500], client_id=ctx.client.client_id, ip=ctx.ip
    )
    return error.with_hint(reason[0].upper() + reason[1:] + ".")


register(JwtBearerGrant())
