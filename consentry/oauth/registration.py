"""Dynamic Client Registration (RFC 7591) for third-party apps (SPEC T9); RFC 7592 is ``registration_config``.

Every registered client is a strict third-party app: ``tpc_`` id, ``authorization_code`` (S256 PKCE)
and ``refresh_token`` only, API access only through the ``default_for: third_party_clients`` client
grants. Governance (initial access tokens, redirect policy, per-IP quota and rate, admin approval)
comes from the ``dcr_*`` settings. A registration is held as a pending registration until a user first
approves it (``services.dcr_pending``). Any error leaves nothing stored: the whole registration, including
the use of an initial access token, is one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlsplit

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from consentry.commands.clients import ClientCreate
from consentry.oauth.client_rules import display_name_problem
from consentry.oauth.errors import (
    ACCESS_DENIED,
    INVALID_CLIENT_METADATA,
    INVALID_REDIRECT_URI,
    INVALID_TOKEN,
    TOO_MANY_REQUESTS,
    OAuthError,
)
from consentry.oauth.redirect_uri import LOOPBACK_HOSTS, callback_problem, host_of
from consentry.runtime import Runtime
from consentry.services import clients as client_service
from consentry.services import dcr_pending, initial_access_tokens, rate_limit
from consentry.services.errors import ServiceError
from consentry.settings import Settings
from consentry.storage import pending_registrations, registrations
from consentry.storage.db import OrmUnit
from consentry.storage.models import Client
from consentry.tenant import flag
from consentry.tokens import ids

FLAG = "enable_dynamic_client_registration"
DEFAULT_AUTH_METHOD = "client_secret_basic"  # RFC 7591 §2; the token endpoint accepts basic and post alike
AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post")
GRANT_TYPES = ("authorization_code", "refresh_token")
ECHOED = ("client_uri", "policy_uri", "tos_uri", "contacts", "scope", "software_id", "software_version")
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 §3.3
DUMMY_DIGEST = ids.digest("no registration access token")

Text = Annotated[str, StringConstraints(max_length=2000)]


class ClientMetadata(BaseModel):
    """RFC 7591 §2 client metadata. Unknown members are ignored (§2); ``null`` means absent."""

    model_config = ConfigDict(extra="ignore", strict=True)

    redirect_uris: list[Text] | None = Field(None, max_length=50)
    post_logout_redirect_uris: list[Text] | None = Field(None, max_length=50)  # OIDC RP-Initiated Logout §3.1
    token_endpoint_auth_method: str | None = Field(None, max_length=64)
    application_type: str | None = Field(None, max_length=32)
    grant_types: list[Text] | None = Field(None, max_length=10)
    response_types: list[Text] | None = Field(None, max_length=10)
    client_name: str | None = Field(None, max_length=255)
    logo_uri: str | None = Field(None, max_length=2000)
    client_uri: str | None = Field(None, max_length=2000)
    policy_uri: str | None = Field(None, max_length=2000)
    tos_uri: str | None = Field(None, max_length=2000)
    contacts: list[Annotated[str, StringConstraints(min_length=1, max_length=320)]] | None = Field(None, max_length=10)
    scope: str | None = Field(None, max_length=2000)
    software_id: str | None = Field(None, max_length=255)
    software_version: str | None = Field(None, max_length=255)
    client_id: str | None = Field(None, max_length=255)  # RFC 7592 update requests only
    client_secret: str | None = Field(None, max_length=512)  # RFC 7592 update requests only


@dataclass(frozen=True)
class Registration:
    """Validated metadata, ready to become a client row."""

    name: str
    app_type: str
    auth_method: str
    redirect_uris: list[str]
    grant_types: list[str]
    logo_uri: str | None
    web_origins: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)
    logout_uris: list[str] = field(default_factory=list)


def parse_metadata(body: bytes, content_type: str | None) -> ClientMetadata:
    """The JSON request body (RFC 7591 §3.1) as metadata, or ``invalid_client_metadata``."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise INVALID_CLIENT_METADATA.with_hint("The request body must be JSON (Content-Type: application/json).")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise INVALID_CLIENT_METADATA.with_hint("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise INVALID_CLIENT_METADATA.with_hint("The request body must be a JSON object.")
    try:
        return ClientMetadata.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ()))
        raise INVALID_CLIENT_METADATA.with_hint(f"{where}: {err.get('msg', 'invalid value')}.") from None


def _host_allowed(host: str, allowed: list[str]) -> bool:
    host = host.lower().rstrip(".")
    for pattern in (p.lower().strip() for p in allowed):
        if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return True
    return False


