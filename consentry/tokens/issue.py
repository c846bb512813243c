"""Minting the token response of a user flow: access token, ID token and refresh token.

Claims are built by small ordered functions (``ID_TOKEN_CLAIMS``), so it is visible which one adds what.
Refresh tokens are random strings stored only as digests, in rotation families.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from consentry.config_records import NEVER, ApiInfo, ClientInfo
from consentry.runtime import Runtime
from consentry.storage import refresh_tokens
from consentry.storage.db import Unit
from consentry.storage.user_records import UserRecord
from consentry.tenant import flag
from consentry.tokens import ids, subjects
from consentry.tokens.jwt import half_hash, issue_access_token, sign
from consentry.tokens.keys import RS256

OFFLINE = "offline_access"
GRANT_CLAIM = "grant_id"  # the user grant (consent) the access token was minted under
FAMILY_CLAIM = "family_id"  # the refresh-token family it belongs to


@dataclass(frozen=True)
class UserTokenRequest:
    client: ClientInfo
    user: UserRecord
    scopes: tuple[str, ...]
    api: ApiInfo | None
    session_id: str | None
    auth_time: float
    nonce: str | None = None
    grant_id: str | None = None
    grant_expires_at: float | None = None  # the end of the user grant (None: until revoked, or no grant)


def subject_for(rt: Runtime, tenant: dict[str, Any], client: ClientInfo, user_id: str) -> str:
    """Pairwise for third-party apps when they may receive identity (SPEC C4), else the user id."""
    if client.is_third_party and flag(tenant, "third_party_oidc_identity"):
        return subjects.pairwise(rt.keys.kek, client.client_id, user_id)
    return user_id


def wants_refresh_token(req: UserTokenRequest) -> bool:
    return OFFLINE in req.scopes and (req.api is None or req.api.allow_offline_access)


def profile_claims(user: UserRecord, scopes: tuple[str, ...]) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    profile = user.profile or {}
    if "profile" in scopes:
        email_local = (user.email or "").split("@")[0]
        claims["name"] = profile.get("name") or user.email or user.username
        claims["nickname"] = profile.get("nickname") or email_local or user.username
        for key in ("given_name", "family_name", "picture"):
            if profile.get(key):
                claims[key] = profile[key]
        claims["updated_at"] = int(user.updated_at)  # OIDC Core §5.1: a JSON number of seconds (Auth0 sends ISO)
    if "email" in scopes and user.email:
        claims["email"] = user.email
        claims["email_verified"] = user.email_verified
    return claims


def _base(req: UserTokenRequest, ctx: dict[str, Any]) -> dict[str, Any]:
    iat = ctx["iat"]
    lifetime = req.client.id_token_lifetime or ctx["rt"].settings.id_token_lifetime
    return {
        "iss": ctx["rt"].settings.issuer_url,
        "sub": ctx["sub"],
        "aud": req.client.client_id,
        "iat": iat,
        "exp": iat + lifetime,
        "azp": req.client.client_id,
    }


def _session(req: UserTokenRequest, ctx: dict[str, Any]) -> dict[str, Any]:
    claims: dict[str, Any] = {"auth_time": int(req.auth_time)}
    if req.session_id:
        claims["sid"] = req.session_id
    if req.nonce:
        claims["nonce"] = req.nonce
    return claims


def _at_hash(req: UserTokenRequest, ctx: dict[str, Any]) -> dict[str, Any]:
    return {"at_hash": half_hash(ctx["access_token"])}


def _profile(req: UserTokenRequest, ctx: dict[str, Any]) -> dict[str, Any]:
    return profile_claims(req.user, req.scopes)


ID_TOKEN_CLAIMS: tuple[Callable[[UserTokenRequest, dict[str, Any]], dict[str, Any]], ...] = (
    _base,
    _session,
    _at_hash,
    _profile,
)


@dataclass(frozen=True)
class MintedTokens:
    """A signed token response and the refresh-token row to store with it (None when none was minted)."""

    response: dict[str, Any]
    refresh_row: dict[str, Any] | None


@dataclass(frozen=True)
class Family:
    """The rotation family a refresh token continues: its id and absolute end (None: never)."""

    id: str
    expires_at: float | None


def refresh_expiry(rt: Runtime, client: ClientInfo, family_expires_at: float | None, now: float) -> float:
    """When a refresh token minted now expires: the family's end or the idle deadline, whichever is first."""
    idle = client.refresh.idle_lifetime()
    deadlines = [t for t in (family_expires_at, now + idle if idle else None) if t is not None]
    return min(deadlines) if deadlines else NEVER


