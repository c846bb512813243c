"""The consent policy applied to one validated authorization request and the user's stored grant.

``consent.policy.evaluate`` is pure over plain facts; this module gathers those facts from an
``AuthorizeContext`` (what the request asks), the user grant (what was approved before) and the pending
transaction (whether the user already answered for this request). ``/authorize``'s steps and the consent
screen both ask it, so the screen shows exactly what the flow will require.
"""

from __future__ import annotations

from consentry.config_records import mapping
from consentry.consent import durations
from consentry.consent.policy import ConsentDecision, ConsentInput, evaluate
from consentry.oauth.authorize.request import OFFLINE, AuthorizeContext
from consentry.oauth.redirect_uri import is_verifiable
from consentry.runtime import Runtime
from consentry.services.user_grants import GrantRef, find_grant_ref


def grant_audience(rt: Runtime, ctx: AuthorizeContext) -> str:
    """The audience a user grant for this request is stored under (the API, or the userinfo audience)."""
    return ctx.api.identifier if ctx.api else rt.settings.userinfo_audience


def consent_scopes(ctx: AuthorizeContext) -> list[str]:
    """What the consent screen asks for: API scopes, plus identity and offline access for third-party apps."""
    assert ctx.client is not None
    extra = (ctx.identity_scopes + ([OFFLINE] if ctx.offline else [])) if ctx.client.is_third_party else []
    return extra + ctx.api_scopes


def consent_decision(ctx: AuthorizeContext, grant: GrantRef | None, *, answered: bool) -> ConsentDecision:
    """The policy's answer for this request, given the user's stored grant (or none) and whether the user has
    already answered the consent or confirmation prompt of this very request."""
    assert ctx.client is not None
    skip = ctx.client.skip_non_verifiable_callback_uri_confirmation_prompt
    if skip is None:
        skip = bool(ctx.tenant.get("skip_non_verifiable_callback_uri_confirmation_prompt", False))
    return evaluate(
        ConsentInput(
            third_party=ctx.client.is_third_party,
            has_api=ctx.api is not None,
            api_allows_skip=bool(ctx.api and ctx.api.skip_consent_for_verifiable_first_party_clients),
            requested=frozenset(consent_scopes(ctx)),
            granted=frozenset(grant.scope if grant else ()),
            prompt_consent="consent" in ctx.prompts,
            callback_verifiable=is_verifiable(ctx.redirect_uri or ""),
            skip_confirmation=skip,
            already_answered=answered,
            lacking=frozenset(ctx.lacking_scopes),
        )
    )


async def decide_consent(rt: Runtime, ctx: AuthorizeContext, user_id: str) -> ConsentDecision:
    """The decision the consent screen shows: the stored grant read now, no answer given yet."""
    assert ctx.client is not None
    grant = await find_grant_ref(rt, user_id, ctx.client.client_id, grant_audience(rt, ctx))
    return consent_decision(ctx, grant, answered=False)


def duration_offer(ctx: AuthorizeContext) -> durations.DurationOffer:
    """The access durations the consent screen offers for this app and API, and the default one."""
    assert ctx.client is not None
    api, tenant = ctx.api, ctx.tenant
    return durations.offer(
        durations.DurationInput(
            api_choices=api.consent_durations if api else None,
            api_default=api.default_consent_duration if api else None,
            tenant_choices=durations.stored_choices(tenant.get("consent_durations")),
            tenant_defaults=mapping(tenant.get("default_consent_durations")),
            app_type=ctx.client.app_type,
            agent=ctx.client.is_agent,
        )
    )