def redirect_problem(uri: str, *, native: bool, settings: Settings) -> str | None:
    """Why ``uri`` may not be registered by DCR: SPEC T9 rules, then the ``dcr_allowed_redirect_*`` policy."""
    problem = callback_problem(uri, native=native, dcr=True)
    if problem:
        return problem
    parts = urlsplit(uri)
    kind = parts.scheme.lower() if parts.scheme.lower() in ("http", "https") else "private-use"
    if kind not in settings.dcr_allowed_redirect_schemes:
        return f"uses a {kind} redirect URI, which this server's registration policy does not allow"
    host = (parts.hostname or "").lower()
    loopback = host in LOOPBACK_HOSTS or host.startswith("127.")
    if kind == "https" and settings.dcr_allowed_redirect_hosts and not loopback:
        if not _host_allowed(host, settings.dcr_allowed_redirect_hosts):
            return f"uses host '{host[:100]}', which this server's registration policy does not allow"
    return None


def _url_problem(value: str) -> str | None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:  # e.g. "https://[::1": an unclosed IPv6 literal
        return "must be an https URL"
    if parts.scheme != "https" or not parts.hostname or parts.username or any(ord(c) <= 0x20 for c in value):
        return "must be an https URL"
    return None


def validate(meta: ClientMetadata, settings: Settings) -> Registration:
    """Check the metadata against SPEC T3/T9 and the policy; raise the RFC 7591 §3.2.2 error."""
    application_type = meta.application_type or "web"
    if application_type not in ("web", "native"):
        raise INVALID_CLIENT_METADATA.with_hint("application_type must be 'web' or 'native'.")
    native = application_type == "native"
    method = meta.token_endpoint_auth_method or DEFAULT_AUTH_METHOD
    if method not in AUTH_METHODS:
        raise INVALID_CLIENT_METADATA.with_hint(f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}.")
    # SPEC T3: what a third-party app may have is kept, the rest dropped; the response's grant_types says which.
    grants = [g for g in dict.fromkeys(meta.grant_types or GRANT_TYPES) if g in GRANT_TYPES]
    if "authorization_code" not in grants:
        raise INVALID_CLIENT_METADATA.with_hint(
            "grant_types must include authorization_code (dynamically registered clients may use only "
            "authorization_code and refresh_token)."
        )
    for r in meta.response_types or ["code"]:
        if r != "code":
            raise INVALID_CLIENT_METADATA.with_hint(f"Response type '{r[:100]}' is not supported (only 'code').")
    if not meta.redirect_uris:
        raise INVALID_REDIRECT_URI.with_hint("redirect_uris is required and must not be empty.")
    uris = list(dict.fromkeys(meta.redirect_uris))
    for uri in uris:
        problem = redirect_problem(uri, native=native, settings=settings)
        if problem:
            raise INVALID_REDIRECT_URI.with_hint(f"redirect_uris entry '{uri[:200]}' {problem}.")
    logout_uris = list(dict.fromkeys(meta.post_logout_redirect_uris or []))
    for uri in logout_uris:
        problem = redirect_problem(uri, native=native, settings=settings)
        if problem:
            raise INVALID_REDIRECT_URI.with_hint(f"post_logout_redirect_uris entry '{uri[:200]}' {problem}.")
    for name in ("logo_uri", "client_uri", "policy_uri", "tos_uri"):
        value = getattr(meta, name)
        if value is not None and (problem := _url_problem(value)):
            raise INVALID_CLIENT_METADATA.with_hint(f"{name} {problem}.")
    if meta.scope is not None and not all(_SCOPE_TOKEN.match(t) for t in meta.scope.split(" ") if t):
        raise INVALID_CLIENT_METADATA.with_hint("scope must be a space-separated list of scope tokens.")
    name = meta.client_name if meta.client_name is not None else host_of(uris[0])
    if problem := display_name_problem(name):
        raise INVALID_CLIENT_METADATA.with_hint(f"client_name {problem}.")
    if method == "none":
        app_type = "native" if native else "spa"
    else:
        app_type = "regular_web"
    origins = [] if native or method != "none" else list(dict.fromkeys(_origin(u) for u in uris))
    extra = {k: getattr(meta, k) for k in ECHOED if getattr(meta, k) is not None}
    return Registration(
        name.strip(),
        app_type,
        method,
        uris,
        grants,
        meta.logo_uri,
        origins,
        {"application_type": application_type, **extra},
        logout_uris,
    )


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def information(rt: Runtime, row: Client, *, secret: str | None, access_token: str) -> dict[str, Any]:
    """The client information response (RFC 7591 §3.2.1, RFC 7592 §3)."""
    meta = dict((row.attributes or {}).get("registration_metadata") or {})
    body: dict[str, Any] = {
        "client_id": row.client_id,
        "client_id_issued_at": int(row.created_at),
        "client_name": row.name,
        "redirect_uris": list(row.callbacks or []),
        "grant_types": list(row.grant_types or []),
        "response_types": ["code"],
        "token_endpoint_auth_method": row.token_endpoint_auth_method,
        "application_type": meta.get("application_type", "web"),
    }
    if row.token_endpoint_auth_method != "none":
        if secret:
            body["client_secret"] = secret
        body["client_secret_expires_at"] = 0  # secrets do not expire (Auth0 parity)
    if row.logo_uri:
        body["logo_uri"] = row.logo_uri
    if row.allowed_logout_urls:
        body["post_logout_redirect_uris"] = list(row.allowed_logout_urls)
    body.update({k: meta[k] for k in ECHOED if k in meta})
    body["registration_access_token"] = access_token
    body["registration_client_uri"] = rt.settings.url(f"oidc/register/{row.client_id}")
    return body