def family_end(family_expires_at: float | None, grant_expires_at: float | None) -> float | None:
    """A family never outlives the user grant it was issued under: the earlier of the two ends (None: never)."""
    ends = [t for t in (family_expires_at, grant_expires_at) if t is not None]
    return min(ends) if ends else None


def new_family(rt: Runtime, client: ClientInfo, now: float, grant_expires_at: float | None = None) -> Family:
    absolute = client.refresh.absolute_lifetime(rt.settings.refresh_token_lifetime)
    return Family(ids.hex_id(), family_end(now + absolute if absolute else None, grant_expires_at))


def provenance_claims(grant_id: str | None, family: Family | None) -> dict[str, str]:
    """What an access token was minted under, so that revoking it reaches the token (``tokens.liveness``):
    the user grant (consent) and the refresh-token family."""
    claims = {}
    if grant_id:
        claims[GRANT_CLAIM] = grant_id
    if family:
        claims[FAMILY_CLAIM] = family.id
    return claims


def access_token_lifetime(rt: Runtime, client: ClientInfo, api: ApiInfo | None) -> int:
    """The API's lifetime (else the server default), capped for third-party apps by
    ``third_party_access_token_lifetime``: their tokens are checked offline by resource servers, so a short
    lifetime bounds how long a revoked consent can still be used against one that does not introspect."""
    lifetime = api.token_lifetime if api else rt.settings.access_token_lifetime
    if client.is_third_party:
        return min(lifetime, rt.settings.third_party_access_token_lifetime)
    return lifetime


async def mint_user_tokens(
    rt: Runtime,
    req: UserTokenRequest,
    *,
    family: Family | None = None,
    code_hash: str | None = None,
    mint_refresh: bool = True,
    extra_claims: dict[str, Any] | None = None,
) -> MintedTokens:
    """Sign the access and ID tokens and draw the refresh token; nothing is written here.

    Signing needs no database, so callers do it before their write transaction and hold the (SQLite)
    write lock only for the statements. ``family``: the family a rotation continues (default: a new one).
    """
    now = rt.clock.now()
    tenant = await rt.catalog.tenant()
    sub = subject_for(rt, tenant, req.client, req.user.user_id)
    scope = " ".join(req.scopes)
    audiences = [req.api.identifier] if req.api else []
    if "openid" in req.scopes or not audiences:
        audiences.append(rt.settings.userinfo_audience)
    lifetime = access_token_lifetime(rt, req.client, req.api)
    refresh = mint_refresh and wants_refresh_token(req)
    if refresh:
        family = family or new_family(rt, req.client, now, req.grant_expires_at)
    access_token, _ = await issue_access_token(
        rt.keys,
        issuer=rt.settings.issuer_url,
        sub=sub,
        audience=audiences[0] if len(audiences) == 1 else audiences,
        client_id=req.client.client_id,
        scope=scope,
        now=now,
        lifetime=lifetime,
        dialect=req.api.token_dialect if req.api else "rfc9068_profile",
        extra={**(extra_claims or {}), **provenance_claims(req.grant_id, family)},
        alg=req.api.signing_alg if req.api else RS256,
    )
    response: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": scope,
    }
    if req.grant_expires_at is not None:  # draft-ietf-oauth-refresh-token-expiration
        response["authorization_expires_in"] = max(0, int(req.grant_expires_at - now))
    if "openid" in req.scopes:
        ctx = {"rt": rt, "iat": int(now), "sub": sub, "access_token": access_token}
        claims: dict[str, Any] = {}
        for build in ID_TOKEN_CLAIMS:
            claims.update(build(req, ctx))
        response["id_token"] = await sign(rt.keys, claims, "JWT")
    row = None
    if refresh:
        assert family is not None
        raw = ids.secret(48)
        row = {
            "id": ids.hex_id(),
            "token_hash": ids.digest(raw),
            "family_id": family.id,
            "client_id": req.client.client_id,
            "user_id": req.user.user_id,
            "audience": req.api.identifier if req.api else None,
            "scope": list(req.scopes),
            "grant_id": req.grant_id,
            "session_id": req.session_id,
            "code_hash": code_hash,
            "auth_time": req.auth_time,
            "created_at": now,
            "expires_at": refresh_expiry(rt, req.client, family.expires_at, now),
            "family_expires_at": family.expires_at,
            "rotated_at": None,
            "revoked_at": None,
        }
        response["refresh_token"] = raw
    return MintedTokens(response, row)


async def issue_user_tokens(rt: Runtime, unit: Unit, req: UserTokenRequest, **options: Any) -> dict[str, Any]:
    """``mint_user_tokens`` for a caller with an open write transaction: the refresh token is stored in it."""
    minted = await mint_user_tokens(rt, req, **options)
    if minted.refresh_row is not None:
        await refresh_tokens.store_in(unit, minted.refresh_row)
    return minted.response
