"""Validating an authorization request: ``AUTHORIZE_STEPS``, each a small named check.

Errors raised before ``check_redirect_uri`` succeeds are shown on an error page (never a redirect:
an unknown client or unregistered redirect URI must not become an open redirector). Later errors
are returned to the client under its redirection policy (``respond.error``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from consentry.config_records import ApiInfo, ClientInfo
from consentry.oauth import cimd_hook
from consentry.oauth.access import USER, api_access, split_scopes, within_permissions
from consentry.oauth.client_rules import refused_authorize_parameters
from consentry.oauth.errors import (
    ACCESS_DENIED,
    INVALID_REQUEST,
    INVALID_SCOPE,
    INVALID_TARGET,
    UNAUTHORIZED_CLIENT,
    UNSUPPORTED_RESPONSE_TYPE,
    OAuthError,
)
from consentry.oauth.params import scope_list
from consentry.oauth.redirect_uri import is_registered
from consentry.runtime import Runtime
from consentry.services import dcr_pending
from consentry.tenant import flag

IDENTITY_SCOPES = ("openid", "profile", "email")
OFFLINE = "offline_access"
RESPONSE_MODES = ("query", "form_post", "web_message")
PROMPTS = {"none", "login", "consent", "select_account"}
CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
# What a pending request keeps while the user logs in or consents; anything else (e.g. an SDK's
# auth0Client telemetry, or junk) is not stored, so unauthenticated requests cannot bloat the database.
KEPT_PARAMETERS = frozenset(
    {
        "client_id",
        "redirect_uri",
        "response_type",
        "response_mode",
        "scope",
        "state",
        "nonce",
        "audience",
        "resource",
        "code_challenge",
        "code_challenge_method",
        "prompt",
        "max_age",
        "connection",
        "login_hint",
        "ui_locales",
        "acr_values",
        "screen_hint",
    }
)


def kept_parameters(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if k in KEPT_PARAMETERS}


@dataclass
class AuthorizeContext:
    rt: Runtime
    params: dict[str, str]
    tenant: dict[str, Any]
    client: ClientInfo | None = None
    redirect_uri: str | None = None
    response_mode: str = "query"
    state: str | None = None
    nonce: str | None = None
    code_challenge: str | None = None
    prompts: frozenset[str] = frozenset()
    max_age: int | None = None
    api: ApiInfo | None = None
    resource: str | None = None
    api_scopes: list[str] = field(default_factory=list)
    identity_scopes: list[str] = field(default_factory=list)
    offline: bool = False
    dropped_scopes: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)
    user_permissions: frozenset[str] | None = None  # set once the user is known, when the API enforces RBAC
    lacking_scopes: list[str] = field(default_factory=list)  # API scopes the user holds no permission for

    def limit_to_permissions(self, permissions: frozenset[str]) -> None:
        """The user is known and the API enforces RBAC: API scopes the user holds no permission for are dropped,
        so neither the consent screen nor the code ever carries them."""
        self.user_permissions = permissions
        self.api_scopes, lacking = within_permissions(self.api_scopes, permissions)
        self.lacking_scopes += lacking
        self.dropped_scopes += lacking

    @property
    def scopes(self) -> list[str]:
        """Everything the request may end up with (identity, offline_access, API scopes), in request order."""
        kept = {*self.identity_scopes, *self.api_scopes, *([OFFLINE] if self.offline else [])}
        return [s for s in self.requested if s in kept]


UNKNOWN_CLIENT = OAuthError("invalid_client", "Unknown client.", 400, redirectable=False)


def _page_error(description: str) -> OAuthError:
    return OAuthError("invalid_request", description, 400, redirectable=False)


async def check_client(ctx: AuthorizeContext) -> None:
    """The client exists and is active (an https:// client_id is a Client ID Metadata Document; a dynamically
    registered client no user has approved yet is a pending registration)."""
    client_id = ctx.params.get("client_id")
    if not client_id:
        raise _page_error("Missing required parameter: client_id")
    if client_id.startswith("https://"):
        client = await cimd_hook.resolve(ctx.rt, client_id)
    else:
        client = await dcr_pending.find_client(ctx.rt, client_id) if len(client_id) <= 255 else None
    if client is None:
        raise UNKNOWN_CLIENT
    if client.status != "active":
        raise OAuthError(
            "unauthorized_client", "This application is awaiting administrator approval.", 400, redirectable=False
        )
    ctx.client = client


async def check_redirect_uri(ctx: AuthorizeContext) -> None:
    """Exact match against the registered callbacks (RFC 9700 §4.1.3); one callback may be implied."""
    assert ctx.client is not None
    uri = ctx.params.get("redirect_uri")
    if uri is None:
        if len(ctx.client.callbacks) != 1:
            raise _page_error("Missing required parameter: redirect_uri")
        uri = ctx.client.callbacks[0]
    if not is_registered(uri, ctx.client.callbacks):
        raise _page_error("The redirect_uri is not registered for this application (callback URL mismatch).")
    ctx.redirect_uri = uri
    ctx.state = ctx.params.get("state")
    mode = ctx.params.get("response_mode", "query")
    ctx.response_mode = mode if mode in RESPONSE_MODES else "query"


async def check_third_party_parameters(ctx: AuthorizeContext) -> None:
    """Third-party apps may not send first-party-only parameters (Auth0's security controls): ``invalid_request``,
    returned under the app's redirection policy (an error page by default)."""
    assert ctx.client is not None
    refused = refused_authorize_parameters(ctx.params, third_party=ctx.client.is_third_party)
    if refused:
        raise INVALID_REQUEST.with_hint(f"Parameter '{refused[0]}' is not supported for third-party applications.")


async def check_response_type(ctx: AuthorizeContext) -> None:
    """Only the code flow is offered (no implicit or hybrid), in one of the supported response modes."""
    assert ctx.client is not None
    if ctx.params.get("response_mode", "query") not in RESPONSE_MODES:
        raise INVALID_REQUEST.with_hint("Unsupported response_mode.")
    response_type = ctx.params.get("response_type")
    if not response_type:
        raise INVALID_REQUEST.with_hint("Missing required parameter: response_type")
    if response_type != "code":
        raise UNSUPPORTED_RESPONSE_TYPE.with_hint(f"Unsupported response_type: {response_type[:50]}")
    if "authorization_code" not in ctx.client.grant_types:
        raise UNAUTHORIZED_CLIENT.with_hint("The application is not allowed to use the authorization code flow.")
    if ctx.response_mode == "web_message":
        from consentry.oauth.authorize.respond import origin_of

        if origin_of(ctx.redirect_uri or "") not in ctx.client.web_origins:
            raise INVALID_REQUEST.with_hint("response_mode=web_message needs the callback origin in web_origins.")


async def check_pkce(ctx: AuthorizeContext) -> None:
    """S256 only (RFC 7636; RFC 9700 §2.1.1); required for public clients and every third-party app."""
    assert ctx.client is not None
    challenge = ctx.params.get("code_challenge")
    method = ctx.params.get("code_challenge_method")
    if challenge is None:
        if method is not None:
            raise INVALID_REQUEST.with_hint("code_challenge_method was sent without code_challenge.")
        if ctx.client.is_public or ctx.client.is_third_party:
            raise INVALID_REQUEST.with_hint("code_challenge is required (PKCE with S256).")
        return
    if method != "S256":
        raise INVALID_REQUEST.with_hint("code_challenge_method must be S256.")
    if not CHALLENGE.match(challenge):
        raise INVALID_REQUEST.with_hint("code_challenge is malformed.")
    ctx.code_challenge = challenge


async def check_prompt(ctx: AuthorizeContext) -> None:
    """``prompt`` values (OIDC Core §3.1.2.1: ``none`` stands alone) and ``max_age``."""
    prompts = frozenset(ctx.params.get("prompt", "").split())
    if prompts - PROMPTS:
        raise INVALID_REQUEST.with_hint("Unsupported prompt value.")
    if "none" in prompts and len(prompts) > 1:
        raise INVALID_REQUEST.with_hint("prompt=none cannot be combined with other values.")
    ctx.prompts = prompts
    if "max_age" in ctx.params:
        raw = ctx.params["max_age"]
        if not raw.isdigit() or len(raw) > 10:
            raise INVALID_REQUEST.with_hint("max_age must be a non-negative integer.")
        ctx.max_age = int(raw)
    ctx.nonce = ctx.params.get("nonce")


async def check_resource(ctx: AuthorizeContext) -> None:
    """``audience`` (Auth0) or ``resource`` (RFC 8707) names one registered API; when both are sent, ``audience``
    wins (Auth0's resource parameter compatibility profile) and ``resource`` is ignored."""
    audience, resource = ctx.params.get("audience"), ctx.params.get("resource")
    if audience and resource and audience != resource:
        resource = None
    target = audience or resource or ctx.tenant.get("default_audience") or None
    if not target:
        return
    api = await ctx.rt.catalog.api(target)
    if api is None:
        raise INVALID_TARGET.with_hint(f"Unknown API: {target[:200]}")
    ctx.api, ctx.resource = api, resource


async def check_scope(ctx: AuthorizeContext) -> None:
    """Split the scope into identity, offline and API scopes; apply the client grant's ceiling (T7, C4)."""
    assert ctx.client is not None
    requested = scope_list(ctx.params.get("scope"))
    if any(len(s) > 280 for s in requested) or len(requested) > 200:
        raise INVALID_SCOPE.with_hint("The scope parameter is too long.")
    client, api = ctx.client, ctx.api
    ctx.requested = requested
    identity_ok = client.is_first_party or flag(ctx.tenant, "third_party_oidc_identity")
    ctx.identity_scopes = [s for s in requested if s in IDENTITY_SCOPES and identity_ok]
    dropped = [s for s in requested if s in IDENTITY_SCOPES and not identity_ok]
    wants_offline = OFFLINE in requested
    ctx.offline = wants_offline and (api.allow_offline_access if api else True)
    if wants_offline and not ctx.offline:
        dropped.append(OFFLINE)
    api_requested = [s for s in requested if s not in IDENTITY_SCOPES and s != OFFLINE]
    if api is None:
        dropped += api_requested
    else:
        access = api_access(client, api, await ctx.rt.catalog.client_grants(api.identifier, client.client_id), USER)
        if not access.allowed:
            raise ACCESS_DENIED.with_hint(f"The application is not authorized to access {api.name} ({access.reason}).")
        kept, outside = split_scopes(api_requested, access.ceiling)
        ctx.api_scopes, dropped = kept, dropped + outside
        if client.is_third_party and not kept:
            raise ACCESS_DENIED.with_hint(f"None of the requested permissions can be granted for {api.name}.")
    ctx.dropped_scopes = dropped


AUTHORIZE_STEPS = (
    check_client,
    check_redirect_uri,
    check_third_party_parameters,
    check_response_type,
    check_pkce,
    check_prompt,
    check_resource,
    check_scope,
)


async def new_context(rt: Runtime, params: dict[str, str]) -> AuthorizeContext:
    return AuthorizeContext(rt=rt, params=params, tenant=await rt.catalog.tenant())


async def run_steps(ctx: AuthorizeContext) -> AuthorizeContext:
    """Run every check; a failure leaves ``ctx`` filled up to the failing step (for error routing)."""
    for step in AUTHORIZE_STEPS:
        await step(ctx)
    return ctx


async def validate(rt: Runtime, params: dict[str, str]) -> AuthorizeContext:
    return await run_steps(await new_context(rt, params))