def security_mode(tenant: dict[str, Any]) -> str:
    """The tenant's ``dynamic_client_registration_security_mode`` (Auth0; default ``strict``). ``permissive``
    changes only the client id (no ``tpc_`` prefix): every third-party control still applies."""
    return "permissive" if tenant.get("dynamic_client_registration_security_mode") == "permissive" else "strict"


def bearer(authorization: str | None) -> str | None:
    if not authorization or authorization[:7].lower() != "bearer ":
        return None
    return authorization[7:].strip() or None


def invalid_token(description: str) -> OAuthError:
    return INVALID_TOKEN.with_hint(description).with_headers({"WWW-Authenticate": 'Bearer error="invalid_token"'})


async def _check_governance(rt: Runtime, s: OrmUnit, token: str | None, ip: str) -> None:
    cfg = rt.settings
    if cfg.dcr_require_initial_access_token and not await initial_access_tokens.consume(rt, s, token or ""):
        raise invalid_token("A valid initial access token is required to register a client.")
    if not await registrations.default_user_grant_exists(s):
        raise INVALID_CLIENT_METADATA.with_hint(
            "Dynamic registration is unavailable: no default client grant for third-party applications exists."
        )
    if cfg.dcr_max_clients_per_ip and await _registered_from(rt, s, ip) >= cfg.dcr_max_clients_per_ip:
        raise ACCESS_DENIED.with_hint("This address has registered the maximum number of clients.")


async def _registered_from(rt: Runtime, s: OrmUnit, ip: str) -> int:
    return await registrations.registered_from(s, ip) + await pending_registrations.held_from(s, ip, rt.clock.now())


FULL = TOO_MANY_REQUESTS.with_hint(
    "This server holds the most registrations that no user has approved yet; try again later."
).with_headers({"Retry-After": "3600"})


async def register(
    rt: Runtime, body: bytes, content_type: str | None, authorization: str | None, ip: str
) -> dict[str, Any]:
    """``POST /oidc/register``: create a strict third-party client; returns the 201 body."""
    if not flag(await rt.catalog.tenant(), FLAG):
        raise ACCESS_DENIED.with_hint("Dynamic client registration is disabled for this tenant.")
    if not await rate_limit.hit(rt, f"dcr:{ip}", rt.settings.dcr_rate_limit_per_minute, 60):
        raise TOO_MANY_REQUESTS.with_hint(
            "Too many registrations from this address; try again in a minute."
        ).with_headers({"Retry-After": "60"})
    token = bearer(authorization)
    if rt.settings.dcr_require_initial_access_token and token is None:
        raise invalid_token("An initial access token is required (Authorization: Bearer).")
    access_token = ids.secret(32)
    mode = security_mode(await rt.catalog.tenant())
    policy = await dcr_pending.current_policy(rt)
    async with rt.db.transaction() as s:
        await _check_governance(rt, s, token, ip)
        reg = validate(parse_metadata(body, content_type), rt.settings)
        create = ClientCreate.model_validate(
            {
                "name": reg.name,
                "app_type": reg.app_type,
                "is_first_party": False,
                "third_party_security_mode": mode,
                "token_endpoint_auth_method": reg.auth_method,
                "callbacks": reg.redirect_uris,
                "grant_types": reg.grant_types,
                "logo_uri": reg.logo_uri,
                "web_origins": reg.web_origins or None,
                "allowed_logout_urls": reg.logout_uris or None,
            }
        )
        status = "pending" if policy.require_approval else "active"
        try:
            row, secret = client_service.new_client_row(
                rt, create, registration_type="dcr", registration_ip=ip, status=status
            )
            row.attributes = {**(row.attributes or {}), "registration_metadata": reg.metadata}
            row.registration_token_hash = ids.digest(access_token)
            if not policy.enabled:
                await client_service.store_client(rt, s, row, actor=f"dcr:{ip}")
            elif not await dcr_pending.hold(rt, s, row, policy):
                raise FULL
        except ServiceError as exc:
            raise INVALID_CLIENT_METADATA.with_hint(exc.message) from None
    return information(rt, row, secret=secret, access_token=access_token)
