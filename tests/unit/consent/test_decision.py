"""``consent.decision.consent_decision``: the consent policy fed from a validated request and a stored grant."""

from __future__ import annotations

from typing import Any

from consentry.consent.decision import consent_decision
from consentry.consent.policy import Prompt
from consentry.oauth.authorize.request import AuthorizeContext
from consentry.services.user_grants import GrantRef
from tests.unit.builders import make_api, make_client


def _ctx(
    *,
    first_party: bool,
    api_scopes: list[str],
    identity: tuple[str, ...] = (),
    offline: bool = False,
    prompts: frozenset[str] = frozenset(),
    redirect_uri: str = "https://partner.example.com/callback",
    tenant: dict[str, Any] | None = None,
    **client: Any,
) -> AuthorizeContext:
    ctx = AuthorizeContext(rt=None, params={}, tenant=tenant or {})  # type: ignore[arg-type]
    ctx.client = make_client(first_party=first_party, **client)
    ctx.api, ctx.redirect_uri, ctx.prompts = make_api(), redirect_uri, prompts
    ctx.api_scopes, ctx.identity_scopes, ctx.offline = api_scopes, list(identity), offline
    return ctx


def test_third_party_needs_what_the_grant_lacks() -> None:
    ctx = _ctx(first_party=False, api_scopes=["read:posts", "write:posts"], identity=("openid",), offline=True)
    none = consent_decision(ctx, None, answered=False)
    assert none.prompt is Prompt.CONSENT
    assert none.missing == {"openid", "offline_access", "read:posts", "write:posts"}
    partial = consent_decision(ctx, GrantRef("ugr_1", ["openid", "offline_access", "read:posts"]), answered=False)
    assert partial.prompt is Prompt.CONSENT and partial.missing == {"write:posts"}
    full = GrantRef("ugr_1", ["openid", "offline_access", "read:posts", "write:posts"])
    covered = consent_decision(ctx, full, answered=False)
    assert covered.prompt is Prompt.NONE and not covered.required


def test_an_answer_for_this_request_counts_once_given() -> None:
    ctx = _ctx(first_party=False, api_scopes=["read:posts"])
    assert consent_decision(ctx, None, answered=True).prompt is Prompt.NONE
    assert consent_decision(ctx, None, answered=False).prompt is Prompt.CONSENT


def test_prompt_consent_asks_even_with_a_full_grant() -> None:
    ctx = _ctx(first_party=False, api_scopes=["read:posts"], prompts=frozenset({"consent"}))
    decision = consent_decision(ctx, GrantRef("ugr_1", ["read:posts"]), answered=False)
    assert decision.prompt is Prompt.CONSENT and decision.missing == {"read:posts"}


def test_first_party_loopback_confirmation_follows_client_then_tenant() -> None:
    loopback = "http://127.0.0.1:8080/callback"
    asks = _ctx(first_party=True, api_scopes=[], redirect_uri=loopback)
    assert consent_decision(asks, None, answered=False).prompt is Prompt.CONFIRM
    tenant_skips = _ctx(
        first_party=True,
        api_scopes=[],
        redirect_uri=loopback,
        tenant={"skip_non_verifiable_callback_uri_confirmation_prompt": True},
    )
    assert consent_decision(tenant_skips, None, answered=False).prompt is Prompt.NONE
    client_overrides = _ctx(
        first_party=True,
        api_scopes=[],
        redirect_uri=loopback,
        tenant={"skip_non_verifiable_callback_uri_confirmation_prompt": True},
        skip_non_verifiable_callback_uri_confirmation_prompt=False,
    )
    assert consent_decision(client_overrides, None, answered=False).prompt is Prompt.CONFIRM
