"""RFC 8693 delegation: the user's access token (``subject_token``) and the acting app's own access token
(``actor_token``), exchanged for an access token for an API, on behalf of the user, naming the actor in ``act``.

Steps: both tokens are our access tokens, unexpired and still live (``tokens.liveness``: a revoked consent or
app ends them); the actor token was issued to the authenticated client, the subject token's ``may_act`` (when
present) names this actor and the chain stays within ``MAX_ACTORS`` (``oauth.exchange_rules``); the API is the
``resource``/``audience`` (default: the subject token's; else ``invalid_target``); the scopes are the subject
token's live scopes, narrowed by ``scope``, within the actor's client grant (``oauth.mint_policy.decide`` with
the actor as the app, the user's consent to the first app as the consent). The token's ``client_id`` and ``azp``
are the actor (the outermost), ``act`` nests the previous actors, and it carries the first app's grant and
refresh family, so revoking what the user gave that app ends every delegated token. Each exchange is recorded
(``storage.delegations``) for ``/u/apps`` and the admin's user view. Access token only.
"""

from __future__ import annotations

from typing import Any

from consentry.config_records import ApiInfo
from consentry.oauth.exchange_rules import (
    ACCESS_TOKEN,
    Actor,
    DelegationDecision,
    ExchangeRefused,
    Refusal,
    delegated_scopes,
    delegation_decision,
)
from consentry.oauth.grants.base import TokenContext
from consentry.oauth.introspection import verify_access_token
from consentry.oauth.mint_policy import MintInput, decide
from consentry.storage import delegations, token_state
from consentry.tokens import ids, subjects
from consentry.tokens.issue import FAMILY_CLAIM, GRANT_CLAIM, access_token_lifetime, subject_for
from consentry.tokens.jwt import TokenInvalid, issue_access_token
from consentry.tokens.liveness import api_audience, live_scopes

ORIGIN_CLAIM = "origin_client_id"  # the app the user authorized, at the start of the chain
DELEGATED = "token_exchange.delegated"


def _grant_refusal(reason: str) -> ExchangeRefused:
    return ExchangeRefused(Refusal("invalid_grant", reason))


async def _live_token(ctx: TokenContext, token: str, name: str) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The claims of one of our access tokens and the scopes current decisions still allow."""
    try:
        claims = await verify_access_token(ctx.rt, token)
    except TokenInvalid:
        raise _grant_refusal(f"The {name} is not a valid access token of this server") from None
    if claims["exp"] <= ctx.rt.clock.now():
        raise _grant_refusal(f"The {name} has expired")
    verdict = await live_scopes(ctx.rt, claims)
    if verdict.scopes is None:
        raise _grant_refusal(f"The {name} was revoked: {verdict.reason}")
    return claims, verdict.scopes


async def exchange(ctx: TokenContext) -> dict[str, Any]:
    rt, client, params = ctx.rt, ctx.client, ctx.params
    subject, subject_scopes = await _live_token(ctx, params["subject_token"], "subject_token")
    actor_claims, _ = await _live_token(ctx, params["actor_token"], "actor_token")
    actor = Actor(sub=str(actor_claims["sub"]), client_id=str(actor_claims["client_id"]))
    decision = delegation_decision(subject, actor, actor.client_id, client.client_id)
    if isinstance(decision, Refusal):
        raise ExchangeRefused(decision)
    assert isinstance(decision, DelegationDecision)
    user_id = subjects.resolve(rt.keys.kek, str(subject["client_id"]), str(subject["sub"]))
    if user_id is None or len(user_id) > 255:
        raise _grant_refusal("The subject_token's user no longer exists")
    audience = params.get("resource") or params.get("audience") or api_audience(rt, subject) or ""
    api = await rt.catalog.api(audience) if audience and len(audience) <= 600 else None
    if api is None or api.is_system:
        raise ExchangeRefused(Refusal("invalid_target", f"The resource is not an API served here: {audience[:100]}"))
    scopes = delegated_scopes(subject_scopes, params.get("scope"))
    if isinstance(scopes, Refusal):
        raise ExchangeRefused(scopes)
    grant_id, family_id = subject.get(GRANT_CLAIM), subject.get(FAMILY_CLAIM)
    state = await token_state.read(rt.db, user_id, str(grant_id or ""), str(family_id or ""))
    consent: frozenset[str] | None = frozenset(scopes)
    if grant_id:
        consent = frozenset(state.grant_scope or ()) if state is not None and state.grant_id is not None else None
    mint = decide(
        MintInput(
            client=client,
            user=state,
            audience=api.identifier,
            api=api,
            client_grants=await rt.catalog.client_grants(api.identifier, client.client_id),
            connections=await rt.catalog.connections(client.client_id),
            scopes=scopes,
            under_consent=bool(grant_id),
            consent=consent,
        )
    )
    if not mint.allowed:
        error = "invalid_scope" if mint.dropped and not mint.scopes else "invalid_grant"
        raise ExchangeRefused(Refusal(error, f"The actor may not act for this user at this API: {mint.reason}"))
    return await _mint(ctx, decision, subject, user_id, api.identifier, mint.scopes, api)


async def _mint(
    ctx: TokenContext,
    decision: DelegationDecision,
    subject: dict[str, Any],
    user_id: str,
    audience: str,
    scopes: tuple[str, ...],
    api: ApiInfo,
) -> dict[str, Any]:
    rt, client, now = ctx.rt, ctx.client, ctx.rt.clock.now()
    origin = str(subject.get(ORIGIN_CLAIM) or subject["client_id"])
    extra: dict[str, Any] = {"act": decision.act, ORIGIN_CLAIM: origin}
    for claim in (GRANT_CLAIM, FAMILY_CLAIM):
        if subject.get(claim):
            extra[claim] = subject[claim]
    lifetime = min(access_token_lifetime(rt, client, api), max(1, int(subject["exp"] - now)))
    token, _ = await issue_access_token(
        rt.keys,
        issuer=rt.settings.issuer_url,
        sub=subject_for(rt, await rt.catalog.tenant(), client, user_id),
        audience=audience,
        client_id=client.client_id,
        scope=" ".join(scopes),
        now=now,
        lifetime=lifetime,
        dialect=api.token_dialect,
        extra=extra,
        alg=api.signing_alg,
    )
    await delegations.record(
        rt.db,
        row_id=ids.hex_id(),
        user_id=user_id,
        subject_client_id=origin,
        actors=decision.actors,
        audience=audience,
        scope=scopes,
        now=now,
    )
    rt.mint_log.add(
        now,
        DELEGATED,
        "Access token delegated",
        client_id=client.client_id,
        user_id=user_id,
        ip=ctx.ip,
        details={"audience": audience, "actors": list(decision.actors), "origin_client_id": origin},
    )
    return {
        "access_token": token,
        "issued_token_type": ACCESS_TOKEN,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": " ".join(scopes),
    }
