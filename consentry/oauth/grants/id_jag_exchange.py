"""Consentry as the enterprise IdP: an ID token it issued to the client, exchanged for an ID-JAG
(draft-ietf-oauth-identity-assertion-authz-grant §4.3) to present at another authorization server.

Steps, each refusal ``invalid_grant`` unless said otherwise: the ``subject_token`` is an ID token signed by us,
unexpired, whose ``aud`` is the authenticated client (§4.3.1: issued to that client); its user still exists,
is not blocked and may still use this app (``oauth.mint_policy.decide`` without an API: the same rules as
every mint); the admin's policy for this app names the ``audience`` and ``resource`` (``invalid_target``) and
bounds the scopes (``invalid_scope``: ``oauth.exchange_rules.id_jag_decision``). The policy stands in for
the user's consent. The answer is RFC 8693's: ``issued_token_type`` id-jag, ``token_type`` ``N_A``.
"""

from __future__ import annotations

from typing import Any

import jwt

from consentry.oauth.exchange_rules import ID_JAG, ExchangeRefused, JagDecision, Refusal, id_jag_decision
from consentry.oauth.grants.base import TokenContext
from consentry.oauth.mint_policy import MintInput, decide
from consentry.storage import user_records, xaa_policies
from consentry.storage.xaa_policies import PolicyInfo
from consentry.tokens import id_jag, subjects
from consentry.tokens.issue import subject_for
from consentry.tokens.jwt import TokenInvalid, verify

ISSUED = "token_exchange.id_jag_issued"
MAX_TOKEN = 16 * 1024


def _grant_refusal(reason: str) -> ExchangeRefused:
    return ExchangeRefused(Refusal("invalid_grant", reason))


async def _id_token_claims(ctx: TokenContext, token: str) -> dict[str, Any]:
    """The claims of an ID token this server issued to the authenticated client (never an access token)."""
    not_ours = _grant_refusal("The subject_token is not a valid ID token issued to this client")
    if len(token) > MAX_TOKEN or token.count(".") != 2:
        raise not_ours
    try:
        typ = jwt.get_unverified_header(token).get("typ")
        claims = await verify(
            ctx.rt.keys,
            token,
            issuer=ctx.rt.settings.issuer_url,
            audience=ctx.client.client_id,
            require=("exp", "iat", "sub", "aud"),
        )
    except (jwt.PyJWTError, TokenInvalid):
        raise not_ours from None
    if str(typ).lower() != "jwt" or "client_id" in claims or "jti" in claims or not isinstance(claims["sub"], str):
        raise not_ours  # access tokens carry client_id and jti (RFC 9068 §2.2); ID tokens do not
    return claims


async def _user_id(ctx: TokenContext, claims: dict[str, Any]) -> str:
    """The user behind the ID token, who must still be allowed to use this app (the checks of every mint)."""
    user_id = subjects.resolve(ctx.rt.keys.kek, ctx.client.client_id, claims["sub"])
    user = await user_records.find(ctx.rt.db, user_id) if user_id and len(user_id) <= 255 else None
    decision = decide(
        MintInput(
            client=ctx.client,
            user=user,
            audience=None,
            api=None,
            client_grants=(),
            connections=await ctx.rt.catalog.connections(ctx.client.client_id),
            scopes=(),
            under_consent=False,
            consent=frozenset(),  # the admin's policy stands in for the user's consent
        )
    )
    if not decision.allowed or user_id is None:
        raise _grant_refusal(f"The subject_token's user may not use this application: {decision.reason}")
    return user_id


async def _jag_subject(ctx: TokenContext, policy: PolicyInfo, user_id: str) -> str:
    """The ``sub`` the resource AS knows the user by: as its login client here sees them (pairwise or not)."""
    login_client = await ctx.rt.catalog.client(policy.subject_client_id) if policy.subject_client_id else None
    if login_client is None:
        return user_id
    return subject_for(ctx.rt, await ctx.rt.catalog.tenant(), login_client, user_id)


def _amr(claims: dict[str, Any]) -> tuple[str, ...]:
    amr = claims.get("amr")
    return tuple(a for a in amr if isinstance(a, str)) if isinstance(amr, list) else ()


async def exchange(ctx: TokenContext) -> dict[str, Any]:
    rt, client, params = ctx.rt, ctx.client, ctx.params
    claims = await _id_token_claims(ctx, params["subject_token"])
    user_id = await _user_id(ctx, claims)
    decision = id_jag_decision(
        await xaa_policies.listed(rt.db, client_id=client.client_id),
        audience=params.get("audience"),
        resource=params.get("resource"),
        scope=params.get("scope"),
    )
    if isinstance(decision, Refusal):
        raise ExchangeRefused(decision)
    assert isinstance(decision, JagDecision)
    policy: PolicyInfo = decision.policy
    auth_time = claims.get("auth_time")
    now = rt.clock.now()
    token, body = await id_jag.mint(
        rt.keys,
        id_jag.JagContent(
            issuer=rt.settings.issuer_url,
            sub=await _jag_subject(ctx, policy, user_id),
            audience=policy.audience,
            client_id=policy.resource_client_id,
            scopes=decision.scopes,
            resource=policy.resource,
            auth_time=int(auth_time)
            if isinstance(auth_time, int | float) and not isinstance(auth_time, bool)
            else None,
            amr=_amr(claims),
        ),
        now,
    )
    rt.mint_log.add(
        now,
        ISSUED,
        "ID-JAG issued",
        client_id=client.client_id,
        user_id=user_id,
        ip=ctx.ip,
        details={"audience": policy.audience, "resource": policy.resource, "xaa_policy_id": policy.id},
    )
    response: dict[str, Any] = {
        "access_token": token,
        "issued_token_type": ID_JAG,
        "token_type": "N_A",
        "expires_in": body["exp"] - body["iat"],
    }
    if decision.scopes:
        response["scope"] = " ".join(decision.scopes)
    return response
